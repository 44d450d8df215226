package course

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

// CacheSlack is what a cache bound is allowed on top: DNS's own delay (the EndpointSlice
// controller and CoreDNS's watch: Ready -> answered was at most 0.54 s in `make bench` here)
// and one lookup interval (an exec through the API server, about 0.1 s), rounded up.
const CacheSlack = 2 * time.Second

// Settled is how long after a change a client may still be told the old answer by the
// setup's caches: 0 without a cache, else the success bound and CacheSlack. A hold window that
// asserts every answer starts no earlier.
func Settled(b dnsprofile.Bounds) time.Duration {
	if b.Success == 0 {
		return 0
	}
	return b.Success + CacheSlack
}

// CacheWindowInput is one name's answers around a change of its source, judged against a
// DNS setup's cache bounds.
type CacheWindowInput struct {
	Name    string    // the absolute name asked
	Old     string    // an IP the change removed ("" when the name did not exist before)
	Want    dns.Want  // the answer once caches have caught up
	Changed time.Time // when the source changed: the new pod Ready, the pod unready
	Bounds  dnsprofile.Bounds
}

// CacheFigure is what a name's answers did after the change, in seconds from Changed.
type CacheFigure struct {
	LastOld, LastNX float64 // the last answer with the old IP, the last NXDOMAIN (-1: none after the change)
	Old, Fresh      int     // after the change and before the last old answer: answers old, and right
	After           int     // answers past the bounds, all right
}

func (f CacheFigure) String() string {
	var parts []string
	if f.LastOld >= 0 {
		parts = append(parts, fmt.Sprintf("old IP until +%.1fs", f.LastOld))
	}
	if f.LastNX >= 0 {
		parts = append(parts, fmt.Sprintf("NXDOMAIN until +%.1fs", f.LastNX))
	}
	if len(parts) == 0 {
		parts = append(parts, "no old answer after the change")
	}
	s := strings.Join(parts, ", ")
	if f.Old > 0 && f.Fresh > 0 {
		s += fmt.Sprintf(", alternating: %d of %d answers old", f.Old, f.Old+f.Fresh)
	}
	return s
}

// JudgeCacheWindow holds the answers log has for in.Name to in.Bounds: after in.Changed, the
// old IP for at most the success bound and NXDOMAIN for at most the denial bound (each plus
// CacheSlack), and past both only answers that pass in.Want; at least one such answer must have
// been seen, or the window proves nothing. The error names the setup, the bound and the
// offending answer.
func JudgeCacheWindow(log []QueryLog, in CacheWindowInput) (CacheFigure, error) {
	f := CacheFigure{LastOld: -1, LastNX: -1}
	b := in.Bounds
	settled := in.Changed.Add(b.Max() + CacheSlack)
	var mine []QueryLog
	for _, l := range log {
		if l.Err == nil && l.Answer.Query.Name == in.Name && !l.At.Before(in.Changed) {
			mine = append(mine, l)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].At.Before(mine[j].At) })
	since := func(t time.Time) float64 { return t.Sub(in.Changed).Seconds() }
	for _, l := range mine {
		switch {
		case in.Old != "" && slices.Contains(append(l.Answer.Values("A"), l.Answer.Values("AAAA")...), in.Old):
			f.LastOld = since(l.At)
			if l.At.After(in.Changed.Add(b.Success + CacheSlack)) {
				return f, fmt.Errorf("%s: %s answered the old IP %s at +%.1fs after the change, past the %s success bound %s (+%s): %s",
					b.Profile, in.Name, in.Old, since(l.At), b.Profile, b.Success, CacheSlack, b.Source)
			}
		case l.Answer.Rcode == "NXDOMAIN":
			f.LastNX = since(l.At)
			if l.At.After(in.Changed.Add(b.Denial + CacheSlack)) {
				return f, fmt.Errorf("%s: %s answered NXDOMAIN at +%.1fs after the change, past the %s denial bound %s (+%s): %s",
					b.Profile, in.Name, since(l.At), b.Profile, b.Denial, CacheSlack, b.Source)
			}
		}
		if l.At.After(settled) {
			if err := in.Want(l.Answer); err != nil {
				return f, fmt.Errorf("%s: %s at +%.1fs, past the bounds (%s): %w", b.Profile, in.Name, since(l.At), b, err)
			}
			f.After++
		}
	}
	for _, l := range mine {
		if f.LastOld >= 0 && since(l.At) <= f.LastOld {
			if slices.Contains(append(l.Answer.Values("A"), l.Answer.Values("AAAA")...), in.Old) {
				f.Old++
			} else if in.Want(l.Answer) == nil {
				f.Fresh++
			}
		}
	}
	if f.After == 0 {
		return f, fmt.Errorf("%s: no answer for %s after +%.1fs (the bounds): the window ended too soon to judge", b.Profile, in.Name, since(settled))
	}
	return f, nil
}
