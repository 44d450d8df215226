package framework

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
)

// Record is one resource record as dig prints it.
type Record struct {
	Name string
	TTL  int
	Type string
	Data string // the rdata, fields joined by one space
}

// DigResult is one DNS response as dig printed it. nslookup reports only the last status of
// its search walk and no flags, so the contract's exact outcomes (NXDOMAIN of one name, the
// tc bit, the message size) need dig's full output.
type DigResult struct {
	Query string // the query as given to dig, for messages
	Name  string // the name asked (for dig -x, the address)
	// Rcode is the response status (NOERROR, NXDOMAIN, SERVFAIL, ...), or TIMEOUT when no
	// server answered.
	Rcode      string
	Flags      []string // header flags: qr aa tc rd ...
	Answer     []Record
	Additional []Record
	MsgSize    int    // ";; MSG SIZE rcvd:", the bytes of the response on the wire
	Protocol   string // UDP or TCP, the transport of the response printed
	// RetriedTCP is set when dig got a truncated UDP answer and asked again over TCP (the
	// response printed is then the TCP one).
	RetriedTCP bool
	Raw        string
}

// Truncated reports the tc flag: the answer did not fit and was cut.
func (r DigResult) Truncated() bool { return slices.Contains(r.Flags, "tc") }

// Data returns the rdata of the answer records of type qtype, in the order received.
func (r DigResult) Data(qtype string) []string {
	var out []string
	for _, rr := range r.Answer {
		if strings.EqualFold(rr.Type, qtype) {
			out = append(out, rr.Data)
		}
	}
	return out
}

func (r DigResult) String() string {
	s := fmt.Sprintf("%s -> %s", r.Query, r.Rcode)
	if len(r.Answer) > 0 {
		var data []string
		for _, rr := range r.Answer {
			data = append(data, rr.Type+" "+rr.Data)
		}
		s += fmt.Sprintf(" %v", data)
	}
	if r.Truncated() {
		s += " (truncated)"
	}
	return s
}

// ParseDig reads dig's default output for one query. When dig retried over TCP after a
// truncated UDP answer it prints only the last response, which is the one returned.
func ParseDig(query, out string) (DigResult, error) {
	r := DigResult{Query: query, Raw: out}
	answers := -1
	section := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, ";; Truncated, retrying in TCP mode"):
			r.RetriedTCP = true
		case strings.HasPrefix(line, ";; Got answer:"):
			// A later response replaces an earlier one.
			r.Rcode, r.Flags, r.Answer, r.Additional, answers = "", nil, nil, nil, -1
		case strings.HasPrefix(line, ";; ->>HEADER<<-"):
			_, status, _ := strings.Cut(line, "status: ")
			r.Rcode, _, _ = strings.Cut(status, ",")
		case strings.HasPrefix(line, ";; flags:"):
			flags, counts, _ := strings.Cut(strings.TrimPrefix(line, ";; flags:"), ";")
			r.Flags = strings.Fields(flags)
			for _, c := range strings.Split(counts, ",") {
				if k, v, ok := strings.Cut(strings.TrimSpace(c), ": "); ok && k == "ANSWER" {
					answers, _ = strconv.Atoi(v)
				}
			}
		case strings.HasPrefix(line, ";; MSG SIZE"):
			_, size, _ := strings.Cut(line, "rcvd:")
			r.MsgSize, _ = strconv.Atoi(strings.TrimSpace(size))
		case strings.HasPrefix(line, ";; SERVER:"):
			switch {
			case strings.HasSuffix(line, "(TCP)"):
				r.Protocol = "TCP"
			case strings.HasSuffix(line, "(UDP)"):
				r.Protocol = "UDP"
			}
		case strings.HasSuffix(line, " SECTION:") && strings.HasPrefix(line, ";; "):
			section = strings.TrimSuffix(strings.TrimPrefix(line, ";; "), " SECTION:")
		case line == "":
			section = ""
		case strings.HasPrefix(line, ";"):
		case section == "ANSWER" || section == "ADDITIONAL":
			rr, err := parseRecord(line)
			if err != nil {
				return r, fmt.Errorf("dig %s: %w", query, err)
			}
			if section == "ANSWER" {
				r.Answer = append(r.Answer, rr)
			} else {
				r.Additional = append(r.Additional, rr)
			}
		}
	}
	if r.Rcode == "" {
		// A try that timed out before a later one answered is not a timeout: only the
		// absence of any response is.
		if strings.Contains(out, "no servers could be reached") {
			r.Rcode = "TIMEOUT"
			return r, nil
		}
		return r, fmt.Errorf("dig %s: no response header in the output:\n%s", query, out)
	}
	if answers != len(r.Answer) {
		return r, fmt.Errorf("dig %s: header says %d answers, parsed %d:\n%s", query, answers, len(r.Answer), out)
	}
	return r, nil
}

