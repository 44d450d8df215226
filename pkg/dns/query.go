// Package dns is how headless-e2e asks DNS and judges what it answers. It has no Kubernetes
// dependency: the same code runs inside the client pod (the dnsprobe program, which prints one
// JSON Answer per query) and in the suite, the bench and the lab, which read that JSON.
//
// This file is "how DNS is asked"; judge.go is "how an answer is judged"; resolvconf.go reads
// a pod's resolver configuration.
package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Query is one question, and how to put it. The zero transport is what real resolvers do: UDP
// with an EDNS0 buffer of 1232 bytes, asked again over TCP when the answer comes truncated.
type Query struct {
	Name string `json:"name"`           // absolute (trailing dot) unless Search
	Type string `json:"type,omitempty"` // A, AAAA, SRV, PTR...; "" is A
	// Server is "ip" or "ip:port"; "" is the first nameserver of the pod's resolv.conf.
	Server string `json:"server,omitempty"`
	TCP    bool   `json:"tcp,omitempty"`
	// NoEDNS asks without EDNS0: a UDP answer is then at most 512 bytes.
	NoEDNS bool `json:"no_edns,omitempty"`
	// NoTCPRetry keeps a truncated UDP answer as it came, as a resolver without TCP fallback
	// (musl before 1.2.4) would.
	NoTCPRetry bool `json:"no_tcp_retry,omitempty"`
	// Search resolves a relative name as a stub resolver does: the candidates of the pod's
	// search list and ndots in order, stopping at the first that answers records of Type.
	Search bool `json:"search,omitempty"`
	// Timeout is the wait per try (2 tries); 0 is 2 s. A name outside the cluster zone needs
	// more offline: CoreDNS gives up on it only after about 2 s itself.
	Timeout time.Duration `json:"timeout,omitempty"`
}

func (q Query) qtype() string {
	if q.Type == "" {
		return "A"
	}
	return strings.ToUpper(q.Type)
}

func (q Query) String() string {
	var how []string
	switch {
	case q.TCP:
		how = append(how, "tcp")
	case q.NoEDNS:
		how = append(how, "udp 512")
	default:
		how = append(how, "udp")
	}
	if q.NoTCPRetry && !q.TCP {
		how = append(how, "no tcp retry")
	}
	if q.Search {
		how = append(how, "search list")
	}
	if q.Server != "" {
		how = append(how, "@"+q.Server)
	}
	return fmt.Sprintf("%s %s (%s)", q.qtype(), q.Name, strings.Join(how, ", "))
}

// Reverse is the PTR name of an IP address: 10.244.1.5 -> 5.1.244.10.in-addr.arpa.
func Reverse(ip string) (string, error) {
	return mdns.ReverseAddr(ip)
}

// Record is one resource record of an answer.
type Record struct {
	Name string `json:"name"`
	TTL  uint32 `json:"ttl"`
	Type string `json:"type"`
	Data string `json:"data"` // the rdata in presentation format: "10.244.1.5", "0 33 8080 target."
}

// Answer is one response, or the absence of one.
type Answer struct {
	Query Query  `json:"query"`
	Name  string `json:"name"` // the absolute name this response is for (with Search: the last asked)
	// Rcode is the response code (NOERROR, NXDOMAIN, SERVFAIL...), TIMEOUT when no server
	// answered any try, or ERROR when the query could not be sent (Error says why).
	Rcode      string   `json:"rcode"`
	Truncated  bool     `json:"tc"`
	Records    []Record `json:"records"`
	Server     string   `json:"server"`
	Transport  string   `json:"transport"`   // udp or tcp: how the response used came
	RetriedTCP bool     `json:"retried_tcp"` // a truncated UDP answer was asked again over TCP
	Size       int      `json:"size"`        // the response's size in bytes, compressed as sent
	ElapsedMS  float64  `json:"elapsed_ms"`
	Error      string   `json:"error,omitempty"`
	// Walk is, with Search, every name asked in order; the last step is this answer.
	Walk []Answer `json:"walk,omitempty"`
}

// Data is the rdata of the records of type qtype, in the order received.
func (a Answer) Data(qtype string) []string {
	var out []string
	for _, r := range a.Records {
		if strings.EqualFold(r.Type, qtype) {
			out = append(out, r.Data)
		}
	}
	return out
}

