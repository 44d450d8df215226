package dns

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeServer serves a zone the way CoreDNS serves a headless Service: the service name answers
// n A records from 198.18.0.0/15 (reserved for benchmarks, never contacted), each host name
// its own, anything else NXDOMAIN; UDP answers are truncated to the client's buffer (512
// without EDNS) with TC set.
func fakeServer(t *testing.T, zone string, n int) string {
	t.Helper()
	handler := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		a := func(owner string, i int) mdns.RR {
			return &mdns.A{Hdr: mdns.RR_Header{Name: owner, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.IPv4(198, 18, byte(i/250), byte(i%250+1))}
		}
		switch {
		case name == "svc."+zone && q.Qtype == mdns.TypeA:
			for i := range n {
				m.Answer = append(m.Answer, a(q.Name, i))
			}
		case name == "_http._tcp.svc."+zone && q.Qtype == mdns.TypeSRV:
			for i := range n {
				m.Answer = append(m.Answer, &mdns.SRV{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeSRV, Class: mdns.ClassINET, Ttl: 30},
					Priority: 0, Weight: 100, Port: 8080, Target: fmt.Sprintf("host-%d.svc.%s", i, zone)})
			}
		case strings.HasPrefix(name, "host-") && strings.HasSuffix(name, ".svc."+zone):
			var i int
			fmt.Sscanf(name, "host-%d.", &i)
			m.Answer = append(m.Answer, a(q.Name, i))
		default:
			m.Rcode = mdns.RcodeNameError
		}
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			size := 512
			if opt := r.IsEdns0(); opt != nil {
				size = int(opt.UDPSize())
			}
			m.Truncate(size)
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := &mdns.Server{PacketConn: pc, Handler: handler}, &mdns.Server{Listener: ln, Handler: handler}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return pc.LocalAddr().String()
}

func TestExchangeTransportsAndTruncation(t *testing.T) {
	const zone = "ns.svc.cluster.local."
	server := fakeServer(t, zone, 100)
	ctx := context.Background()
	name := "svc." + zone
	fit := FitA(name, 512)

	plain := Exchange(ctx, Query{Name: name, Server: server, NoEDNS: true, NoTCPRetry: true}, nil)
	if plain.Rcode != "NOERROR" || !plain.Truncated || len(plain.Records) != fit || plain.Transport != "udp" || plain.Size > 512 {
		t.Fatalf("plain UDP: want %d records, truncated, <= 512 B; got %d records, %s, %d B", fit, len(plain.Records), plain, plain.Size)
	}
	retried := Exchange(ctx, Query{Name: name, Server: server}, nil)
	if !retried.RetriedTCP || retried.Truncated || len(retried.Records) != 100 || retried.Transport != "tcp" {
		t.Fatalf("default (EDNS, TCP on tc): got %d records, %s", len(retried.Records), retried)
	}
	tcp := Exchange(ctx, Query{Name: name, Server: server, TCP: true}, nil)
	if tcp.RetriedTCP || len(tcp.Records) != 100 || tcp.Size <= 1232 {
		t.Fatalf("tcp: %d records, %d B", len(tcp.Records), tcp.Size)
	}
	nx := Exchange(ctx, Query{Name: "nope." + zone, Server: server}, nil)
	if err := Status("NXDOMAIN")(nx); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 9 (discard) of loopback: the answer is TIMEOUT or ERROR, never an
	// error return.
	dead := Exchange(ctx, Query{Name: name, Server: "127.0.0.1:9", Timeout: 100 * time.Millisecond}, nil)
	if dead.Rcode != "TIMEOUT" && dead.Rcode != "ERROR" {
		t.Fatalf("no server: %s", dead)
	}
}

func TestExchangeWalksTheSearchList(t *testing.T) {
	const zone = "ns.svc.cluster.local."
	server := fakeServer(t, zone, 3)
	host, port, _ := net.SplitHostPort(server)
	conf, err := ParseResolvConf(fmt.Sprintf("nameserver %s\nsearch other.svc.cluster.local ns.svc.cluster.local cluster.local\noptions ndots:5\n", host))
	if err != nil {
		t.Fatal(err)
	}
	conf.Port = port
	a := Exchange(context.Background(), Query{Name: "host-1.svc", Search: true, Server: server}, conf)
	if err := Exactly("A", "198.18.0.2")(a); err != nil {
		t.Fatal(err)
	}
	if len(a.Walk) != 2 || a.Walk[0].Name != "host-1.svc.other.svc.cluster.local." || a.Walk[0].Rcode != "NXDOMAIN" || a.Walk[1].Name != "host-1.svc."+zone {
		t.Fatalf("walk:\n%s", FormatWalk(a.Walk))
	}
	if z, err := ClusterZone(conf, "ns"); err != nil || z != "cluster.local" {
		t.Fatalf("zone %q, %v", z, err)
	}
}

