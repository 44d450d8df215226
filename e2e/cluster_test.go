package e2e

import (
	"context"
	"os/exec"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
)

// The cluster itself, before the course runs on it: what `make cluster` promises.
func TestClusterIsReady(t *testing.T) {
	t.Parallel()
	b := features.New(suite.Named("cluster: ready, pod network across nodes, nothing leaves the host")).WithLabel("area", "cluster").
		Assess("every node Ready and CoreDNS Available", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			NewWithT(t).Expect(cluster.WaitReady(ctx, cfg.KubeconfigFile(), 30*time.Second)).To(Succeed())
			return ctx
		})
	if suite.Cluster() != nil {
		b = b.Assess("the course's nodes: <name>-control-plane, <name>-worker, <name>-worker2", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			n := suite.Cluster().Name
			NewWithT(t).Expect(harness.Must(kube.NodeNames(ctx, suite.Client(), ""))(t)).To(Equal([]string{n + "-control-plane", n + "-worker", n + "-worker2"}))
			return ctx
		})
	}
	if c := suite.Cluster(); c != nil && c.Created {
		b = b.Assess("every node carries the label "+cluster.CreatedByLabel+"="+cluster.CreatedBy+": cluster-down deletes only clusters that do", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			nodes := harness.Must(suite.Client().CoreV1().Nodes().List(ctx, metav1.ListOptions{}))(t)
			for _, n := range nodes.Items {
				NewWithT(t).Expect(n.Labels).To(HaveKeyWithValue(cluster.CreatedByLabel, cluster.CreatedBy), "node %s", n.Name)
			}
			return ctx
		})
		b = b.Assess("every node has an address of each IP family asked (IP_FAMILY)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			want := cluster.IPFamilies(suite.Settings.Cluster.Family)
			NewWithT(t).Expect(kube.NodeFamilies(ctx, suite.Client())).To(Equal(want), "IP_FAMILY=%s", suite.Settings.Cluster.Family)
			return ctx
		})
	}
	b = b.Assess("a pod on each worker reaches a pod on the other by each of its IPs, one per family", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		g := NewWithT(t)
		families := harness.Must(kube.NodeFamilies(ctx, suite.Client()))(t)
		hello, client, err := course.CourseTemplates(ctx, manifests.Headless, "headless/*.yaml",
			suite.Settings.Images(suite.Versions))
		g.Expect(err).NotTo(HaveOccurred())
		lines, err := course.CheckCrossNode(ctx, course.CrossNodeInput{
			Client: suite.Client(), Exec: suite.Course.Exec, Namespace: suite.Namespace(), Nodes: harness.Must(kube.NodeNames(ctx, suite.Client(), kube.WorkerSelector))(t),
			Hello: hello, Clients: client, Families: len(families), Timeout: time.Minute,
		})
		for _, l := range lines {
			t.Log(l)
		}
		g.Expect(err).NotTo(HaveOccurred())
		return ctx
	})
	if suite.Cluster() != nil && suite.Settings.Cluster.EgressGuard {
		b = b.Assess("the egress guard is up in every family this host routes: uplink drops reached, blackholes for the pod and service CIDRs", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pod, service := cluster.Subnets(suite.Settings.Cluster.Family)
			report, err := cluster.CheckEgressGuard(ctx, cluster.EgressGuardScript(suite.Settings.RepoRoot), append(pod, service...)...)
			t.Log(report)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		})
	}
	if c := suite.Cluster(); c != nil && c.Created {
		b = b.Assess("its DNS is the setup DNS_PROFILE asked for, as read from the cluster", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			t.Logf("asked %s; read %s: %s", suite.Settings.Cluster.DNSProfile, suite.DNS, suite.DNS.Seen)
			NewWithT(t).Expect(suite.DNS.Profile).To(Equal(suite.Settings.Cluster.DNSProfile), "read: %s", suite.DNS.Seen)
			return ctx
		})
	}
	if suite.Cluster() != nil && suite.Settings.Cluster.Isolated {
		b = b.Assess("offline: CoreDNS has no upstream resolver and every node's containerd no registry", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			cm, err := suite.Client().CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm.Data["Corefile"]).NotTo(ContainSubstring("forward"), "CoreDNS would relay non-cluster names off this machine")
			for _, node := range harness.Must(kube.NodeNames(ctx, suite.Client(), ""))(t) {
				out, err := exec.CommandContext(ctx, "docker", "exec", node, "cat", "/etc/containerd/certs.d/_default/hosts.toml").CombinedOutput()
				g.Expect(err).NotTo(HaveOccurred(), "node %s: %s", node, out)
				g.Expect(string(out)).To(ContainSubstring(`server = "http://127.0.0.1:1"`), node)
			}
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}
