package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// profiles gathers the figures of the area=profile features; TestMain merges them into
// ARTIFACTS/dns-profiles.{json,md}, one row per DNS setup (make profiles runs every setup).
var profiles dnsprofile.Table

// The caches in front of the cluster's DNS, held to the bounds the setup documents
// (DNS_PROFILE; or, on an existing cluster, what dnsprofile.Detect read): a replaced pod's old
// IP, a new pod's NXDOMAIN and an unready pod's IP live no longer than those, and after them
// every answer is right. Each feature asks from before the change until past the bounds, on a
// course of its own, beside the others.
func TestDNSProfileReplacement(t *testing.T) {
	t.Parallel()
	testenv.Test(t, features.New("profile: a replaced pod's old IP lives at most the success bound after the new pod is Ready").
		WithLabel("area", "profile").
		Assess("replace the 3 pods while the client asks their names", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			own := harness.Must(suite.DeployCourseIn(ctx, "prof-replace"))(t)
			defer own.DeleteNamespaceStep()(ctx, t, cfg)
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			var names []string
			for _, p := range pods {
				names = append(names, own.HostFQDN(p.Name, course.CourseService))
			}
			from, q := asking(ctx, t, own, names...)
			conv, err := course.ReplacePods(ctx, course.ReplaceInput{Client: own.Client, From: from, Service: course.CourseService, Zone: own.Zone,
				Pods: pods, Families: own.Families[:1], Timeout: course.PodTimeout + suite.DNS.Max()})
			if err != nil {
				q.Stop()
				t.Fatal(err)
			}
			var ready time.Time
			for _, c := range conv {
				ready = later(ready, c.Deleted.Add(c.Ready))
			}
			log := holdPast(ctx, q, ready)
			var lastOld []float64
			var errs []string
			var figures []string
			for _, c := range conv {
				f, err := course.JudgeCacheWindow(log, course.CacheWindowInput{Name: own.HostFQDN(c.Name, course.CourseService), Old: c.OldIP,
					Want: dns.Exactly(own.PrimaryType(), c.NewIP), Changed: c.Deleted.Add(c.Ready), Bounds: suite.DNS})
				t.Logf("%s: %s", c.Name, f)
				figures = append(figures, fmt.Sprintf("%s %s", c.Name, f))
				if err != nil {
					errs = append(errs, err.Error())
				}
				lastOld = append(lastOld, max(f.LastOld, 0))
			}
			sort.Float64s(lastOld)
			figure := fmt.Sprintf("old IP until Ready+%.1fs (p50 %.1fs) over %d pods; %s", lastOld[len(lastOld)-1], lastOld[len(lastOld)/2], len(lastOld), strings.Join(figures, "; "))
			record(t, dnsprofile.ScenarioReplacement, figure, errs)
			return ctx
		}).Feature())
}

func TestDNSProfileNegativeCache(t *testing.T) {
	t.Parallel()
	testenv.Test(t, features.New("profile: a new pod's NXDOMAIN lives at most the denial bound after it is Ready (scale 3 -> 4)").
		WithLabel("area", "profile").
		Assess("scale to 4 while the client asks the 4th pod's name", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			own := harness.Must(suite.DeployCourseIn(ctx, "prof-negative"))(t)
			defer own.DeleteNamespaceStep()(ctx, t, cfg)
			name := own.HostFQDN(course.CourseStatefulSet+"-3", course.CourseService)
			_, q := asking(ctx, t, own, name) // the NXDOMAIN is in the caches before the pod exists
			start := time.Now()
			pods, took, err := own.Scale(ctx, 4)
			if err != nil {
				q.Stop()
				t.Fatal(err)
			}
			ready := start.Add(took) // seen Ready by a poll at most 100 ms after the fact: a later reference, a looser bound by that much
			i := slices.IndexFunc(pods, func(p headless.PodAddr) bool { return p.Name == course.CourseStatefulSet+"-3" })
			if i < 0 {
				q.Stop()
				t.Fatalf("no pod %s-3 among %v", course.CourseStatefulSet, pods)
			}
			log := holdPast(ctx, q, ready)
			f, err := course.JudgeCacheWindow(log, course.CacheWindowInput{Name: name, Want: dns.Exactly(own.PrimaryType(), pods[i].IP), Changed: ready, Bounds: suite.DNS})
			t.Logf("%s: %s", name, f)
			record(t, dnsprofile.ScenarioNegative, f.String(), errsOf(err))
			return ctx
		}).Feature())
}

func TestDNSProfileReadiness(t *testing.T) {
	t.Parallel()
	testenv.Test(t, features.New("profile: an unready pod's IP leaves the Service's answer within the success bound").
		WithLabel("area", "profile").
		Assess("turn one pod unready while the client asks the Service's name", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			own := harness.Must(suite.DeployCourseIn(ctx, "prof-ready"))(t)
			defer own.DeleteNamespaceStep()(ctx, t, cfg)
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			name := own.FQDN(course.CourseService)
			_, q := asking(ctx, t, own, name)
			if err := own.SetReadiness(ctx, pods[1:2], false); err != nil {
				q.Stop()
				t.Fatal(err)
			}
			unready := time.Now() // Ready=false seen: the endpoint goes from here on
			log := holdPast(ctx, q, unready)
			rest := []headless.PodAddr{pods[0], pods[2]}
			f, err := course.JudgeCacheWindow(log, course.CacheWindowInput{Name: name, Old: pods[1].IP, Want: dns.Exactly(own.PrimaryType(), headless.IPs(rest)...), Changed: unready, Bounds: suite.DNS})
			t.Logf("%s without %s: %s", name, pods[1].Name, f)
			record(t, dnsprofile.ScenarioReadiness, f.String(), errsOf(err))
			return ctx
		}).Feature())
}

// asking starts the course's client asking names over and over, and gives it a second, so
// every cache in front of CoreDNS holds their answers before the change.
func asking(ctx context.Context, t *testing.T, own course.Course, names ...string) (headless.From, *course.Querier) {
	t.Helper()
	from := harness.Must(own.ClientFrom(ctx))(t)
	var queries []dns.Query
	for _, n := range names {
		queries = append(queries, dns.Query{Name: n, Type: own.PrimaryType()})
	}
	q := course.StartQuerier(ctx, from, queries)
	time.Sleep(time.Second)
	return from, q
}

// holdPast keeps the querier asking until the cluster's cache bounds after changed have passed,
// with a few seconds of answers past them to judge, and returns everything it saw.
func holdPast(ctx context.Context, q *course.Querier, changed time.Time) []course.QueryLog {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(changed.Add(suite.DNS.Max() + course.CacheSlack + 3*time.Second))):
	}
	return q.Stop()
}

// record puts a scenario's figure in the table and fails the test on errs.
func record(t *testing.T, scenario, figure string, errs []string) {
	t.Helper()
	var err error
	if len(errs) > 0 {
		err = fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	profiles.Record(suite.DNS, scenario, figure, err)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
}

func errsOf(err error) []string {
	if err == nil {
		return nil
	}
	return []string{err.Error()}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
