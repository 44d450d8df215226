// Package manifests embeds the YAML the course applies, so the e2e suite and the lab apply
// the very files a learner applies with `kubectl apply -R -f manifests/headless`.
package manifests

import "embed"

// Headless is manifests/headless: the StatefulSet, the client Deployment and the headless
// Service of the course.
//
//go:embed headless/*.yaml
var Headless embed.FS

// Resolvers is manifests/resolvers: the pod whose probes ask through glibc, musl, Go and the
// JVM (the area=resolvers features and the lab's LAB_RESOLVERS step).
//
//go:embed resolvers/*.yaml
var Resolvers embed.FS
