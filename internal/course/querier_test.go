package course

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// After convergence every answer that is not exactly right fails, whatever it is: the old IP,
// NXDOMAIN, an empty answer, an exec error. Before convergence an old IP is expected.
func TestCountAnswersFailsEverythingNotExactAfterConvergence(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	want := dns.Exactly("A", "10.0.0.9")
	ans := func(rcode string, ips ...string) dns.Answer { return answer("n.", rcode, ips...) }
	judged := func(at time.Time, a dns.Answer) QueryLog {
		return QueryLog{At: at, Query: dns.Query{Name: "n.", Type: "A"}, Answer: a}
	}
	log := []QueryLog{
		judged(at(0.1), ans("NOERROR", "10.0.0.1")),             // old, before convergence
		judged(at(0.5), ans("NOERROR", "10.0.0.9")),             // new, before
		judged(at(1.0), ans("NOERROR", "10.0.0.9")),             // right, after
		judged(at(1.2), ans("NOERROR", "10.0.0.9", "10.0.0.1")), // stale after
		judged(at(1.3), ans("NXDOMAIN")),                        // no such name after
		judged(at(1.4), ans("NOERROR")),                         // empty after
		{At: at(1.5), Err: errors.New("exec failed")},
	}
	r := CountAnswers(log, map[dns.Query]dns.Want{{Name: "n.", Type: "A"}: want}, []string{"10.0.0.1"}, at(1.0))
	if r.Queries != 7 || r.StaleBefore != 1 || r.AfterConvergence != 5 || r.Failed != 4 || r.Stale != 1 || r.NXDomain != 1 || r.Empty != 1 || r.ExecErrors != 1 || len(r.Examples) != 4 {
		t.Fatalf("CountAnswers = %+v", r)
	}
}

// A hold window's failures are timed from the window's start: "at +300ms", not from the zero
// time (which printed "+2562047h47m16.854s" and counted nothing as before the window).
func TestHoldVerdictTimesAnswersFromTheWindowStart(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := &Hold{in: HoldInput{Window: time.Second, Before: []headless.PodAddr{{Name: "n", IP: "10.0.0.1"}}},
		want: map[dns.Query]dns.Want{{Name: "n.", Type: "A"}: dns.Exactly("A", "10.0.0.9")}, started: t0}
	old := answer("n.", "NOERROR", "10.0.0.1")
	summary, err := h.judge([]QueryLog{{At: t0.Add(300 * time.Millisecond), Query: dns.Query{Name: "n.", Type: "A"}, Answer: old}})
	if err == nil || !strings.Contains(err.Error(), "at +300ms:") || !strings.Contains(summary, "1 failed (1 stale") {
		t.Fatalf("summary %q, err %v: want the stale answer at +300ms", summary, err)
	}
}

// answer is what the probe answers for name: rcode and one A record per IP.
func answer(name, rcode string, ips ...string) dns.Answer {
	a := dns.Answer{Name: name, Rcode: rcode, Query: dns.Query{Name: name}}
	for _, ip := range ips {
		a.Records = append(a.Records, dns.Record{Name: name, Type: "A", Data: ip})
	}
	return a
}

// Dual-stack: the querier asks each name per family, and an old IPv6 address is as stale as an
// old IPv4 one.
func TestCountAnswersHoldsEveryFamily(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pods := []headless.PodAddr{{Name: "web-0", IP: "10.0.0.9", IPs: []string{"10.0.0.9", "fd00::9"}}}
	want := ExpectedNames("web", "ns", "cluster.local", pods, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol})
	if len(want) != 4 {
		t.Fatalf("want the service name and the pod's name, each in A and AAAA: got %d queries", len(want))
	}
	aaaa := dns.Query{Name: "web-0.web.ns.svc.cluster.local.", Type: "AAAA"}
	if _, ok := want[aaaa]; !ok {
		t.Fatalf("no AAAA expectation for the pod's name: %v", Queries(want))
	}
	stale := dns.Answer{Name: aaaa.Name, Rcode: "NOERROR", Query: aaaa, Records: []dns.Record{{Name: aaaa.Name, Type: "AAAA", Data: "fd00::1"}}}
	r := CountAnswers([]QueryLog{{At: t0, Query: aaaa, Answer: stale}}, want, []string{"10.0.0.1", "fd00::1"}, t0)
	if r.Failed != 1 || r.Stale != 1 {
		t.Fatalf("an old IPv6 address after convergence: %+v, want 1 failed, stale", r)
	}
}
