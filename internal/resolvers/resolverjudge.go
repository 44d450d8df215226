package resolvers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// How a resolver's lookups are judged against its documented behaviour. Pure functions of
// the lookups, so each verdict is unit-tested on broken input.

// JudgeExact: each name answered exactly its addresses (in any order), with no error, at
// every lookup. The figure counts the names that did.
func JudgeExact(lookups []Lookup, want map[string][]string) (string, error) {
	seen, wrong := map[string]bool{}, map[string]bool{}
	var errs []error
	for _, l := range lookups {
		w, ok := want[l.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("answered %s, which was not asked", l))
			continue
		}
		seen[l.Name] = true
		if l.Error != "" || !sameSet(l.Addrs, w) {
			wrong[l.Name] = true
			errs = append(errs, fmt.Errorf("%s, want exactly %v", l, sorted(w)))
		}
	}
	exact := 0
	for name := range want {
		if !seen[name] {
			errs = append(errs, fmt.Errorf("%s was never answered", name))
		} else if !wrong[name] {
			exact++
		}
	}
	return fmt.Sprintf("%d/%d names exact", exact, len(want)), errors.Join(errs...)
}

// ExpectedCount is how many of n addresses r returns when a UDP answer without EDNS holds
// fitUDP of them: all with a TCP fallback, else what the truncated answer holds; at most
// MaxAddrs.
func (r Resolver) ExpectedCount(n, fitUDP int) int {
	c := n
	if !r.TCPFallback && fitUDP < c {
		c = fitUDP
	}
	if r.MaxAddrs > 0 && r.MaxAddrs < c {
		c = r.MaxAddrs
	}
	return c
}

// JudgeCount: one lookup of a Service with these endpoint addresses returned exactly
// r.ExpectedCount of them, all distinct, all endpoints. The figure is "returned/endpoints".
func JudgeCount(r Resolver, l Lookup, endpoints []string, fitUDP int) (string, error) {
	want := r.ExpectedCount(len(endpoints), fitUDP)
	figure := fmt.Sprintf("%d/%d", len(l.Addrs), len(endpoints))
	if l.Error != "" {
		return "error", fmt.Errorf("%s: %s, want %d of the %d addresses", r.Name, l, want, len(endpoints))
	}
	member := map[string]bool{}
	for _, a := range endpoints {
		member[a] = true
	}
	seen := map[string]bool{}
	for _, a := range l.Addrs {
		if !member[a] || seen[a] {
			return figure, fmt.Errorf("%s returned %s, not an endpoint or repeated: %v", r.Name, a, l.Addrs)
		}
		seen[a] = true
	}
	if len(l.Addrs) != want {
		return figure, fmt.Errorf("%s returned %d of %d addresses, want %d (%s)", r.Name, len(l.Addrs), len(endpoints), want, r.Documented)
	}
	return figure, nil
}

// Rule9 ranks IPv4 destinations as glibc's RFC 3484 sort does with rule 9 (longest matching
// prefix): inside the source's subnet (the prefix length of the source's interface), the
// number of leading bits the destination shares with the source, and a higher rank first;
// outside the subnet, 0 (glibc counts no common prefix there). Equal ranks keep the server's
// order (rule 10). Measured here: from 10.244.1.39/24, glibc put 10.244.1.34 (29 bits in
// common) before 10.244.1.29 (26) before 10.244.2.11 (another node's subnet), every time.
func Rule9(source netip.Prefix) func(addr string) int {
	return func(addr string) int {
		dst, err := netip.ParseAddr(addr)
		if err != nil || !dst.Is4() || !source.Addr().Is4() || !source.Masked().Contains(dst) {
			return 0
		}
		d, s := dst.As4(), source.Addr().As4()
		return bits.LeadingZeros32(binary.BigEndian.Uint32(d[:]) ^ binary.BigEndian.Uint32(s[:]))
	}
}

