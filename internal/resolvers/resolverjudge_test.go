package resolvers

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/headless-e2e/headless-e2e/internal/synthetic"
)

func resolver(t *testing.T, name string) Resolver {
	t.Helper()
	for _, r := range all {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no resolver %q", name)
	return Resolver{}
}

func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %q", err, f)
		}
	}
}

func TestJudgeExact(t *testing.T) {
	want := map[string][]string{"headless-demo": {"10.0.0.1", "10.0.0.2"}, "hello-0.headless-demo": {"10.0.0.1"}}
	good := []Lookup{{Name: "headless-demo", Addrs: []string{"10.0.0.2", "10.0.0.1"}}, {Name: "hello-0.headless-demo", Addrs: []string{"10.0.0.1"}}}
	if figure, err := JudgeExact(good, want); err != nil || figure != "2/2 names exact" {
		t.Fatalf("figure %q, err %v", figure, err)
	}
	// A ClusterIP in place of the pod IPs, and a name never answered.
	figure, err := JudgeExact([]Lookup{{Name: "headless-demo", Addrs: []string{"10.96.0.7"}}}, want)
	wantErr(t, err, "[10.96.0.7], want exactly [10.0.0.1 10.0.0.2]", "hello-0.headless-demo was never answered")
	if figure != "0/2 names exact" {
		t.Errorf("figure %q, want 0/2 names exact", figure)
	}
	_, err = JudgeExact([]Lookup{{Name: "headless-demo", Error: "Name or service not known"}, good[1]}, want)
	wantErr(t, err, `error "Name or service not known"`)
}

func TestJudgeCount(t *testing.T) {
	var endpoints []string
	for i := 1; i <= 30; i++ {
		endpoints = append(endpoints, synthetic.SyntheticAddress(i))
	}
	musl, glibc, next := resolver(t, "musl"), resolver(t, "glibc"), resolver(t, "musl-next")
	if got := musl.ExpectedCount(30, 27); got != 27 {
		t.Errorf("musl 1.2.3 expects %d of 30, want the 27 a 512-byte answer holds", got)
	}
	if got := next.ExpectedCount(100, 27); got != 48 {
		t.Errorf("musl 1.2.5 expects %d of 100, want MAXADDRS 48", got)
	}
	if _, err := JudgeCount(musl, Lookup{Name: "s", Addrs: endpoints[:27]}, endpoints, 27); err != nil {
		t.Fatal(err)
	}
	// musl returning everything would mean a TCP fallback it does not have: fail.
	_, err := JudgeCount(musl, Lookup{Name: "s", Addrs: endpoints}, endpoints, 27)
	wantErr(t, err, "musl returned 30 of 30 addresses, want 27")
	_, err = JudgeCount(glibc, Lookup{Name: "s", Addrs: endpoints[:27]}, endpoints, 27)
	wantErr(t, err, "glibc returned 27 of 30 addresses, want 30")
	_, err = JudgeCount(glibc, Lookup{Name: "s", Addrs: append(endpoints[:29:29], "192.0.2.9")}, endpoints, 27)
	wantErr(t, err, "192.0.2.9, not an endpoint")
}

func TestRule9(t *testing.T) {
	rank := Rule9(netip.MustParsePrefix("10.244.1.5/24"))
	for addr, want := range map[string]int{"10.244.1.2": 29, "10.244.1.4": 31, "10.244.1.200": 24, "10.244.1.5": 32, "10.244.2.3": 0, "198.18.0.1": 0} {
		if got := rank(addr); got != want {
			t.Errorf("rank(%s) = %d, want %d", addr, got, want)
		}
	}
}

