package e2e

import (
	"context"
	"os/exec"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// Faults the names must survive. They disturb the whole cluster (CoreDNS, a node), so
// `make e2e` leaves them out (--skip-labels area=faults) and `make faults` (a phase of
// `make test`) runs them on their own.
func TestFaults(t *testing.T) {
	b := features.New("faults: CoreDNS deleted, a node restarted, clients querying through a replacement").WithLabel("area", "faults").
		Assess("delete the CoreDNS pods: the old ones are gone, and every new one answers exactly", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			start := time.Now()
			old, replacements, err := course.ReplaceCoreDNS(ctx, suite.Client(), 2*time.Minute)
			g.Expect(err).NotTo(HaveOccurred())
			replaced := time.Since(start)
			from := harness.Must(suite.Course.ClientFrom(ctx))(t)
			checks := suite.Course.Addresses(dns.Query{Name: suite.Course.FQDN(course.CourseService)}, pods...)
			for _, p := range replacements {
				// Asked of each new pod directly: the answer cannot come from an old one.
				checks = append(checks, suite.Course.Addresses(dns.Query{Name: suite.Course.FQDN(course.CourseService), Server: p.IP}, pods...)...)
			}
			_, _, err = headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: from, Checks: checks, Timeout: time.Minute})
			g.Expect(err).NotTo(HaveOccurred())
			suite.Logf("fault: CoreDNS %v replaced by %v in %s; %s answered exactly through the Service and from each new pod after %s",
				headless.Names(old), headless.Names(replacements), replaced.Round(time.Millisecond), course.CourseService, time.Since(start).Round(time.Millisecond))
			return ctx
		}).
		Assess("while the pods are replaced, a client querying without pause gets exactly the new answer once the names converged: no old IP, no NXDOMAIN, no empty answer, no failed query", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			before := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			from := harness.Must(suite.Course.ClientFrom(ctx))(t)
			q := course.StartQuerier(ctx, from, course.Queries(course.ExpectedNames(course.CourseService, suite.Namespace(), suite.Course.Zone, before, suite.Course.Families)))
			results, err := course.ReplacePods(ctx, course.ReplaceInput{Client: suite.Client(), From: from, Service: course.CourseService, Zone: suite.Course.Zone, Pods: before, Families: suite.Course.Families, Timeout: 90 * time.Second})
			if err != nil {
				q.Stop()
				t.Fatal(err)
			}
			// Converged: every name answered its new IP once, and the caches in front of
			// CoreDNS (DNS_PROFILE) have let go of the old ones.
			var converged time.Time
			for _, r := range results {
				converged = later(converged, later(r.Deleted.Add(r.Answered), r.Deleted.Add(r.Ready+course.Settled(suite.DNS))))
			}
			// Keep querying for a while after convergence: that is where stale answers would show.
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(converged.Add(3 * time.Second))):
			}
			log := q.Stop()
			after := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			report := course.CountAnswers(log, course.ExpectedNames(course.CourseService, suite.Namespace(), suite.Course.Zone, after, suite.Course.Families), course.AllIPs(before), converged)
			suite.Logf("fault: continuous queries during replacement: %s", report)
			g := NewWithT(t)
			g.Expect(report.AfterConvergence).To(BeNumerically(">", 0), "no query answered after convergence: nothing was checked")
			g.Expect(report.Failed).To(BeZero(), "answers after convergence that were not exactly right: %v", report.Examples)
			return ctx
		})
	if suite.Cluster() != nil {
		b = b.Assess("restart a worker's container: its pods come back and their names resolve to their current IPs", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			before := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
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
			g.Expect(kube.WaitStartedAfter(ctx, kube.WaitStartedInput{Client: suite.Client(), Namespace: suite.Namespace(), Pods: onNode, Since: start, Timeout: 3 * time.Minute})).To(Succeed())
			for _, w := range []headless.WaitPodsInput{{Selector: course.CourseSelector, Count: course.CourseReplicas}, {Selector: course.ClientSelector, Count: 1}} {
				w.Client, w.Namespace, w.Timeout = suite.Client(), suite.Namespace(), 3*time.Minute
				_, err = headless.WaitPodsReady(ctx, w)
				g.Expect(err).NotTo(HaveOccurred())
			}
			podsReady := time.Since(start)
			after := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			// The client may itself have been restarted: From is asked again.
			took, err := headless.AwaitPublished(ctx, suite.Course.Published(harness.Must(suite.Course.ClientFrom(ctx))(t), after, nil))
			g.Expect(err).NotTo(HaveOccurred())
			suite.Logf("fault: node %s restarted: its pods %v running again and Ready after %s, every name answered its pod %s later; %v -> %v",
				node, onNode, podsReady.Round(100*time.Millisecond), took.Round(100*time.Millisecond), before, after)
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}