// JudgeOrdering: repeated lookups of one name from one process, as a client that takes the
// first address would make them. When the server shuffles each answer (shuffles: CoreDNS's
// loadbalance plugin, cached answers included):
//   - a resolver with a cache returns one order for every lookup inside its TTL;
//   - one that keeps the server's order shows at least two different first addresses;
//   - one that sorts IPv4 (glibc) returns every answer in rank order (Rule9): the top-ranked
//     addresses always come first, and the server's shuffle shows only among equals.
//
// When it does not (a DNS cache without loadbalance: NodeLocal DNSCache's addon Corefile), the
// cache hands out the order it stored until its entry expires, so a resolver that keeps the
// server's order returns that one order, or two when the entry expired during the lookups.
//
// The figure counts how often each address (in sorted order) came first.
func JudgeOrdering(r Resolver, lookups []Lookup, want []string, rank func(string) int, shuffles bool) (string, error) {
	if len(want) < 2 {
		return "", fmt.Errorf("%s: the Service answers %d address(es): an order needs at least 2", r.Name, len(want))
	}
	firsts := map[string]int{}
	orders := map[string]bool{}
	top := 0
	for _, a := range want {
		top = max(top, rank(a))
	}
	for _, l := range lookups {
		if l.Error != "" || !sameSet(l.Addrs, want) {
			return "", fmt.Errorf("%s: %s, want exactly %v", r.Name, l, sorted(want))
		}
		firsts[l.Addrs[0]]++
		orders[strings.Join(l.Addrs, ",")] = true
		if r.SortsIPv4 {
			for i := 1; i < len(l.Addrs); i++ {
				if rank(l.Addrs[i]) > rank(l.Addrs[i-1]) {
					return "", fmt.Errorf("%s returned %v: %s (rank %d) after %s (rank %d), not in RFC 3484 rule 9 order (%s)",
						r.Name, l.Addrs, l.Addrs[i], rank(l.Addrs[i]), l.Addrs[i-1], rank(l.Addrs[i-1]), r.Documented)
				}
			}
		}
	}
	var parts []string
	for _, a := range sorted(want) {
		parts = append(parts, fmt.Sprintf("%d", firsts[a]))
	}
	figure := fmt.Sprintf("first %s of %d", strings.Join(parts, "/"), len(lookups))
	candidates := len(want)
	if r.SortsIPv4 {
		candidates = 0
		for _, a := range want {
			if rank(a) == top {
				candidates++
			}
		}
	}
	switch {
	case r.CacheTTL > 0:
		if len(orders) != 1 {
			return figure, fmt.Errorf("%s returned %d different orders inside its %s cache TTL, want one: the cache did not hold", r.Name, len(orders), r.CacheTTL)
		}
		return figure + ", one order (cached)", nil
	case r.SortsIPv4 && candidates == 1:
		return figure + ", same-subnet pod always first", nil
	case !shuffles && !r.SortsIPv4:
		if len(orders) > 2 {
			return figure, fmt.Errorf("%s returned %d different orders from a DNS cache that does not shuffle, want the cached one (two if the entry expired meanwhile)", r.Name, len(orders))
		}
		return figure + fmt.Sprintf(", %d order(s): the DNS cache's, not shuffled", len(orders)), nil
	case len(firsts) < 2:
		return figure, fmt.Errorf("%s put the same address first in all %d lookups, want the server's shuffle to show among the %d that may come first (%s)", r.Name, len(lookups), candidates, r.Documented)
	case r.SortsIPv4 && candidates < len(want):
		return figure + fmt.Sprintf(", rotates among the %d same-subnet pods", candidates), nil
	default:
		return figure + ", rotates", nil
	}
}

