// Package example is what an operator author copies: a complete e2e-framework suite (this
// TestMain) and a feature (headless_test.go) that asserts a StatefulSet's headless Service
// with headless-e2e's library, pkg/headless. headless-e2e's `make test` runs it, as it is, on
// the course's cluster (`make example`).
//
// Run it on a cluster of yours:
//
//	KUBECONFIG=~/.kube/config go test ./examples/headless -v
//
// or without KUBECONFIG, on a kind cluster of its own (kind on PATH; KIND_NODE_IMAGE picks
// the node image), deleted at the end. APP_IMAGE is the image the example's StatefulSet
// runs (a server on :8080, e.g. headless-e2e's hello image); the probe pod the feature starts
// runs PROBE_IMAGE (headless-e2e's, from `make probe-image`: `kind load docker-image` it, or
// push it to your registry), or headless.DefaultProbeImage() when unset.
package example

import (
	"context"
	"fmt"
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/e2e-framework/support/kind"
)

var (
	testenv   env.Environment
	namespace = envconf.RandomName("headless-example", 24)
)

func TestMain(m *testing.M) {
	appImage := os.Getenv("APP_IMAGE")
	if appImage == "" {
		fmt.Fprintln(os.Stderr, "example: set APP_IMAGE to the image of a server on :8080 (headless-e2e's: make images, then HELLO_IMAGE from versions.env)")
		os.Exit(2)
	}
	if kubeconfig := os.Getenv("KUBECONFIG"); kubeconfig != "" {
		testenv = env.NewWithKubeConfig(kubeconfig)
	} else {
		cluster := envconf.RandomName("headless-example", 24)
		var opts []support.ClusterOpts
		if image := os.Getenv("KIND_NODE_IMAGE"); image != "" {
			opts = append(opts, kind.WithImage(image))
		}
		testenv = env.New()
		testenv.Setup(envfuncs.CreateClusterWithOpts(kind.NewProvider(), cluster, opts...),
			envfuncs.LoadImageToCluster(cluster, appImage))
		if probe := os.Getenv("PROBE_IMAGE"); probe != "" {
			testenv.Setup(envfuncs.LoadImageToCluster(cluster, probe))
		}
		testenv.Finish(envfuncs.DestroyCluster(cluster))
	}
	// The features run in this namespace (cfg.Namespace()); it enforces Pod Security
	// "restricted", which the probe pod the feature starts passes.
	testenv.EnvConf().WithNamespace(namespace)
	testenv.Setup(envfuncs.CreateNamespace(namespace, envfuncs.WithLabels(map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted"})),
		deployWeb(appImage))
	testenv.Finish(envfuncs.DeleteNamespace(namespace))
	os.Exit(testenv.Run(m))
}

// deployWeb creates testdata/web.yaml (a headless Service and its StatefulSet) in the
// example's namespace, running image.
func deployWeb(image string) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		return ctx, createWeb(ctx, cfg, image)
	}
}
