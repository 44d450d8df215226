package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// ArtifactsInput is what to collect after a failure, and where.
type ArtifactsInput struct {
	Client    kubernetes.Interface
	Namespace string
	Dir       string
	Cluster   *cluster.Cluster // nil: no node logs (not a kind cluster of ours)
	// NodeLogsTimeout bounds kind's log export, which reads every node's journal.
	NodeLogsTimeout time.Duration
}

func (in ArtifactsInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.Dir == "" {
		return fmt.Errorf("ArtifactsInput needs Client, Namespace and Dir (got %q, %q)", in.Namespace, in.Dir)
	}
	return nil
}

// CollectArtifacts writes what one needs to debug a failed run: the namespace's pods (with
// events and logs), Service, Endpoints and EndpointSlices; CoreDNS's Corefile and logs; and
// kind's node logs. It keeps going past errors and returns the first.
func CollectArtifacts(ctx context.Context, in ArtifactsInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	if in.NodeLogsTimeout == 0 {
		in.NodeLogsTimeout = time.Minute
	}
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	note(os.MkdirAll(in.Dir, 0o755))
	if in.Namespace != "" {
		note(dumpNamespace(ctx, in.Client, in.Namespace, filepath.Join(in.Dir, "namespace")))
	}
	note(dumpCoreDNS(ctx, in.Client, filepath.Join(in.Dir, "coredns")))
	if in.Cluster != nil {
		done := make(chan error, 1)
		go func() { done <- in.Cluster.CollectLogs(filepath.Join(in.Dir, "nodes")) }()
		select {
		case err := <-done:
			note(err)
		case <-time.After(in.NodeLogsTimeout):
			note(fmt.Errorf("kind node logs not complete after %s", in.NodeLogsTimeout))
		}
	}
	return first
}

func dumpNamespace(ctx context.Context, c kubernetes.Interface, ns, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		report := headless.PodReport(ctx, c, p)
		if err := writeYAML(filepath.Join(dir, "pod-"+p.Name+".yaml"), &p, report); err != nil {
			return err
		}
	}
	svcs, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		_ = writeYAML(filepath.Join(dir, "services.yaml"), svcs, "")
	}
	eps, err := c.CoreV1().Endpoints(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		_ = writeYAML(filepath.Join(dir, "endpoints.yaml"), eps, "")
	}
	slices, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		_ = writeYAML(filepath.Join(dir, "endpointslices.yaml"), slices, "")
	}
	events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		_ = writeYAML(filepath.Join(dir, "events.yaml"), events, "")
	}
	return nil
}

func dumpCoreDNS(ctx context.Context, c kubernetes.Interface, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cm, err := c.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err == nil {
		_ = os.WriteFile(filepath.Join(dir, "Corefile"), []byte(cm.Data["Corefile"]), 0o644)
	}
	pods, err := c.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		logs, err := c.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err == nil {
			_ = os.WriteFile(filepath.Join(dir, p.Name+".log"), logs, 0o644)
		}
	}
	return nil
}

func writeYAML(path string, obj runtime.Object, trailer string) error {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	if trailer != "" {
		// Every line a comment, so the file stays the object's YAML.
		comment := "# " + strings.ReplaceAll(strings.TrimRight(trailer, "\n"), "\n", "\n# ")
		data = append(data, []byte("\n# --- events and logs ---\n"+comment+"\n")...)
	}
	return os.WriteFile(path, data, 0o644)
}