// JudgeFamilyOrder: repeated lookups of a name with addresses of two families (a dual-stack
// Service) each return exactly want, every address of r.FirstFamily before any of the other
// (r.FamilyOrder says why). Within a family the order is a figure, not a verdict: the RFC 3484
// and 6724 rules below precedence (scope, prefix) differ between glibc, musl and Go. With one
// family (an IPv6 cluster) it judges the sets alone. The figure counts the lookups whose first
// address was of r.FirstFamily, and how often each address came first.
func JudgeFamilyOrder(r Resolver, lookups []Lookup, want []string) (string, error) {
	if len(lookups) == 0 {
		return "", fmt.Errorf("%s: no lookup to judge", r.Name)
	}
	families := map[corev1.IPFamily]bool{}
	for _, a := range want {
		families[headless.FamilyOf(a)] = true
	}
	firsts, leading := map[string]int{}, 0
	for _, l := range lookups {
		if l.Error != "" || !sameSet(l.Addrs, want) {
			return "", fmt.Errorf("%s: %s, want exactly %v", r.Name, l, sorted(want))
		}
		firsts[l.Addrs[0]]++
		if headless.FamilyOf(l.Addrs[0]) == r.FirstFamily {
			leading++
		}
		if len(families) < 2 {
			continue
		}
		for i := 1; i < len(l.Addrs); i++ {
			if headless.FamilyOf(l.Addrs[i]) == r.FirstFamily && headless.FamilyOf(l.Addrs[i-1]) != r.FirstFamily {
				return "", fmt.Errorf("%s returned %v: %s after %s, want every %s address first (%s)", r.Name, l.Addrs, l.Addrs[i], l.Addrs[i-1], r.FirstFamily, r.FamilyOrder)
			}
		}
	}
	var parts []string
	for _, a := range sorted(want) {
		parts = append(parts, fmt.Sprintf("%d", firsts[a]))
	}
	if len(families) < 2 {
		return fmt.Sprintf("one family; first %s of %d", strings.Join(parts, "/"), len(lookups)), nil
	}
	return fmt.Sprintf("%s first %d/%d; first %s", r.FirstFamily, leading, len(lookups), strings.Join(parts, "/")), nil
}

// Replaced is one pod name followed through a replacement: the addresses it had and has, and
// when the new pod was seen Ready.
type Replaced struct {
	Name     string   // as the probes asked it
	Old, New []string // the old and the new pod's addresses, every family
	ReadyAt  time.Time
}

// Timeline is how one resolver followed the replaced names.
type Timeline struct {
	OldAfterReady  time.Duration // the last old address returned, after the new pod was Ready (0: none)
	FailAfterReady time.Duration // the last failed or empty lookup after Ready (0: none)
}

func (tl Timeline) String() string {
	return fmt.Sprintf("old IP until Ready+%s, no address until Ready+%s", roundSeconds(tl.OldAfterReady), roundSeconds(tl.FailAfterReady))
}

func roundSeconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// follow measures how a resolver's lookups followed the replaced names.
func follow(lookups []Lookup, replaced []Replaced) Timeline {
	var tl Timeline
	for _, rp := range replaced {
		for _, l := range lookups {
			if l.Name != rp.Name {
				continue
			}
			after := l.Time().Sub(rp.ReadyAt)
			switch {
			case containsAny(l.Addrs, rp.Old) && after > tl.OldAfterReady:
				tl.OldAfterReady = after
			case (l.Error != "" || len(l.Addrs) == 0) && after > tl.FailAfterReady:
				tl.FailAfterReady = after
			}
		}
	}
	return tl
}