func TestJudgeOrdering(t *testing.T) {
	want := []string{"10.244.1.2", "10.244.1.3", "10.244.2.3"}
	rank := Rule9(netip.MustParsePrefix("10.244.1.5/24"))
	lookups := func(orders ...[]string) []Lookup {
		var ls []Lookup
		for _, o := range orders {
			ls = append(ls, Lookup{Name: "headless-demo", Addrs: o})
		}
		return ls
	}
	a := []string{"10.244.1.2", "10.244.1.3", "10.244.2.3"}
	b := []string{"10.244.1.3", "10.244.1.2", "10.244.2.3"}
	c := []string{"10.244.2.3", "10.244.1.2", "10.244.1.3"}
	dig, glibc, jvm := resolver(t, "dig"), resolver(t, "glibc"), resolver(t, "jvm")
	if _, err := JudgeOrdering(dig, lookups(a, c, b), want, rank, true); err != nil {
		t.Fatal(err)
	}
	// Scaled to one pod: nothing to order, whatever the resolver.
	_, err := JudgeOrdering(dig, lookups([]string{"10.244.1.2"}), []string{"10.244.1.2"}, rank, true)
	wantErr(t, err, "answers 1 address(es): an order needs at least 2")
	_, err = JudgeOrdering(dig, lookups(a, a, a), want, rank, true)
	wantErr(t, err, "dig put the same address first in all 3 lookups")
	if _, err := JudgeOrdering(glibc, lookups(a, b, a), want, rank, true); err != nil {
		t.Fatal(err)
	}
	// The other node's pod first: not what rule 9 makes of a same-subnet source.
	_, err = JudgeOrdering(glibc, lookups(a, c), want, rank, true)
	wantErr(t, err, "10.244.1.2 (rank 29) after 10.244.2.3 (rank 0)")
	// Measured on the cluster: from 10.244.1.39/24 glibc returned 1.34 (29 common bits), 1.29
	// (26), then the other node's pod, every time.
	measured := []string{"10.244.1.34", "10.244.1.29", "10.244.2.11"}
	from39 := Rule9(netip.MustParsePrefix("10.244.1.39/24"))
	figure, err := JudgeOrdering(glibc, lookups(measured, measured), measured, from39, true)
	if err != nil || !strings.Contains(figure, "same-subnet pod always first") {
		t.Fatalf("figure %q, err %v", figure, err)
	}
	_, err = JudgeOrdering(glibc, lookups([]string{"10.244.1.29", "10.244.1.34", "10.244.2.11"}), measured, from39, true)
	wantErr(t, err, "10.244.1.34 (rank 29) after 10.244.1.29 (rank 26)")
	if _, err := JudgeOrdering(jvm, lookups(b, b, b), want, rank, true); err != nil {
		t.Fatal(err)
	}
	_, err = JudgeOrdering(jvm, lookups(a, b), want, rank, true)
	wantErr(t, err, "2 different orders inside its 30s cache TTL")
	// Behind NodeLocal DNSCache (no loadbalance), measured: dig, musl and Go got the cached
	// order every time; that is the documented behaviour there, and a shuffle is not.
	figure, err = JudgeOrdering(dig, lookups(c, c, c), want, rank, false)
	if err != nil || !strings.Contains(figure, "first 0/0/3 of 3, 1 order(s): the DNS cache's, not shuffled") {
		t.Fatalf("dig behind a cache that does not shuffle: figure %q, err %v", figure, err)
	}
	_, err = JudgeOrdering(dig, lookups(a, b, c), want, rank, false)
	wantErr(t, err, "dig returned 3 different orders from a DNS cache that does not shuffle")
}

