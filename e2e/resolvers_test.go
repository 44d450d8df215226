package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	fw "github.com/headless-e2e/headless-e2e/e2e/framework"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
)

// What applications see of the headless Service: the course's names through the resolvers
// they actually use (glibc, musl 1.2.3 and 1.2.5, Go pure and cgo, the JVM with and without
// its cache) beside BIND's dig. Every cell asserts the resolver's documented behaviour
// (fw.Resolvers) and records the figure in the matrix that TestMain writes to ARTIFACTS
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

var matrix = fw.NewMatrix(scenarioCourse, manyScenario(manySizes[0]), manyScenario(manySizes[1]), scenarioOrdering, scenarioReplacement)

// resolversSetup deploys a copy of the course with the resolvers pod beside it.
func resolversSetup(suffix string, own *fw.Course, from *fw.From) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		var err error
		if *own, err = suite.DeployCourseIn(ctx, suffix); err == nil {
			*from, err = fw.DeployResolvers(ctx, fw.DeployResolversInput{Client: own.Client, Resources: cfg.Client().Resources(), Namespace: own.Namespace, Images: suite.Settings.Images(suite.Versions)})
		}
		if err == nil {
			var versions map[string]string
			if versions, err = fw.ResolverVersions(ctx, *from); err == nil {
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
func probeAll(ctx context.Context, t *testing.T, scenario string, in fw.ProbeInput, judge func(fw.Resolver, []fw.Lookup) (string, error)) {
	t.Helper()
	type result struct {
		figure string
		err    error
	}
	results := make([]result, len(fw.Resolvers))
	_ = parallel.Do(len(fw.Resolvers), 0, func(i int) error {
		in := in
		in.Resolver = fw.Resolvers[i]
		lookups, err := fw.RunProbe(ctx, in)
		if err == nil {
			results[i].figure, results[i].err = judge(in.Resolver, lookups)
		} else {
			results[i].err = err
		}
		return nil
	})
	for i, r := range fw.Resolvers {
		cell(t, scenario, r, results[i].figure, results[i].err)
	}
}

// cell records one resolver's verdict in a scenario: a matrix cell and a subtest (a JUnit case).
func cell(t *testing.T, scenario string, r fw.Resolver, figure string, err error) {
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
		own  fw.Course
		from fw.From
	)
	const podNameFormat = "%s." + fw.CourseService // what an application in the namespace asks
	f := features.New("resolvers: what glibc, musl, Go and the JVM return for the headless Service").
		WithLabel("area", "resolvers").
		Setup(resolversSetup("resolvers", &own, &from)).
		Assess("course: headless-demo answers exactly the 3 pod IPs and each hello-kubernetes-N.headless-demo its pod's, through the search list (ndots:5), for every resolver", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := fw.Must(own.ReadyPods(ctx))(t)
			want := map[string][]string{fw.CourseService: fw.IPs(pods)}
			names := []string{fw.CourseService}
			for _, p := range pods {
				name := fmt.Sprintf(podNameFormat, p.Name)
				want[name] = []string{p.IP}
				names = append(names, name)
			}
			probeAll(ctx, t, scenarioCourse, fw.ProbeInput{From: from, Names: names}, func(r fw.Resolver, lookups []fw.Lookup) (string, error) {
				return fw.JudgeExact(lookups, want)
			})
			return ctx
		}).
		Assess(fmt.Sprintf("many endpoints: a Service of %v ready endpoints returns all of them with a TCP fallback, what 512 bytes of UDP hold without one, at most 48 through musl", manySizes), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for _, n := range manySizes {
				s := fw.Must(fw.CreateSynthetic(ctx, fw.SyntheticInput{Client: own.Client, Namespace: own.Namespace, Service: fmt.Sprintf("endpoints-%d", n), Endpoints: n}))(t)
				fqdn := s.FQDN(own.Zone)
				_, _, err := fw.AwaitDNS(ctx, fw.AwaitDNSInput{From: fw.Must(own.From(ctx))(t), Timeout: fw.DNSTimeout,
					Checks: []fw.Check{{Query: dns.Query{Name: fqdn, TCP: true}, Want: dns.Exactly("A", s.Addresses()...)}}})
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				fit := dns.FitA(fqdn, 512) // the first search domain is the Service's own namespace
				probeAll(ctx, t, manyScenario(n), fw.ProbeInput{From: from, Names: []string{s.Service}}, func(r fw.Resolver, lookups []fw.Lookup) (string, error) {
					return fw.JudgeCount(r, lookups[0], s.Addresses(), fit)
				})
			}
			return ctx
		}).
		Assess("ordering: 30 lookups from one process; the server's shuffle shows through dig, musl and Go, glibc sorts by RFC 3484 rule 9, the JVM's cache returns one order", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := fw.Must(own.ReadyPods(ctx))(t)
			source := fw.Must(fw.SourcePrefix(ctx, from))(t)
			t.Logf("resolvers pod %s; pods %v", source, pods)
			names := make([]string, 30)
			for i := range names {
				names[i] = fw.CourseService
			}
			probeAll(ctx, t, scenarioOrdering, fw.ProbeInput{From: from, Names: names}, func(r fw.Resolver, lookups []fw.Lookup) (string, error) {
				return fw.JudgeOrdering(r, lookups, fw.IPs(pods), fw.Rule9(source))
			})
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}