func TestExactlyNamesMissingAndUnexpected(t *testing.T) {
	ans := Answer{Query: Query{Type: "A"}, Name: "svc.", Rcode: "NOERROR", Records: []Record{
		{Type: "A", Data: "10.0.0.1"}, {Type: "A", Data: "10.0.0.9"},
	}}
	err := Exactly("A", "10.0.0.1", "10.0.0.2")(ans)
	if err == nil || !strings.Contains(err.Error(), "missing A [10.0.0.2]") || !strings.Contains(err.Error(), "unexpected [10.0.0.9]") || !strings.Contains(err.Error(), "answered A svc. -> NOERROR") {
		t.Fatalf("err = %v", err)
	}
	if err := Exactly("A", "10.0.0.9", "10.0.0.1")(ans); err != nil {
		t.Fatalf("order must not matter: %v", err)
	}
	ans.Truncated = true
	if err := Exactly("A", "10.0.0.9", "10.0.0.1")(ans); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a truncated answer passed: %v", err)
	}
	srv := Answer{Query: Query{Type: "SRV"}, Name: "_http._tcp.svc.", Rcode: "NOERROR", Records: []Record{
		{Type: "SRV", Data: "0 50 8080 Pod-0.Svc.NS.svc.cluster.local."}, {Type: "SRV", Data: "0 50 8080 pod-1.svc.ns.svc.cluster.local."},
	}}
	if err := Exactly("SRV", SRVValue(8080, "pod-0.svc.ns.svc.cluster.local"), SRVValue(8080, "pod-1.svc.ns.svc.cluster.local."))(srv); err != nil {
		t.Fatal(err)
	}
	if err := Exactly("SRV", SRVValue(80, "pod-0.svc.ns.svc.cluster.local"), SRVValue(80, "pod-1.svc.ns.svc.cluster.local."))(srv); err == nil || !strings.Contains(err.Error(), "missing SRV [80 pod-0") {
		t.Fatalf("wrong port passed: %v", err)
	}
	ptr := Answer{Query: Query{Type: "PTR"}, Rcode: "NOERROR", Records: []Record{{Type: "PTR", Data: "a.b."}, {Type: "PTR", Data: "c.d."}}}
	if err := Exactly("PTR", "a.b")(ptr); err == nil || !strings.Contains(err.Error(), "unexpected [c.d.]") {
		t.Fatalf("extra PTR passed: %v", err)
	}
	if err := Status("NXDOMAIN")(Answer{Rcode: "NOERROR"}); err == nil {
		t.Fatal("NODATA passed as NXDOMAIN")
	}
}

func TestFitA(t *testing.T) {
	// The bench measured 27 A records for headless-demo.<16-char namespace>.svc.cluster.local.
	if got := FitA("headless-demo.headless-e2e-abcdef.svc.cluster.local.", 512); got != 27 {
		t.Fatalf("FitA = %d, want 27", got)
	}
}

func TestTruncatedTo(t *testing.T) {
	a := Answer{Name: "svc.", Rcode: "NOERROR", Truncated: true, Records: []Record{{Type: "A", Data: "198.18.0.1"}, {Type: "A", Data: "198.18.0.2"}}}
	if err := TruncatedTo("A", 2, "198.18.0.1", "198.18.0.2", "198.18.0.3")(a); err != nil {
		t.Fatal(err)
	}
	if err := TruncatedTo("A", 3, "198.18.0.1", "198.18.0.2", "198.18.0.3")(a); err == nil {
		t.Fatal("a count short of n passed")
	}
	if err := TruncatedTo("A", 2, "198.18.0.1")(a); err == nil || !strings.Contains(err.Error(), "1 not expected [198.18.0.2]") {
		t.Fatalf("a foreign record passed: %v", err)
	}
	a.Truncated = false
	if err := TruncatedTo("A", 2, "198.18.0.1", "198.18.0.2")(a); err == nil {
		t.Fatal("an answer without TC passed")
	}
}

func TestAWithin(t *testing.T) {
	name := "s." // FitA("s.", 512) = (512-12-3-4)/16 = 30
	var all []string
	answer := Answer{Name: name, Rcode: "NOERROR"}
	for i := range 31 {
		ip := fmt.Sprintf("198.18.0.%d", i+1)
		all = append(all, ip)
		if i < 30 {
			answer.Records = append(answer.Records, Record{Type: "A", Data: ip})
		}
	}
	if err := AWithin(512, all[:30]...)(answer); err != nil {
		t.Fatalf("30 fit: %v", err)
	}
	if err := AWithin(512, all...)(answer); err == nil {
		t.Fatal("31 addresses: an answer without TC passed")
	}
	answer.Truncated = true
	if err := AWithin(512, all...)(answer); err != nil {
		t.Fatalf("31 addresses, 30 with TC: %v", err)
	}
}