func TestJudgeReplacement(t *testing.T) {
	t0 := time.UnixMilli(1_800_000_000_000)
	ready := t0.Add(3 * time.Second)
	rp := []Replaced{{Name: "hello-0.headless-demo", Old: []string{"10.244.1.2"}, New: []string{"10.244.1.9"}, ReadyAt: ready}}
	// timeline: one lookup every 500 ms from t0 to t0+40s, answering the old IP until oldUntil,
	// nothing until goneUntil, the new IP after.
	timeline := func(oldUntil, goneUntil time.Duration) []Lookup {
		var ls []Lookup
		for at := time.Duration(0); at <= 40*time.Second; at += 500 * time.Millisecond {
			l := Lookup{Name: rp[0].Name, At: t0.Add(at).UnixMilli()}
			switch {
			case at < oldUntil:
				l.Addrs = []string{"10.244.1.2"}
			case at < goneUntil:
				l.Error = "Name or service not known"
			default:
				l.Addrs = []string{"10.244.1.9"}
			}
			ls = append(ls, l)
		}
		return ls
	}
	followsDNS := timeline(time.Second, 3200*time.Millisecond)
	bound := ConvergedAfterReady(followsDNS, rp) + time.Second
	glibc, jvm, ttl0 := resolver(t, "glibc"), resolver(t, "jvm"), resolver(t, "jvm-ttl0")
	if _, err := JudgeReplacement(glibc, followsDNS, rp, bound, false); err != nil {
		t.Fatal(err)
	}
	// A cache where none is documented: the old IP 10 s after Ready.
	_, err := JudgeReplacement(glibc, timeline(13*time.Second, 0), rp, bound, false)
	wantErr(t, err, "glibc: hello-0.headless-demo -> [10.244.1.2] (old [10.244.1.2]) at Ready+1.0s", "(no cache) (and 17 more such lookups, the last at Ready+9.5s)")
	// The JVM's cache: old until 30 s after its first lookup is allowed, and required.
	figure, err := JudgeReplacement(jvm, timeline(30*time.Second, 0), rp, bound, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(figure, "old IP until Ready+26.5s") {
		t.Errorf("figure %q", figure)
	}
	_, err = JudgeReplacement(jvm, followsDNS, rp, bound, false)
	wantErr(t, err, "jvm never returned an old address after the new pods were Ready")
	_, err = JudgeReplacement(jvm, timeline(35*time.Second, 0), rp, bound, false)
	wantErr(t, err, "its 30s cache from the first lookup")
	// The negative cache: no address for up to 10 s from the failure that filled it.
	dark := timeline(time.Second, 11*time.Second)
	if _, err := JudgeReplacement(ttl0, dark, rp, bound, false); err != nil {
		t.Fatal(err)
	}
	_, err = JudgeReplacement(glibc, dark, rp, bound, false)
	wantErr(t, err, "(no negative cache)")
	_, err = JudgeReplacement(ttl0, timeline(time.Second, time.Hour), rp, bound, false)
	wantErr(t, err, "10s negative cache", "at its last lookup")
	// Behind a DNS cache that served the old IP until Ready+25 s (dig's bound), the JVM
	// refetched it at its first TTL's end and kept it a TTL more: allowed there, not without.
	cachedBound := 25 * time.Second
	long := func() []Lookup {
		ls := timeline(50*time.Second, 0)
		for at := 40500 * time.Millisecond; at <= 65*time.Second; at += 500 * time.Millisecond {
			addrs := []string{"10.244.1.9"}
			if at < 50*time.Second {
				addrs = []string{"10.244.1.2"}
			}
			ls = append(ls, Lookup{Name: rp[0].Name, At: t0.Add(at).UnixMilli(), Addrs: addrs})
		}
		return ls
	}()
	if _, err := JudgeReplacement(jvm, long, rp, cachedBound, true); err != nil {
		t.Fatalf("JVM behind a DNS cache: %v", err)
	}
	_, err = JudgeReplacement(jvm, long, rp, cachedBound, false)
	wantErr(t, err, "its 30s cache from the first lookup")
}

// Dual-stack: every lookup has both families, the resolver's first family before the other.
// Measured on a dual cluster: glibc (and Go through cgo) put the IPv6 ULAs first, musl, Go and
// the JVM IPv4.
func TestJudgeFamilyOrder(t *testing.T) {
	want := []string{"10.244.1.5", "10.244.2.4", "fd00:10:244:1::5", "fd00:10:244:2::4"}
	v6first := []Lookup{{Name: "headless-demo", Addrs: []string{"fd00:10:244:2::4", "fd00:10:244:1::5", "10.244.2.4", "10.244.1.5"}}}
	v4first := []Lookup{{Name: "headless-demo", Addrs: []string{"10.244.1.5", "10.244.2.4", "fd00:10:244:1::5", "fd00:10:244:2::4"}}}
	if figure, err := JudgeFamilyOrder(resolver(t, "glibc"), v6first, want); err != nil || !strings.HasPrefix(figure, "IPv6 first 1/1") {
		t.Fatalf("glibc, IPv6 first: figure %q, err %v", figure, err)
	}
	if _, err := JudgeFamilyOrder(resolver(t, "musl"), v4first, want); err != nil {
		t.Fatalf("musl, IPv4 first: %v", err)
	}
	_, err := JudgeFamilyOrder(resolver(t, "musl"), v6first, want)
	wantErr(t, err, "musl returned", "10.244.2.4 after fd00:10:244:1::5, want every IPv4 address first", "fc00::/7 3")
	mixed := []Lookup{{Name: "headless-demo", Addrs: []string{"10.244.1.5", "fd00:10:244:1::5", "10.244.2.4", "fd00:10:244:2::4"}}}
	_, err = JudgeFamilyOrder(resolver(t, "go"), mixed, want)
	wantErr(t, err, "10.244.2.4 after fd00:10:244:1::5")
	_, err = JudgeFamilyOrder(resolver(t, "jvm"), []Lookup{{Name: "headless-demo", Addrs: want[:2]}}, want)
	wantErr(t, err, "jvm: headless-demo -> [10.244.1.5 10.244.2.4], want exactly")
	if figure, err := JudgeFamilyOrder(resolver(t, "glibc"), []Lookup{{Name: "headless-demo", Addrs: want[2:]}}, want[2:]); err != nil || !strings.HasPrefix(figure, "one family") {
		t.Fatalf("an IPv6 cluster's answer: figure %q, err %v", figure, err)
	}
}

// Every probe's addresses in one form: the JVM prints an IPv6 address without "::".
func TestParseLookupCanonicalAddresses(t *testing.T) {
	l, err := ParseLookup([]byte(`{"name":"headless-demo","at":1,"addrs":["fd00:10:244:2:0:0:0:4","10.244.1.5"]}`))
	if err != nil || strings.Join(l.Addrs, " ") != "fd00:10:244:2::4 10.244.1.5" {
		t.Fatalf("addrs %v, err %v", l.Addrs, err)
	}
}
