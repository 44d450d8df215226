package headless

import (
	"bytes"
	"context"
	"errors"
	"io"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

// Executor runs a command in a pod's container.
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

// From is the pod DNS is asked from: a pod of the client image, which carries dns.Probe. What
// it is told depends on where it is (its namespace's search list), so every query names it.
type From struct {
	Exec      Executor
	Namespace string
	Pod       string
}

// Validate says what is missing for the pod to be asked from.
func (f From) Validate() error {
	switch {
	case f.Exec == nil:
		return errors.New("From.Exec is nil: say how to run commands in the pod")
	case f.Namespace == "":
		return errors.New("From.Namespace is empty")
	case f.Pod == "":
		return errors.New("From.Pod is empty: name the client pod DNS is asked from")
	}
	return nil
}

func (f From) String() string { return f.Namespace + "/" + f.Pod }

// Ask asks q once from the pod.
func (f From) Ask(ctx context.Context, q dns.Query) (dns.Answer, error) {
	if err := f.Validate(); err != nil {
		return dns.Answer{}, err
	}
	return dns.Ask(ctx, func(ctx context.Context, cmd []string) (string, string, error) {
		return f.Exec.Exec(ctx, f.Namespace, f.Pod, cmd)
	}, q)
}

// Run runs a command in the pod.
func (f From) Run(ctx context.Context, cmd ...string) (string, string, error) {
	if err := f.Validate(); err != nil {
		return "", "", err
	}
	return f.Exec.Exec(ctx, f.Namespace, f.Pod, cmd)
}

// Streamer runs a command in a pod and hands over its output as it comes; PodExec is one.
type Streamer interface {
	Stream(ctx context.Context, namespace, pod string, cmd []string, stdout, stderr io.Writer) error
}

// Stream runs cmd in the pod, writing its output as it arrives (e2e-framework's ExecInPod
// only fills buffers, so a long-lived probe could not be watched while it runs).
func (p PodExec) Stream(ctx context.Context, namespace, pod string, cmd []string, stdout, stderr io.Writer) error {
	config := p.Resources.GetConfig()
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: p.Container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(config, "POST", req.URL())
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
}