// parseRecord reads "name ttl class type rdata...".
func parseRecord(line string) (Record, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return Record{}, fmt.Errorf("not a resource record: %q", line)
	}
	ttl, err := strconv.Atoi(f[1])
	if err != nil {
		return Record{}, fmt.Errorf("bad TTL in %q", line)
	}
	return Record{Name: f[0], TTL: ttl, Type: f[3], Data: strings.Join(f[4:], " ")}, nil
}

// DigInput is one dig query, run in a pod.
type DigInput struct {
	Exec      Executor
	Namespace string
	Pod       string
	Name      string // a domain name or, with Reverse, an IP address
	Type      string // record type; "" means A
	Reverse   bool   // dig -x: the PTR query for the address in Name
	// Options are extra dig options, e.g. "+tcp", or "+notcp +noedns +ignore" for a plain
	// 512-byte UDP answer with no TCP retry.
	Options []string
	// Timeout is dig's wait per try (default 2s). A name outside the cluster zone needs more
	// when upstream is unreachable: CoreDNS's forward answers SERVFAIL only after ~2s itself.
	Timeout time.Duration
}

func (in DigInput) args() []string {
	timeout := 2
	if in.Timeout > 0 {
		timeout = int(in.Timeout.Round(time.Second) / time.Second)
	}
	args := append([]string{"dig", fmt.Sprintf("+timeout=%d", timeout), "+tries=2"}, in.Options...)
	if in.Reverse {
		return append(args, "-x", in.Name)
	}
	qtype := in.Type
	if qtype == "" {
		qtype = "A"
	}
	return append(args, "-t", qtype, in.Name)
}

func (in DigInput) String() string { return strings.Join(in.args()[3:], " ") }

// DigQuery runs dig in the pod and parses its answer. dig exits 9 when no server answers;
// that is an answer (TIMEOUT), not an error. Errors are for exec failing.
func DigQuery(ctx context.Context, in DigInput) (DigResult, error) {
	stdout, stderr, err := in.Exec.Exec(ctx, in.Namespace, in.Pod, in.args())
	out := stdout + stderr
	if err != nil && !strings.Contains(out, "no servers could be reached") {
		return DigResult{}, fmt.Errorf("%s in pod %s/%s: %w: %s", strings.Join(in.args(), " "), in.Namespace, in.Pod, err, out)
	}
	r, err := ParseDig(in.String(), out)
	r.Name = in.Name
	return r, err
}

// WantRecords is an exact expectation: NOERROR, not truncated, and answer records all of type
// qtype whose data is exactly want as a multiset (case-insensitive, as the DNS compares).
func WantRecords(qtype string, want ...string) func(DigResult) error {
	return func(r DigResult) error {
		if r.Rcode != "NOERROR" || r.Truncated() {
			return fmt.Errorf("%s; want NOERROR with exactly %s %v", r, qtype, want)
		}
		var got []string
		for _, rr := range r.Answer {
			if !strings.EqualFold(rr.Type, qtype) {
				return fmt.Errorf("%s: unexpected %s record; want only %s %v", r, rr.Type, qtype, want)
			}
			got = append(got, strings.ToLower(rr.Data))
		}
		w := make([]string, 0, len(want))
		for _, s := range want {
			w = append(w, strings.ToLower(s))
		}
		slices.Sort(got)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			return fmt.Errorf("%s; want exactly %s %v", r, qtype, w)
		}
		return nil
	}
}

// WantRcode expects a failure status with no answer at all (NXDOMAIN: the name does not
// exist; NODATA is NOERROR with no records and is a different outcome).
func WantRcode(rcode string) func(DigResult) error {
	return func(r DigResult) error {
		if r.Rcode != rcode || len(r.Answer) > 0 {
			return fmt.Errorf("%s; want %s and no answer", r, rcode)
		}
		return nil
	}
}

