package dns

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Want judges an answer: nil when it is what was expected, else an error that says what was
// missing, what was not expected, and the answer itself.
type Want func(Answer) error

// Exactly expects NOERROR, not truncated, and records all of type qtype whose values are
// exactly want, as a set with repeats (order means nothing: CoreDNS shuffles). Values compare
// as the DNS does: addresses by value, names case-insensitively; an SRV record by its port and
// target (SRVValue), as priority and weight are not the spec's business.
// The same comparison serves A, AAAA, SRV and PTR.
func Exactly(qtype string, want ...string) Want {
	qtype = strings.ToUpper(qtype)
	return func(a Answer) error {
		var got, unexpectedType []string
		for _, r := range a.Records {
			if !strings.EqualFold(r.Type, qtype) {
				unexpectedType = append(unexpectedType, r.Type+" "+r.Data)
				continue
			}
			got = append(got, Value(qtype, r.Data))
		}
		var w []string
		for _, v := range want {
			w = append(w, Value(qtype, v))
		}
		missing, unexpected := diff(w, got)
		unexpected = append(unexpected, unexpectedType...)
		if a.Rcode == "NOERROR" && !a.Truncated && len(missing) == 0 && len(unexpected) == 0 {
			return nil
		}
		var why []string
		if a.Rcode != "NOERROR" {
			why = append(why, "status "+a.Rcode+", want NOERROR")
		}
		if a.Truncated {
			why = append(why, "truncated")
		}
		if len(missing) > 0 {
			why = append(why, fmt.Sprintf("missing %s %v", qtype, missing))
		}
		if len(unexpected) > 0 {
			why = append(why, fmt.Sprintf("unexpected %v", unexpected))
		}
		return fmt.Errorf("%s %s: %s; want exactly %v; answered %s", qtype, a.Name, strings.Join(why, ", "), w, a)
	}
}

// Status expects a failure status and no record at all (NXDOMAIN: the name does not exist;
// NOERROR with no records, NODATA, is a different outcome).
func Status(rcode string) Want {
	return func(a Answer) error {
		if a.Rcode != rcode || len(a.Records) > 0 {
			return fmt.Errorf("%s %s: want %s and no records; answered %s", a.Query.qtype(), a.Name, rcode, a)
		}
		return nil
	}
}

// Value is a record's value in the form Exactly compares: an IP in its canonical form, a name
// in lower case with its trailing dot, an SRV as SRVValue.
func Value(qtype, data string) string {
	switch strings.ToUpper(qtype) {
	case "A", "AAAA":
		if ip := net.ParseIP(strings.TrimSpace(data)); ip != nil {
			return ip.String()
		}
	case "SRV":
		f := strings.Fields(data)
		if len(f) == 4 {
			if port, err := strconv.Atoi(f[2]); err == nil {
				return SRVValue(port, f[3])
			}
		}
		if len(f) == 2 { // already a value
			return strings.ToLower(data)
		}
	case "PTR", "CNAME", "NS":
		return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(data), ".") + ".")
	}
	return strings.ToLower(strings.TrimSpace(data))
}

// SRVValue is how an SRV record is compared: "<port> <target>".
func SRVValue(port int, target string) string {
	return fmt.Sprintf("%d %s", port, strings.ToLower(strings.TrimSuffix(target, ".")+"."))
}

// Values are the answer's values of type qtype, in the order received.
func (a Answer) Values(qtype string) []string {
	var out []string
	for _, d := range a.Data(qtype) {
		out = append(out, Value(qtype, d))
	}
	return out
}

// diff returns what want has that got lacks, and what got has that want lacks, counting
// repeats, each sorted.
func diff(want, got []string) (missing, unexpected []string) {
	count := map[string]int{}
	for _, v := range got {
		count[v]++
	}
	for _, v := range want {
		if count[v] > 0 {
			count[v]--
		} else {
			missing = append(missing, v)
		}
	}
	for v, n := range count {
		for range n {
			unexpected = append(unexpected, v)
		}
	}
	slices.Sort(missing)
	slices.Sort(unexpected)
	return missing, unexpected
}

// Count expects NOERROR, not truncated, and exactly n records of qtype, whatever their values:
// for a size whose members are not known in advance (pods still starting).
func Count(qtype string, n int) Want {
	return func(a Answer) error {
		got := len(a.Data(qtype))
		if a.Rcode == "NOERROR" && !a.Truncated && got == n {
			return nil
		}
		return fmt.Errorf("%s %s: %d %s records, want %d; answered %s", strings.ToUpper(qtype), a.Name, got, strings.ToUpper(qtype), n, a)
	}
}

// TruncatedTo expects what a server sends when the answer does not fit: NOERROR, the TC flag,
// and exactly n records of qtype, each one of from (a subset, in any order).
func TruncatedTo(qtype string, n int, from ...string) Want {
	qtype = strings.ToUpper(qtype)
	allowed := map[string]bool{}
	for _, v := range from {
		allowed[Value(qtype, v)] = true
	}
	return func(a Answer) error {
		values := a.Values(qtype)
		var foreign []string
		for _, v := range values {
			if !allowed[v] {
				foreign = append(foreign, v)
			}
		}
		if a.Rcode == "NOERROR" && a.Truncated && len(values) == n && len(a.Records) == n && len(foreign) == 0 {
			return nil
		}
		return fmt.Errorf("%s %s: want NOERROR, truncated, exactly %d %s records of the %d expected; got %s, tc=%v, %d records, %d not expected %v",
			qtype, a.Name, n, qtype, len(from), a.Rcode, a.Truncated, len(a.Records), len(foreign), foreign)
	}
}

// AWithin expects the A records a server sends for addresses in a message of at most limit
// bytes without EDNS: all of them, exactly, while they fit (FitA of the answer's name), else
// the truncated subset with TC set.
func AWithin(limit int, addresses ...string) Want {
	return func(a Answer) error {
		if fit := FitA(a.Name, limit); len(addresses) > fit {
			return TruncatedTo("A", fit, addresses...)(a)
		}
		return Exactly("A", addresses...)(a)
	}
}