// JudgeReplacement: after the new pods were Ready, r returned the old address or nothing only
// as long as its documentation allows, and answered exactly the new address at its end.
//   - old address: up to bound past Ready (how long the reference, dig, took: DNS itself),
//     or, for a resolver with a cache, until its TTL from its first lookup ran out;
//   - no address: up to bound past Ready, or, with a negative cache, NegativeTTL from the
//     failure that filled it;
//   - a resolver with a cache must show it: the old address returned after Ready.
//
// With a DNS cache in front of CoreDNS (dnsCached: DNS_PROFILE cache30, nodelocal), a resolver
// cache that expires while DNS still serves the old address fetches it again and keeps it a
// TTL more: its old address is allowed until bound (DNS's own, through its cache) plus its TTL.
func JudgeReplacement(r Resolver, lookups []Lookup, replaced []Replaced, bound time.Duration, dnsCached bool) (string, error) {
	const slack = time.Second // the probes' interval and the lookups' own time, generously
	tl := follow(lookups, replaced)
	var errs []error
	for _, rp := range replaced {
		var mine []Lookup
		for _, l := range lookups {
			if l.Name == rp.Name {
				mine = append(mine, l)
			}
		}
		if len(mine) == 0 {
			errs = append(errs, fmt.Errorf("%s never asked for %s", r.Name, rp.Name))
			continue
		}
		cacheEnds := mine[0].Time().Add(r.CacheTTL + slack)
		deadline := rp.ReadyAt.Add(bound)
		if dnsCached && r.CacheTTL > 0 && deadline.Add(r.CacheTTL+slack).After(cacheEnds) {
			cacheEnds = deadline.Add(r.CacheTTL + slack)
		}
		var failedSince time.Time
		var broken brokenLookups
		for _, l := range mine {
			t := l.Time()
			failed := l.Error != "" || len(l.Addrs) == 0
			if !failed {
				failedSince = time.Time{}
			} else if failedSince.IsZero() {
				failedSince = t
			}
			if t.Before(deadline) {
				continue
			}
			after := roundSeconds(t.Sub(rp.ReadyAt))
			switch {
			case failed && (r.NegativeTTL == 0 || t.After(failedSince.Add(r.NegativeTTL+slack))):
				broken.add(t, fmt.Errorf("%s: %s at Ready+%s, past DNS's own %s%s", r.Name, l, after, roundSeconds(bound), negative(r)))
			case containsAny(l.Addrs, rp.Old) && (r.CacheTTL == 0 || t.After(cacheEnds)):
				broken.add(t, fmt.Errorf("%s: %s (old %v) at Ready+%s, past DNS's own %s%s", r.Name, l, rp.Old, after, roundSeconds(bound), positive(r, mine[0])))
			case !failed && !sameSet(l.Addrs, rp.New) && !containsAny(l.Addrs, rp.Old):
				broken.add(t, fmt.Errorf("%s: %s at Ready+%s, want %v (new) or, inside a cache, %v (old)", r.Name, l, after, rp.New, rp.Old))
			}
		}
		if err := broken.err(rp.ReadyAt); err != nil {
			errs = append(errs, err)
		}
		if last := mine[len(mine)-1]; !sameSet(last.Addrs, rp.New) {
			errs = append(errs, fmt.Errorf("%s: at its last lookup, Ready+%s, %s, want exactly the new %v", r.Name, roundSeconds(last.Time().Sub(rp.ReadyAt)), last, rp.New))
		}
	}
	if r.CacheTTL > 0 && tl.OldAfterReady == 0 {
		errs = append(errs, fmt.Errorf("%s never returned an old address after the new pods were Ready: its %s cache did not show", r.Name, r.CacheTTL))
	}
	return tl.String(), errors.Join(errs...)
}

// brokenLookups keeps the first lookup that broke a promise, and how many more did, so a
// long-lived probe's report stays a line, not one per lookup.
type brokenLookups struct {
	first error
	more  int
	last  time.Time
}

func (b *brokenLookups) add(at time.Time, err error) {
	if b.first == nil {
		b.first = err
	} else {
		b.more++
	}
	b.last = at
}

func (b *brokenLookups) err(ready time.Time) error {
	if b.first == nil || b.more == 0 {
		return b.first
	}
	return fmt.Errorf("%w (and %d more such lookups, the last at Ready+%s)", b.first, b.more, roundSeconds(b.last.Sub(ready)))
}

func negative(r Resolver) string {
	if r.NegativeTTL == 0 {
		return " (no negative cache)"
	}
	return fmt.Sprintf(" and its %s negative cache", r.NegativeTTL)
}

func positive(r Resolver, first Lookup) string {
	if r.CacheTTL == 0 {
		return " (no cache)"
	}
	return fmt.Sprintf(" and its %s cache from the first lookup at %s", r.CacheTTL, first.Time().Format("15:04:05.000"))
}

// ConvergedAfterReady is how long after Ready the reference's lookups still answered
// anything but exactly the new address: DNS's own delay, the bound the others are held to.
func ConvergedAfterReady(lookups []Lookup, replaced []Replaced) time.Duration {
	var worst time.Duration
	for _, rp := range replaced {
		for _, l := range lookups {
			if l.Name == rp.Name && !sameSet(l.Addrs, rp.New) {
				if after := l.Time().Sub(rp.ReadyAt); after > worst {
					worst = after
				}
			}
		}
	}
	return worst
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	a, b := sorted(got), sorted(want)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

// containsAny reports whether s holds any of vs.
func containsAny(s, vs []string) bool {
	for _, v := range vs {
		if slices.Contains(s, v) {
			return true
		}
	}
	return false
}
