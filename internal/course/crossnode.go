package course

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
)

// CourseTemplates returns the pod templates of the course's hello StatefulSet and client
// Deployment, so helper pods run exactly as the course's do (images, security context).
func CourseTemplates(ctx context.Context, manifests fs.FS, pattern string, images map[string]string) (hello, client corev1.PodTemplateSpec, err error) {
	err = decoder.DecodeEachFile(ctx, manifests, pattern, func(ctx context.Context, obj k8s.Object) error {
		switch o := obj.(type) {
		case *appsv1.StatefulSet:
			hello = o.Spec.Template
		case *appsv1.Deployment:
			client = o.Spec.Template
		}
		return nil
	})
	for _, spec := range []*corev1.PodSpec{&hello.Spec, &client.Spec} {
		for i, c := range spec.Containers {
			if img, ok := images[c.Image]; ok {
				spec.Containers[i].Image = img
			}
		}
	}
	return hello, client, err
}

// CrossNodeInput places a hello server and a client on each node and checks every client
// reaches every other node's server by each of its pod IPs, one per IP family.
type CrossNodeInput struct {
	Client         kubernetes.Interface
	Exec           headless.Executor
	Namespace      string
	Nodes          []string
	Hello, Clients corev1.PodTemplateSpec
	// Families is how many IP families every pod must have an address of (1: ipv4 or ipv6,
	// 2: dual); 0 is 1.
	Families int
	Timeout  time.Duration
}

func (in CrossNodeInput) validate() error {
	if in.Client == nil || in.Exec == nil || in.Namespace == "" || in.Timeout <= 0 {
		return fmt.Errorf("CrossNodeInput needs Client, Exec, Namespace and a Timeout > 0 (got %q, %s)", in.Namespace, in.Timeout)
	}
	return nil
}

// CheckCrossNode returns one line per pair checked, and the first failure.
func CheckCrossNode(ctx context.Context, in CrossNodeInput) ([]string, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if len(in.Nodes) < 2 {
		return nil, fmt.Errorf("cross-node check needs 2 nodes, have %v", in.Nodes)
	}
	pods := in.Client.CoreV1().Pods(in.Namespace)
	defer func() {
		for i := range in.Nodes {
			for _, role := range []string{"server", "client"} {
				_ = pods.Delete(context.WithoutCancel(ctx), fmt.Sprintf("probe-%s-%d", role, i), metav1.DeleteOptions{})
			}
		}
	}()
	for i, node := range in.Nodes {
		for role, tmpl := range map[string]corev1.PodTemplateSpec{"server": in.Hello, "client": in.Clients} {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("probe-%s-%d", role, i), Labels: map[string]string{"probe": role}}, Spec: *tmpl.Spec.DeepCopy()}
			p.Spec.NodeName = node // pinned: the point is crossing nodes
			if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("creating %s on %s: %w", p.Name, node, err)
			}
		}
	}
	if _, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: "probe", Count: 2 * len(in.Nodes), Timeout: in.Timeout}); err != nil {
		return nil, err
	}
	var lines []string
	for i, from := range in.Nodes {
		for j, to := range in.Nodes {
			if i == j {
				continue
			}
			server, err := pods.Get(ctx, fmt.Sprintf("probe-server-%d", j), metav1.GetOptions{})
			if err != nil {
				return lines, err
			}
			var ips []string
			for _, ip := range server.Status.PodIPs {
				ips = append(ips, ip.IP)
			}
			if want := max(in.Families, 1); len(ips) != want {
				return lines, fmt.Errorf("pod %s on %s has IPs %v, want one of each of %d families: the CNI gave it %d", server.Name, to, ips, want, len(ips))
			}
			for _, ip := range ips {
				url := "http://" + net.JoinHostPort(ip, "8080") + "/?format=json"
				out, stderr, err := in.Exec.Exec(ctx, in.Namespace, fmt.Sprintf("probe-client-%d", i), []string{"curl", "-sS", "--max-time", "5", url})
				if err != nil {
					return lines, fmt.Errorf("pod on %s could not reach %s on %s: %w: %s", from, url, to, err, stderr)
				}
				var id struct{ Pod, Node string }
				if err := json.Unmarshal([]byte(out), &id); err != nil || id.Node != to {
					return lines, fmt.Errorf("pod on %s asked %s (on %s) and got %q", from, url, to, out)
				}
				lines = append(lines, fmt.Sprintf("%s -> %s (%s): answered by %s on %s", from, to, ip, id.Pod, id.Node))
			}
		}
	}
	return lines, nil
}
