package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/resolvers"
	"github.com/headless-e2e/headless-e2e/internal/synthetic"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
)

// What applications see of the headless Service: the course's names through the resolvers
// they actually use (glibc, musl 1.2.3 and 1.2.5, Go pure and cgo, the JVM with and without
// its cache) beside BIND's dig. Every cell asserts the resolver's documented behaviour
// (resolvers.All) and records the figure in the matrix that TestMain writes to ARTIFACTS
// (resolvers.json, resolvers.md). Labelled area=resolvers; the replacement scenario, which
// waits out the JVM's 30-second cache, also pace=slow (make resolvers runs it).

// Scenarios, the matrix's columns.
const (
	scenarioCourse      = "course"
	scenarioOrdering    = "ordering"
	scenarioReplacement = "replacement"
)

// manySizes are the many-endpoints scenarios: past 512 bytes of UDP without EDNS (30, the
// issue's figure), and past 1,232 bytes with EDNS and past musl's 48 addresses (100).
var manySizes = []int{30, 100}

func manyScenario(n int) string { return fmt.Sprintf("%d endpoints", n) }

var matrix = resolvers.NewMatrix(scenarioCourse, manyScenario(manySizes[0]), manyScenario(manySizes[1]), scenarioOrdering, scenarioReplacement)

// resolversSetup deploys a copy of the course with the resolvers pod beside it.
func resolversSetup(suffix string, own *course.Course, from *headless.From) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		suite.RequireImage(t, "RESOLVERS_IMAGE", suite.Settings.ResolversImage)
		var err error
		if *own, err = suite.DeployCourseIn(ctx, suffix); err == nil {
			*from, err = resolvers.DeployResolvers(ctx, resolvers.DeployResolversInput{Client: own.Client, Resources: cfg.Client().Resources(), Namespace: own.Namespace, Images: suite.Settings.Images(suite.Versions)})
		}
		if err == nil {
			var versions map[string]string
			if versions, err = resolvers.ResolverVersions(ctx, *from); err == nil {
				matrix.SetVersions(versions)
			}
		}
		if err != nil {
			t.Error(err) // not Fatal: a failing Setup step would skip the Teardown
		}
		return ctx
	}
}

// probeAll runs one probe per resolver side by side and records each verdict as a subtest
// (a JUnit case per cell) and a matrix cell.
func probeAll(ctx context.Context, t *testing.T, scenario string, in resolvers.ProbeInput, judge func(resolvers.Resolver, []resolvers.Lookup) (string, error)) {
	t.Helper()
	type result struct {
		figure string
		err    error
	}
	rs := resolvers.All()
	results := make([]result, len(rs))
	_ = parallel.Do(len(rs), 0, func(i int) error {
		in := in
		in.Resolver = rs[i]
		lookups, err := resolvers.RunProbe(ctx, in)
		if err == nil {
			results[i].figure, results[i].err = judge(in.Resolver, lookups)
		} else {
			results[i].err = err
		}
		return nil
	})
	for i, r := range rs {
		cell(t, scenario, r, results[i].figure, results[i].err)
	}
}

// cell records one resolver's verdict in a scenario: a matrix cell and a subtest (a JUnit case).
func cell(t *testing.T, scenario string, r resolvers.Resolver, figure string, err error) {
	t.Helper()
	matrix.Record(scenario, r, figure, err)
	t.Run(r.Name, func(t *testing.T) {
		if err != nil {
			t.Error(err)
		}
		t.Logf("%s / %s: %s", r.Name, scenario, figure)
	})
}