// replacementProbe is how long each long-lived probe runs: the JVM's 30-second cache from its
// first lookup, the replacement inside it, and room for the JVM to start on a busy machine.
const replacementProbe = 38 * time.Second

func TestResolversReplacement(t *testing.T) {
	t.Parallel()
	var (
		own  fw.Course
		from fw.From
	)
	f := features.New("resolvers: pods replaced under long-lived processes; the JVM keeps the old IP for its cache TTL, the others follow like dig").
		WithLabel("area", "resolvers").WithLabel("pace", "slow").
		Setup(resolversSetup("resolvers-replacement", &own, &from)).
		Assess("replacement: each resolver returns the old IP and no address only as long as its caches allow, then exactly the new IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := fw.Must(own.ReadyPods(ctx))(t)
			var names []string
			for _, p := range pods {
				names = append(names, p.Name+"."+fw.CourseService)
			}
			probes := make([]*fw.Probe, len(fw.Resolvers))
			for i, r := range fw.Resolvers {
				probes[i] = fw.Must(fw.StartProbe(ctx, fw.ProbeInput{From: from, Resolver: r, Names: names, Interval: 100 * time.Millisecond, Duration: replacementProbe}))(t)
			}
			// Every probe has looked up once, so every cache is filled, before the pods go.
			NewWithT(t).Expect(fw.AwaitProbesStarted(ctx, probes, fw.PodTimeout)).To(Succeed())
			convergence, err := fw.ReplacePods(ctx, fw.ReplaceInput{Client: own.Client, From: fw.Must(own.From(ctx))(t), Service: fw.CourseService, Zone: own.Zone, Pods: pods, Timeout: fw.PodTimeout})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			var replaced []fw.Replaced
			for _, c := range convergence {
				replaced = append(replaced, fw.Replaced{Name: c.Name + "." + fw.CourseService, OldIP: c.OldIP, NewIP: c.NewIP, ReadyAt: c.Deleted.Add(c.Ready)})
				t.Log(c)
			}
			all := make([][]fw.Lookup, len(probes))
			for i, p := range probes {
				var err error
				all[i], err = p.Wait()
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
			}
			// dig is the reference: how long DNS itself took, plus a second for probes that
			// ask at other moments of their interval.
			bound := fw.ConvergedAfterReady(all[0], replaced) + time.Second
			t.Logf("dig answered only the new IPs from Ready+%.1fs: the others are held to Ready+%.1fs", (bound - time.Second).Seconds(), bound.Seconds())
			for i, r := range fw.Resolvers {
				figure, err := fw.JudgeReplacement(r, all[i], replaced, bound)
				cell(t, scenarioReplacement, r, figure, err)
			}
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}
