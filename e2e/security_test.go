package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
)

func TestSecurity(t *testing.T) {
	t.Parallel()
	b := features.New("security: restricted pods, private kubeconfig, no host ports").WithLabel("area", "security").
		Assess("the run's namespace enforces Pod Security restricted, and admission refuses a privileged pod", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			ns, err := suite.Client().CoreV1().Namespaces().Get(ctx, suite.Namespace(), metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
			hello, _, err := course.CourseTemplates(ctx, manifests.Headless, "headless/*.yaml", nil)
			g.Expect(err).NotTo(HaveOccurred())
			privileged := true
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "privileged-probe"}, Spec: *hello.Spec.DeepCopy()}
			// Only privileged: with allowPrivilegeEscalation false as well, validation would
			// refuse the contradiction before Pod Security admission is asked.
			pod.Spec.Containers[0].SecurityContext.Privileged = &privileged
			pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
			_, err = suite.Client().CoreV1().Pods(suite.Namespace()).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			g.Expect(err).To(MatchError(ContainSubstring("violates PodSecurity \"restricted")))
			return ctx
		}).
		Assess("every course pod: non-root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault, read-only root", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods, err := suite.Client().CoreV1().Pods(suite.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: "app in (hello-kubernetes,client)"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).To(HaveLen(4))
			for _, p := range pods.Items {
				g.Expect(p.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()), p.Name)
				g.Expect(p.Spec.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault), p.Name)
				g.Expect(p.Spec.HostNetwork || p.Spec.HostPID || p.Spec.HostIPC).To(BeFalse(), p.Name)
				for _, c := range p.Spec.Containers {
					sc := c.SecurityContext
					g.Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()), c.Name)
					g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()), c.Name)
					g.Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")), c.Name)
					g.Expect(sc.Capabilities.Add).To(BeEmpty(), c.Name)
					for _, port := range c.Ports {
						g.Expect(port.HostPort).To(BeZero(), c.Name)
					}
				}
			}
			return ctx
		})
	if suite.Cluster() != nil {
		b = b.Assess("the kubeconfig is private: mode 0600 in a 0700 directory, not ~/.kube/config", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			file, err := os.Stat(suite.Cluster().Kubeconfig)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(file.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			dir, err := os.Stat(filepath.Dir(suite.Cluster().Kubeconfig))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(dir.Mode().Perm()).To(Equal(os.FileMode(0o700)))
			home, _ := os.UserHomeDir()
			g.Expect(suite.Cluster().Kubeconfig).NotTo(Equal(filepath.Join(home, ".kube", "config")))
			return ctx
		}).
			Assess("no host port mappings: only the API server, on loopback", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
				g := NewWithT(t)
				for _, node := range harness.Must(kube.NodeNames(ctx, suite.Client(), ""))(t) {
					out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{json .HostConfig.PortBindings}}", node).Output()
					g.Expect(err).NotTo(HaveOccurred(), node)
					var bindings map[string][]struct{ HostIp, HostPort string }
					g.Expect(json.Unmarshal(out, &bindings)).To(Succeed(), string(out))
					for port, bs := range bindings {
						g.Expect(port).To(Equal("6443/tcp"), "node %s maps %s to the host", node, port)
						for _, b := range bs {
							g.Expect(b.HostIp).To(Equal("127.0.0.1"), "node %s publishes %s beyond loopback", node, port)
						}
					}
				}
				return ctx
			})
	}
	testenv.Test(t, b.Feature())
}