// AwaitDNSInput is a query to repeat until its answer passes Check.
type AwaitDNSInput struct {
	Query   DigInput
	Check   func(DigResult) error // WantRecords, WantRcode
	Timeout time.Duration
	Poll    time.Duration // default 100ms
}

// AwaitDNS repeats the query until Check passes, and returns the passing answer and how long
// it took; on timeout the error holds the last answer and why it did not pass.
func AwaitDNS(ctx context.Context, in AwaitDNSInput) (DigResult, time.Duration, error) {
	if in.Poll == 0 {
		in.Poll = 100 * time.Millisecond
	}
	start := time.Now()
	var last DigResult
	err := cluster.Poll(ctx, "dig "+in.Query.String(), in.Timeout, in.Poll, func(ctx context.Context) (bool, string, error) {
		r, err := DigQuery(ctx, in.Query)
		if err != nil {
			return false, err.Error(), nil
		}
		last = r
		if err := in.Check(r); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	return last, time.Since(start), err
}

// SRV is one SRV record's data.
type SRV struct {
	Priority, Weight, Port int
	Target                 string
}

func (s SRV) String() string { return fmt.Sprintf("%s:%d", s.Target, s.Port) }

// ParseSRV reads SRV rdata as dig prints it: "priority weight port target".
func ParseSRV(data string) (SRV, error) {
	f := strings.Fields(data)
	if len(f) != 4 {
		return SRV{}, fmt.Errorf("SRV data %q: want priority weight port target", data)
	}
	var n [3]int
	for i := range n {
		v, err := strconv.Atoi(f[i])
		if err != nil || v < 0 || v > 65535 {
			return SRV{}, fmt.Errorf("SRV data %q: field %d is not a 16-bit number", data, i+1)
		}
		n[i] = v
	}
	return SRV{Priority: n[0], Weight: n[1], Port: n[2], Target: strings.ToLower(f[3])}, nil
}

// CheckSRV fails unless the lines (dig +short SRV) are exactly one record per target, each
// with port; priority and weight are not the spec's business (RFC 2782 values, unprescribed).
func CheckSRV(lines []string, targets []string, port int) ([]SRV, error) {
	var recs []SRV
	var got, want []string
	for _, l := range lines {
		s, err := ParseSRV(l)
		if err != nil {
			return nil, err
		}
		recs = append(recs, s)
		got = append(got, s.String())
	}
	for _, t := range targets {
		want = append(want, SRV{Target: strings.ToLower(t), Port: port}.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return recs, fmt.Errorf("SRV answered %v, want exactly %v", got, want)
	}
	return recs, nil
}

// AwaitSRVInput is an SRV name and the records it must come to hold.
type AwaitSRVInput struct {
	Lookup  LookupInput // Name: _<port>._<proto>.<service>.<ns>.svc.<zone>.
	Targets []string    // one record per target, e.g. every ready pod's FQDN
	Port    int
	Timeout time.Duration
}

// AwaitSRV polls `dig +short SRV` until CheckSRV passes; on timeout the error holds the last
// answer.
func AwaitSRV(ctx context.Context, in AwaitSRVInput) ([]SRV, error) {
	var recs []SRV
	err := cluster.Poll(ctx, "SRV "+in.Lookup.Name, in.Timeout, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		lines, err := Dig(ctx, in.Lookup, "SRV")
		if err != nil {
			return false, err.Error(), nil
		}
		if recs, err = CheckSRV(lines, in.Targets, in.Port); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	return recs, err
}

// ResolvConf is what a pod's stub resolver does with a name: its search list and ndots.
type ResolvConf struct {
	Search []string
	Ndots  int
}

// ParseResolvConf reads the search list and ndots (1 when unset, as in glibc).
func ParseResolvConf(s string) ResolvConf {
	rc := ResolvConf{Ndots: 1}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "search":
			rc.Search = f[1:]
		case "options":
			for _, o := range f[1:] {
				if v, ok := strings.CutPrefix(o, "ndots:"); ok {
					if n, err := strconv.Atoi(v); err == nil {
						rc.Ndots = n
					}
				}
			}
		}
	}
	return rc
}

// Candidates are the absolute names the stub resolver asks for name, in order: a name with a
// trailing dot is only itself; one with fewer than ndots dots goes through the search list
// first and is tried as-is last; one with ndots or more is tried as-is first.
func (rc ResolvConf) Candidates(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	var searched []string
	for _, d := range rc.Search {
		searched = append(searched, name+"."+strings.TrimSuffix(d, ".")+".")
	}
	if strings.Count(name, ".") >= rc.Ndots {
		return append([]string{name + "."}, searched...)
	}
	return append(searched, name+".")
}

// SearchInput is a name to resolve from a pod the way its stub resolver would.
type SearchInput struct {
	Exec      Executor
	Namespace string
	Pod       string
	Name      string
	Timeout   time.Duration // per query, as DigInput's
}

// SearchWalk asks, one by one, the names the pod's resolver would try for Name (from the pod's
// own resolv.conf), and stops at the first that answers addresses. It returns every answer
// seen, so a test can assert where the walk ended and what each step said.
func SearchWalk(ctx context.Context, in SearchInput) ([]DigResult, error) {
	conf, _, err := in.Exec.Exec(ctx, in.Namespace, in.Pod, []string{"cat", "/etc/resolv.conf"})
	if err != nil {
		return nil, fmt.Errorf("reading resolv.conf of %s/%s: %w", in.Namespace, in.Pod, err)
	}
	var walk []DigResult
	for _, c := range ParseResolvConf(conf).Candidates(in.Name) {
		r, err := DigQuery(ctx, DigInput{Exec: in.Exec, Namespace: in.Namespace, Pod: in.Pod, Name: c, Timeout: in.Timeout})
		if err != nil {
			return walk, err
		}
		walk = append(walk, r)
		if r.Rcode == "NOERROR" && len(r.Data("A")) > 0 {
			break
		}
	}
	return walk, nil
}

// FormatWalk is a search walk, one step a line.
func FormatWalk(walk []DigResult) string {
	var b strings.Builder
	for i, r := range walk {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, r)
	}
	return b.String()
}

// CheckWalk fails unless the walk asked exactly the names in want, in order, each answered
// as its check says.
func CheckWalk(walk []DigResult, want []WalkStep) error {
	if len(walk) != len(want) {
		return fmt.Errorf("the resolver's walk took %d steps, want %d:\n%s", len(walk), len(want), FormatWalk(walk))
	}
	for i, w := range want {
		if !strings.EqualFold(walk[i].Name, w.Name) {
			return fmt.Errorf("step %d asked %s, want %s:\n%s", i+1, walk[i].Query, w.Name, FormatWalk(walk))
		}
		if err := w.Check(walk[i]); err != nil {
			return fmt.Errorf("step %d: %w:\n%s", i+1, err, FormatWalk(walk))
		}
	}
	return nil
}

// WalkStep is one name the resolver must ask and what it must be told.
type WalkStep struct {
	Name  string
	Check func(DigResult) error
}

// LookupWithTimeout is Lookup with nslookup waiting timeout per try instead of 2s, for names
// whose search walk ends outside the cluster zone (see DigInput.Timeout).
func LookupWithTimeout(ctx context.Context, in LookupInput, timeout time.Duration) (Answer, error) {
	arg := fmt.Sprintf("-timeout=%d", int(timeout.Round(time.Second)/time.Second))
	stdout, stderr, err := in.Exec.Exec(ctx, in.Namespace, in.Pod, []string{"nslookup", arg, "-retry=1", in.Name})
	out := stdout + stderr
	if err != nil && !strings.Contains(out, "server can't find") && !strings.Contains(out, "timed out") {
		return Answer{}, fmt.Errorf("nslookup %s in pod %s/%s: %w: %s", in.Name, in.Namespace, in.Pod, err, out)
	}
	return ParseNslookup(in.Name, out), nil
}

// UDPFit is how many A records for qname fit in a plain DNS message of limit bytes: a 12-byte
// header, the question (the name in wire form, type and class), then 16 bytes per record
// (a compression pointer to the question's name, type, class, TTL, length, 4 address bytes).
func UDPFit(qname string, limit int) int {
	wire := len(strings.TrimSuffix(qname, ".")) + 2
	return (limit - 12 - wire - 4) / 16
}

// ParallelDig runs the queries at once (each its own exec: dig's multi-query mode applies
// one query's type option to the next) and returns the answers in order.
func ParallelDig(ctx context.Context, queries []DigInput) ([]DigResult, error) {
	results := make([]DigResult, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = DigQuery(ctx, q)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return results, err
		}
	}
	return results, nil
}
