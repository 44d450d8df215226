// Package framework holds the e2e suite's helpers, kept out of the test files so the tests
// read as the course's steps. Helpers take an Input struct and wait by polling with a
// deadline, reporting the last state they saw.
package framework

import (
	"bytes"
	"context"

	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// Executor runs a command in a pod's first container.
type Executor interface {
	Exec(ctx context.Context, namespace, pod string, cmd []string) (stdout, stderr string, err error)
}

// PodExec executes through the API server, as `kubectl exec` does.
type PodExec struct {
	Resources *resources.Resources
	Container string
}

// Exec runs cmd in the pod.
func (p PodExec) Exec(ctx context.Context, namespace, pod string, cmd []string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := p.Resources.ExecInPod(ctx, namespace, pod, p.Container, cmd, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}
