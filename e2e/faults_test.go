package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/e2e/framework"
)

// Faults the names must survive. They disturb the whole cluster (CoreDNS, a node), so
// `make e2e` leaves them out (--skip-labels area=faults) and `make faults` (a phase of
// `make test`) runs them on their own.
func TestFaults(t *testing.T) {
	b := features.New("faults: CoreDNS deleted, a node restarted, clients querying through a replacement").WithLabel("area", "faults").
		Assess("delete the CoreDNS pods: answers recover", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			want := framework.IPs(readyHelloPods(ctx, t))
			g := NewWithT(t)
			pods, err := suite.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).NotTo(BeEmpty(), "no CoreDNS pods (k8s-app=kube-dns) in kube-system")
			start := time.Now()
			for _, p := range pods.Items {
				g.Expect(suite.Client.CoreV1().Pods("kube-system").Delete(ctx, p.Name, metav1.DeleteOptions{})).To(Succeed())
			}
			expectResolvesWithin(ctx, t, service, want, 2*time.Minute)
			suite.Logf("fault: %d CoreDNS pods deleted; %s answered exactly again after %s", len(pods.Items), service, time.Since(start).Round(time.Millisecond))
			return ctx
		}).
		Assess("while the pods are replaced, a client querying without pause sees no old IP once the names converged", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			before := readyHelloPods(ctx, t)
			client := clientPod(ctx, t)
			names := []string{service}
			for _, p := range before {
				names = append(names, p.Name+"."+service)
			}
			q := framework.StartQuerier(ctx, framework.LookupInput{Exec: suite.Exec(), Namespace: suite.Namespace, Pod: client}, names)
			results, err := framework.ReplacePods(ctx, framework.ReplaceInput{
				Client: suite.Client, Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: client,
				Service: service, Pods: before, Timeout: 90 * time.Second,
			})
			if err != nil {
				q.Stop()
				t.Fatal(err)
			}
			var converged time.Time
			for _, r := range results {
				if at := r.Deleted.Add(r.Answered); at.After(converged) {
					converged = at
				}
			}
			// Keep querying for a while after convergence: that is where stale answers would show.
			holdUntil(ctx, converged.Add(3*time.Second))
			report := framework.CountStale(q.Stop(), framework.IPs(before), converged)
			suite.Logf("fault: continuous queries during replacement: %s", report)
			g := NewWithT(t)
			g.Expect(report.AfterConvergence).To(BeNumerically(">", 0), "no query answered after convergence: nothing was checked")
			g.Expect(report.StaleAfter).To(BeZero(), "stale answers after convergence: %v", report.Examples)
			return ctx
		})
	if suite.Cluster != nil {
		b = b.Assess("restart a worker's container: its pods come back and their names resolve to their current IPs", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			before := readyHelloPods(ctx, t)
			node := before[0].Node
			var onNode []string
			for _, p := range before {
				if p.Node == node {
					onNode = append(onNode, p.Name)
				}
			}
			start := time.Now()
			out, err := exec.CommandContext(ctx, "docker", "restart", node).CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), "docker restart %s: %s", node, out)
			g.Expect(framework.WaitStartedAfter(ctx, suite.Client, suite.Namespace, onNode, start, 3*time.Minute)).To(Succeed())
			_, err = framework.WaitPodsReady(ctx, framework.WaitPodsInput{Client: suite.Client, Namespace: suite.Namespace, Selector: helloPods, Count: 3, Timeout: 3 * time.Minute})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = framework.WaitPodsReady(ctx, framework.WaitPodsInput{Client: suite.Client, Namespace: suite.Namespace, Selector: "app=client", Count: 1, Timeout: 3 * time.Minute})
			g.Expect(err).NotTo(HaveOccurred())
			podsReady := time.Since(start)
			after := readyHelloPods(ctx, t)
			for _, p := range after {
				expectResolvesWithin(ctx, t, p.Name+"."+service, []string{p.IP}, time.Minute)
			}
			expectResolvesWithin(ctx, t, service, framework.IPs(after), time.Minute)
			suite.Logf("fault: node %s restarted: its pods %v running again and Ready after %s, every name answered its pod after %s; %v -> %v",
				node, onNode, podsReady.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond), before, after)
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}

// expectResolvesWithin is expectResolves with its own deadline, for recoveries that take
// longer than ordinary convergence. The client pod is looked up on every try: it may itself
// have been restarted.
func expectResolvesWithin(ctx context.Context, t *testing.T, name string, want []string, timeout time.Duration) {
	t.Helper()
	NewWithT(t).Eventually(ctx, func() error {
		client, err := suite.ClientPod(ctx)
		if err != nil {
			return err
		}
		a, err := framework.Lookup(ctx, framework.LookupInput{Exec: suite.Exec(), Namespace: suite.Namespace, Pod: client, Name: name})
		if err != nil {
			return err
		}
		return framework.ExactAnswer(a, want)
	}).WithTimeout(timeout).WithPolling(200*time.Millisecond).Should(Succeed(), fmt.Sprintf("waiting for %s to answer %v", name, want))
}

// holdUntil waits until t or until ctx ends: a window of observation, not a guess at timing.
func holdUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}