func TestResolvers(t *testing.T) {
	t.Parallel()
	var (
		own  course.Course
		from headless.From
	)
	const podNameFormat = "%s." + course.CourseService // what an application in the namespace asks
	f := features.New(suite.Named("resolvers: what glibc, musl, Go and the JVM return for the headless Service")).
		WithLabel("area", "resolvers").
		Setup(resolversSetup("resolvers", &own, &from)).
		Assess("course: headless-demo answers exactly the 3 pods' IPs and each hello-kubernetes-N.headless-demo its pod's, every family, through the search list (ndots:5), for every resolver", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			want := map[string][]string{course.CourseService: course.AllIPs(pods)}
			names := []string{course.CourseService}
			for _, p := range pods {
				name := fmt.Sprintf(podNameFormat, p.Name)
				want[name] = course.AllIPs([]headless.PodAddr{p})
				names = append(names, name)
			}
			probeAll(ctx, t, scenarioCourse, resolvers.ProbeInput{From: from, Names: names}, func(r resolvers.Resolver, lookups []resolvers.Lookup) (string, error) {
				return resolvers.JudgeExact(lookups, want)
			})
			return ctx
		}).
		Assess(fmt.Sprintf("many endpoints: a Service of %v ready endpoints returns all of them with a TCP fallback, what 512 bytes of UDP hold without one, at most 48 through musl", manySizes), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for _, n := range manySizes {
				s := harness.Must(synthetic.CreateSynthetic(ctx, synthetic.SyntheticInput{Client: own.Client, Namespace: own.Namespace, Service: fmt.Sprintf("endpoints-%d", n), Endpoints: n}))(t)
				fqdn := s.FQDN(own.Zone)
				_, _, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: harness.Must(own.ClientFrom(ctx))(t), Timeout: suite.DNSTimeout(),
					Checks: []headless.DNSCheck{{Query: dns.Query{Name: fqdn, TCP: true}, Want: dns.Exactly("A", s.Addresses()...)}}})
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				fit := dns.FitA(fqdn, 512) // the first search domain is the Service's own namespace
				probeAll(ctx, t, manyScenario(n), resolvers.ProbeInput{From: from, Names: []string{s.Service}}, func(r resolvers.Resolver, lookups []resolvers.Lookup) (string, error) {
					return resolvers.JudgeCount(r, lookups[0], s.Addresses(), fit)
				})
			}
			return ctx
		}).
		Assess("ordering: 30 lookups from one process; on ipv4 the server's shuffle shows through dig, musl and Go, glibc sorts by RFC 3484 rule 9, the JVM's cache returns one order; with two families each resolver's first family comes first", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			names := make([]string, 30)
			for i := range names {
				names[i] = course.CourseService
			}
			judge := func(r resolvers.Resolver, lookups []resolvers.Lookup) (string, error) {
				return resolvers.JudgeFamilyOrder(r, lookups, course.AllIPs(pods))
			}
			if slices.Equal(own.Families, []corev1.IPFamily{corev1.IPv4Protocol}) {
				source := harness.Must(resolvers.SourcePrefix(ctx, from))(t) // rule 9 ranks IPv4 by the source's subnet
				t.Logf("resolvers pod %s; pods %v", source, pods)
				judge = func(r resolvers.Resolver, lookups []resolvers.Lookup) (string, error) {
					return resolvers.JudgeOrdering(r, lookups, headless.IPs(pods), resolvers.Rule9(source), suite.DNS.Shuffles)
				}
			}
			probeAll(ctx, t, scenarioOrdering, resolvers.ProbeInput{From: from, Names: names}, judge)
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}

// replacementProbe is how long each long-lived probe runs: the JVM's 30-second cache from its
// first lookup, the replacement inside it, and room for the JVM to start on a busy machine.
// Behind a DNS cache (DNS_PROFILE), twice its success bound more: DNS serves the old IP up to
// that long, and the JVM may fetch it again just before and keep it a TTL more.
const replacementProbe = 38 * time.Second

func TestResolversReplacement(t *testing.T) {
	t.Parallel()
	var (
		own  course.Course
		from headless.From
	)
	f := features.New(suite.Named("resolvers: pods replaced under long-lived processes; the JVM keeps the old IP for its cache TTL, the others follow like dig")).
		WithLabel("area", "resolvers").WithLabel("pace", "slow").
		Setup(resolversSetup("resolvers-replacement", &own, &from)).
		Assess("replacement: each resolver returns the old IP and no address only as long as its caches allow, then exactly the new IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			var names []string
			for _, p := range pods {
				names = append(names, p.Name+"."+course.CourseService)
			}
			rs := resolvers.All()
			probes := make([]*resolvers.Probe, len(rs))
			for i, r := range rs {
				probes[i] = harness.Must(resolvers.StartProbe(ctx, resolvers.ProbeInput{From: from, Resolver: r, Names: names, Interval: 100 * time.Millisecond, Duration: replacementProbe + 2*suite.DNS.Success}))(t)
			}
			// Every probe has looked up once, so every cache is filled, before the pods go.
			NewWithT(t).Expect(resolvers.AwaitProbesStarted(ctx, probes, course.PodTimeout)).To(Succeed())
			convergence, err := course.ReplacePods(ctx, course.ReplaceInput{Client: own.Client, From: harness.Must(own.ClientFrom(ctx))(t), Service: course.CourseService, Zone: own.Zone, Pods: pods, Families: own.Families, Timeout: course.PodTimeout})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			var replaced []resolvers.Replaced
			for i, c := range convergence {
				replaced = append(replaced, resolvers.Replaced{Name: c.Name + "." + course.CourseService, Old: course.AllIPs(pods[i : i+1]),
					New: course.AllIPs([]headless.PodAddr{{IP: c.NewIP, IPs: c.NewIPs}}), ReadyAt: c.Deleted.Add(c.Ready)})
				t.Log(c)
			}
			all := make([][]resolvers.Lookup, len(probes))
			for i, p := range probes {
				var err error
				all[i], err = p.Wait()
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
			}
			// dig is the reference: how long DNS itself took, plus a second for probes that
			// ask at other moments of their interval.
			bound := resolvers.ConvergedAfterReady(all[0], replaced) + time.Second
			t.Logf("dig answered only the new IPs from Ready+%.1fs: the others are held to Ready+%.1fs", (bound - time.Second).Seconds(), bound.Seconds())
			for i, r := range rs {
				figure, err := resolvers.JudgeReplacement(r, all[i], replaced, bound, suite.DNS.Success > 0)
				cell(t, scenarioReplacement, r, figure, err)
			}
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}