func (a Answer) String() string {
	s := fmt.Sprintf("%s %s -> %s", a.Query.qtype(), a.Name, a.Rcode)
	if len(a.Records) > 0 {
		var data []string
		for _, r := range a.Records {
			data = append(data, r.Type+" "+r.Data)
		}
		s += fmt.Sprintf(" %v", data)
	}
	var notes []string
	if a.Transport != "" {
		notes = append(notes, a.Transport)
	}
	if a.Truncated {
		notes = append(notes, "truncated")
	}
	if a.RetriedTCP {
		notes = append(notes, "retried over tcp")
	}
	if a.Error != "" {
		notes = append(notes, a.Error)
	}
	return s + " (" + strings.Join(notes, ", ") + ")"
}

// FormatWalk is a search walk, one step a line.
func FormatWalk(walk []Answer) string {
	var b strings.Builder
	for i, a := range walk {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, a)
	}
	return b.String()
}

// Exchange asks q, from where it runs, with the nameservers and search list of conf. It never
// fails: a network problem is an Answer too (TIMEOUT, ERROR), because what a client sees when
// DNS does not answer is what the suite asserts.
func Exchange(ctx context.Context, q Query, conf *mdns.ClientConfig) Answer {
	server := q.Server
	if server == "" && conf != nil && len(conf.Servers) > 0 {
		server = conf.Servers[0]
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	if !q.Search || conf == nil {
		a := exchangeName(ctx, q, mdns.Fqdn(q.Name), server)
		return a
	}
	var walk []Answer
	for _, name := range conf.NameList(q.Name) {
		a := exchangeName(ctx, q, name, server)
		walk = append(walk, a)
		if a.Rcode == "NOERROR" && len(a.Data(q.qtype())) > 0 {
			break
		}
	}
	last := walk[len(walk)-1]
	last.Walk = walk
	return last
}

func exchangeName(ctx context.Context, q Query, name, server string) Answer {
	start := time.Now()
	a := Answer{Query: q, Name: name, Server: server}
	qtype, ok := mdns.StringToType[q.qtype()]
	if !ok {
		a.Rcode, a.Error = "ERROR", "unknown record type "+q.qtype()
		return a
	}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if !q.NoEDNS {
		m.SetEdns0(1232, false)
	}
	transport := "udp"
	if q.TCP {
		transport = "tcp"
	}
	resp, err := ask(ctx, m, transport, server, q.Timeout)
	if err == nil && resp.Truncated && transport == "udp" && !q.NoTCPRetry {
		a.RetriedTCP, transport = true, "tcp"
		resp, err = ask(ctx, m, transport, server, q.Timeout)
	}
	a.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
	a.Transport = transport
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			a.Rcode = "TIMEOUT"
		} else {
			a.Rcode = "ERROR"
		}
		a.Error = err.Error()
		return a
	}
	a.Rcode = mdns.RcodeToString[resp.Rcode]
	a.Truncated = resp.Truncated
	resp.Compress = true
	a.Size = resp.Len()
	for _, rr := range resp.Answer {
		h := rr.Header()
		a.Records = append(a.Records, Record{
			Name: h.Name, TTL: h.Ttl, Type: mdns.TypeToString[h.Rrtype],
			Data: strings.TrimPrefix(rr.String(), h.String()),
		})
	}
	return a
}

// ask sends m, trying twice on a timeout, as dig and the C resolvers do by default.
func ask(ctx context.Context, m *mdns.Msg, transport, server string, timeout time.Duration) (*mdns.Msg, error) {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	c := &mdns.Client{Net: transport, Timeout: timeout}
	var err error
	for range 2 {
		var resp *mdns.Msg
		if resp, _, err = c.ExchangeContext(ctx, m, server); err == nil {
			return resp, nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

// Probe is the program in the client image that runs Exchange in the pod: it takes a Query
// as JSON and prints the Answer as JSON.
const Probe = "dnsprobe"

// Runner runs a command in the pod DNS is asked from.
type Runner func(ctx context.Context, cmd []string) (stdout, stderr string, err error)

// Ask runs the probe through run and returns its answer. DNS outcomes (NXDOMAIN, TIMEOUT...)
// are answers; the error is for the probe not running or not printing an answer.
func Ask(ctx context.Context, run Runner, q Query) (Answer, error) {
	arg, err := json.Marshal(q)
	if err != nil {
		return Answer{}, err
	}
	stdout, stderr, err := run(ctx, []string{Probe, string(arg)})
	if err != nil {
		return Answer{}, fmt.Errorf("%s: %s %s: %w: %s", q, Probe, arg, err, strings.TrimSpace(stdout+stderr))
	}
	var a Answer
	if err := json.Unmarshal([]byte(stdout), &a); err != nil {
		return Answer{}, fmt.Errorf("%s: %s printed no answer (%v): %q", q, Probe, err, stdout+stderr)
	}
	return a, nil
}
