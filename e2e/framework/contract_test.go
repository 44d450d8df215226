package framework

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Outputs as BIND 9.18's dig prints them in the client image, against the kind cluster's
// CoreDNS (shortened where noted).
const (
	digSRV = `
; <<>> DiG 9.18.49-1~deb12u1-Debian <<>> -t SRV _http._tcp.headless-demo.ns1.svc.cluster.local
;; global options: +cmd
;; Got answer:
;; WARNING: .local is reserved for Multicast DNS
;; You are currently testing what happens when an mDNS query is leaked to DNS
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 58190
;; flags: qr aa rd; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 4
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
; COOKIE: 113d73ed0e6ec93d (echoed)
;; QUESTION SECTION:
;_http._tcp.headless-demo.ns1.svc.cluster.local. IN SRV

;; ANSWER SECTION:
_http._tcp.headless-demo.ns1.svc.cluster.local. 30 IN SRV 0 33 8080 hello-kubernetes-1.headless-demo.ns1.svc.cluster.local.
_http._tcp.headless-demo.ns1.svc.cluster.local. 30 IN SRV 0 33 8080 hello-kubernetes-0.headless-demo.ns1.svc.cluster.local.
_http._tcp.headless-demo.ns1.svc.cluster.local. 30 IN SRV 0 33 8080 hello-kubernetes-2.headless-demo.ns1.svc.cluster.local.

;; ADDITIONAL SECTION:
hello-kubernetes-1.headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.2.7
hello-kubernetes-2.headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.1.10
hello-kubernetes-0.headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.1.8

;; Query time: 0 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
;; WHEN: Sun Nov 29 17:21:08 UTC 2026
;; MSG SIZE  rcvd: 827

`
	digNXDOMAIN = `
; <<>> DiG 9.18.49-1~deb12u1-Debian <<>> hello-kubernetes-9.headless-demo.ns1.svc.cluster.local
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 44587
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;hello-kubernetes-9.headless-demo.ns1.svc.cluster.local. IN A

;; AUTHORITY SECTION:
cluster.local.		30	IN	SOA	ns.dns.cluster.local. hostmaster.cluster.local. 1795973115 7200 1800 86400 30

;; Query time: 43 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
;; WHEN: Sun Nov 29 17:25:16 UTC 2026
;; MSG SIZE  rcvd: 205

`
	digPTR = `
; <<>> DiG 9.18.49-1~deb12u1-Debian <<>> -x 10.244.1.10
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 21066
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; QUESTION SECTION:
;10.1.244.10.in-addr.arpa.	IN	PTR

;; ANSWER SECTION:
10.1.244.10.in-addr.arpa. 30	IN	PTR	hello-kubernetes-2.headless-demo.ns1.svc.cluster.local.
10.1.244.10.in-addr.arpa. 30	IN	PTR	10-244-1-10.hello-clusterip.ns1.svc.cluster.local.

;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
;; MSG SIZE  rcvd: 172
`
	// 27 records in the real answer; 3 kept, and the header's count with them.
	digTruncated = `
; <<>> DiG 9.18.49-1~deb12u1-Debian <<>> +ignore +notcp +noedns headless-demo.ns1.svc.cluster.local
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 49837
;; flags: qr aa tc rd; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 0
;; WARNING: recursion requested but not available

;; QUESTION SECTION:
;headless-demo.ns1.svc.cluster.local. IN A

;; ANSWER SECTION:
headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.1.28
headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.2.21
headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.1.20

;; Query time: 0 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
;; WHEN: Sun Nov 29 17:25:09 UTC 2026
;; MSG SIZE  rcvd: 502

`
	digRetriedTCP = `;; Truncated, retrying in TCP mode.

; <<>> DiG 9.18.49-1~deb12u1-Debian <<>> +noedns headless-demo.ns1.svc.cluster.local
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 54380
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 0
;; WARNING: recursion requested but not available

;; QUESTION SECTION:
;headless-demo.ns1.svc.cluster.local. IN A

;; ANSWER SECTION:
headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.2.35
headless-demo.ns1.svc.cluster.local. 30 IN A 10.244.1.35

;; Query time: 0 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (TCP)
;; WHEN: Sun Nov 29 17:27:27 UTC 2026
;; MSG SIZE  rcvd: 2110

`
	digTimeout = `;; communications error to 10.244.1.99#53: timed out

; <<>> DiG 9.18.49-1~deb12u1-Debian <<>> +timeout=1 +tries=1 @10.244.1.99 foo
; (1 server found)
;; global options: +cmd
;; no servers could be reached
`
)

func TestParseDig(t *testing.T) {
	for name, tc := range map[string]struct {
		out                string
		rcode, proto       string
		tc, retried        bool
		size               int
		answerType         string
		answers, additions int
	}{
		"srv with additional A records": {digSRV, "NOERROR", "UDP", false, false, 827, "SRV", 3, 3},
		"nxdomain":                      {digNXDOMAIN, "NXDOMAIN", "UDP", false, false, 205, "", 0, 0},
		"two PTRs, tab separated":       {digPTR, "NOERROR", "UDP", false, false, 172, "PTR", 2, 0},
		"truncated plain UDP":           {digTruncated, "NOERROR", "UDP", true, false, 502, "A", 3, 0},
		"truncated then TCP":            {digRetriedTCP, "NOERROR", "TCP", false, true, 2110, "A", 2, 0},
		"no server answered":            {digTimeout, "TIMEOUT", "", false, false, 0, "", 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := ParseDig("q", tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tc.rcode || r.Protocol != tc.proto || r.Truncated() != tc.tc || r.RetriedTCP != tc.retried || r.MsgSize != tc.size {
				t.Fatalf("got rcode %s proto %q tc %v retried %v size %d; want %s %q %v %v %d",
					r.Rcode, r.Protocol, r.Truncated(), r.RetriedTCP, r.MsgSize, tc.rcode, tc.proto, tc.tc, tc.retried, tc.size)
			}
			if len(r.Answer) != tc.answers || len(r.Additional) != tc.additions {
				t.Fatalf("got %d answers, %d additional; want %d, %d", len(r.Answer), len(r.Additional), tc.answers, tc.additions)
			}
			if tc.answers > 0 && len(r.Data(tc.answerType)) != tc.answers {
				t.Fatalf("Data(%s) = %v", tc.answerType, r.Data(tc.answerType))
			}
		})
	}
}

func TestParseDigRecordFields(t *testing.T) {
	r, err := ParseDig("q", digPTR)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Name: "10.1.244.10.in-addr.arpa.", TTL: 30, Type: "PTR", Data: "hello-kubernetes-2.headless-demo.ns1.svc.cluster.local."}
	if r.Answer[0] != want {
		t.Fatalf("first record %+v, want %+v", r.Answer[0], want)
	}
}

func TestParseDigRejectsInconsistentOutput(t *testing.T) {
	// The header's count guards the parser: a record it skipped is an error, not a shorter set.
	broken := strings.Replace(digTruncated, "ANSWER: 3", "ANSWER: 4", 1)
	if _, err := ParseDig("q", broken); err == nil {
		t.Fatal("want an error when the header's answer count and the records disagree")
	}
	if _, err := ParseDig("q", "garbage\n"); err == nil {
		t.Fatal("want an error without a response header")
	}
}

func TestWantRecords(t *testing.T) {
	r, _ := ParseDig("q", digTruncated)
	untruncated := r
	untruncated.Flags = []string{"qr", "aa", "rd"}
	ptr, _ := ParseDig("q", digPTR)
	nx, _ := ParseDig("q", digNXDOMAIN)
	for name, tc := range map[string]struct {
		r    DigResult
		want func(DigResult) error
		ok   bool
	}{
		"exact set, any order":          {untruncated, WantRecords("A", "10.244.1.20", "10.244.1.28", "10.244.2.21"), true},
		"one missing":                   {untruncated, WantRecords("A", "10.244.1.20", "10.244.1.28"), false},
		"one extra":                     {untruncated, WantRecords("A", "10.244.1.20", "10.244.1.28", "10.244.2.21", "10.244.9.9"), false},
		"truncated is never exact":      {r, WantRecords("A", "10.244.1.20", "10.244.1.28", "10.244.2.21"), false},
		"case-insensitive names":        {ptr, WantRecords("PTR", "HELLO-kubernetes-2.headless-demo.ns1.svc.cluster.local.", "10-244-1-10.hello-clusterip.ns1.svc.cluster.local."), true},
		"a second PTR fails one wanted": {ptr, WantRecords("PTR", "hello-kubernetes-2.headless-demo.ns1.svc.cluster.local."), false},
		"nxdomain is not a record set":  {nx, WantRecords("A"), false},
		"nxdomain wanted":               {nx, WantRcode("NXDOMAIN"), true},
		"answer is not nxdomain":        {untruncated, WantRcode("NXDOMAIN"), false},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.want(tc.r); (err == nil) != tc.ok {
				t.Fatalf("check returned %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCheckSRV(t *testing.T) {
	lines := []string{
		"0 33 8080 hello-kubernetes-1.headless-demo.ns1.svc.cluster.local.",
		"0 33 8080 hello-kubernetes-0.headless-demo.ns1.svc.cluster.local.",
	}
	targets := []string{"hello-kubernetes-0.headless-demo.ns1.svc.cluster.local.", "hello-kubernetes-1.headless-demo.ns1.svc.cluster.local."}
	recs, err := CheckSRV(lines, targets, 8080)
	if err != nil || len(recs) != 2 || recs[0].Weight != 33 || recs[0].Port != 8080 {
		t.Fatalf("CheckSRV = %v, %v", recs, err)
	}
	if _, err := CheckSRV(lines, targets, 80); err == nil {
		t.Fatal("want an error on the wrong port")
	}
	if _, err := CheckSRV(append(lines, lines[0]), targets, 8080); err == nil {
		t.Fatal("want an error on a duplicated record")
	}
	if _, err := CheckSRV(lines[:1], targets, 8080); err == nil {
		t.Fatal("want an error on a missing record")
	}
	for _, bad := range []string{"0 33 hello.", "0 33 99999 hello.", "a b c d"} {
		if _, err := ParseSRV(bad); err == nil {
			t.Fatalf("ParseSRV(%q): want an error", bad)
		}
	}
}

func TestResolverCandidates(t *testing.T) {
	rc := ParseResolvConf("search ns2.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
	if rc.Ndots != 5 || len(rc.Search) != 3 {
		t.Fatalf("ParseResolvConf = %+v", rc)
	}
	for name, want := range map[string][]string{
		"hello-kubernetes-0.headless-demo": {
			"hello-kubernetes-0.headless-demo.ns2.svc.cluster.local.", "hello-kubernetes-0.headless-demo.svc.cluster.local.",
			"hello-kubernetes-0.headless-demo.cluster.local.", "hello-kubernetes-0.headless-demo.",
		},
		"a.b.c.d.e.f": {"a.b.c.d.e.f.", "a.b.c.d.e.f.ns2.svc.cluster.local.", "a.b.c.d.e.f.svc.cluster.local.", "a.b.c.d.e.f.cluster.local."},
		"x.y.":        {"x.y."},
	} {
		if got := rc.Candidates(name); !slices.Equal(got, want) {
			t.Errorf("Candidates(%q) = %v, want %v", name, got, want)
		}
	}
	if ParseResolvConf("nameserver 10.96.0.10\n").Ndots != 1 {
		t.Error("ndots defaults to 1")
	}
}

func TestCheckWalk(t *testing.T) {
	nx, _ := ParseDig("q", digNXDOMAIN)
	nx.Name = "a.ns2.svc.cluster.local."
	hit, _ := ParseDig("q", digRetriedTCP)
	hit.Name = "a.svc.cluster.local."
	walk := []DigResult{nx, hit}
	ok := []WalkStep{{"a.ns2.svc.cluster.local.", WantRcode("NXDOMAIN")}, {"a.svc.cluster.local.", WantRecords("A", "10.244.2.35", "10.244.1.35")}}
	if err := CheckWalk(walk, ok); err != nil {
		t.Fatal(err)
	}
	if err := CheckWalk(walk[:1], ok); err == nil {
		t.Fatal("want an error for a walk that stopped early")
	}
	wrongName := []WalkStep{ok[0], {"a.cluster.local.", ok[1].Check}}
	if err := CheckWalk(walk, wrongName); err == nil {
		t.Fatal("want an error when a step asked another name")
	}
}

func TestUDPFit(t *testing.T) {
	// Observed: a 52-character Service name fits 27 A records (502 bytes) in 512.
	name := "headless-demo.scratch-contract-dev.svc.cluster.local."
	if got := UDPFit(name, 512); got != 27 {
		t.Fatalf("UDPFit = %d, want 27", got)
	}
	if size := 12 + len(name) + 1 + 4 + 27*16; size != 502 {
		t.Fatalf("the formula's message size is %d, the observed one 502", size)
	}
}

func TestParseCurlReplies(t *testing.T) {
	out := `{"pod":"hello-kubernetes-1","namespace":"ns1","node":"kind-worker2","ip":"10.244.2.7"}

URL=http://10.244.2.7:8080/?format=json CODE=200

URL=http://10.244.1.99:8080/?format=json CODE=000
{"pod":"hello-kubernetes-2","namespace":"ns1","node":"kind-worker","ip":"10.244.1.10"}

URL=http://hello-clusterip/?format=json CODE=200
`
	got, err := ParseCurlReplies(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Reply{
		{URL: "http://10.244.2.7:8080/?format=json", Code: 200, Pod: "hello-kubernetes-1", IP: "10.244.2.7"},
		{URL: "http://10.244.1.99:8080/?format=json", Code: 0},
		{URL: "http://hello-clusterip/?format=json", Code: 200, Pod: "hello-kubernetes-2", IP: "10.244.1.10"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ParseCurlReplies =\n%+v\nwant\n%+v", got, want)
	}
	if got[2].Host() != "hello-clusterip" || got[0].Host() != "10.244.2.7" {
		t.Fatalf("Host() = %q, %q", got[2].Host(), got[0].Host())
	}
	if _, err := ParseCurlReplies("<html>oops</html>\nURL=http://x/ CODE=200\n"); err == nil {
		t.Fatal("want an error for a body that is not the hello server's identity")
	}
}

func replyFrom(ip, pod string) Reply {
	return Reply{URL: fmt.Sprintf("http://%s:8080/?format=json", ip), Code: 200, Pod: pod, IP: ip}
}

func TestCheckEvenSpread(t *testing.T) {
	byIP := map[string]string{"10.0.0.1": "p0", "10.0.0.2": "p1", "10.0.0.3": "p2"}
	ips := slices.Sorted(maps.Keys(byIP))
	urls := RoundRobinURLs(ips, 6, 8080, "/?format=json")
	if urls[0] != urls[3] || urls[0] == urls[1] || urls[5] != "http://10.0.0.3:8080/?format=json" {
		t.Fatalf("RoundRobinURLs = %v", urls)
	}
	var even []Reply
	for i := range 6 {
		ip := ips[i%3]
		even = append(even, replyFrom(ip, byIP[ip]))
	}
	if err := CheckEvenSpread(even, byIP); err != nil {
		t.Fatal(err)
	}
	skewed := slices.Clone(even)
	skewed[0] = replyFrom("10.0.0.2", "p1")
	if err := CheckEvenSpread(skewed, byIP); err == nil {
		t.Fatal("want an error when a pod served more than its share")
	}
	impostor := slices.Clone(even)
	impostor[0].Pod = "p1" // answered from 10.0.0.1 but claims to be p1
	if err := CheckEvenSpread(impostor, byIP); err == nil {
		t.Fatal("want an error when an IP is answered by another pod")
	}
	failed := slices.Clone(even)
	failed[4].Code = 0
	if err := CheckEvenSpread(failed, byIP); err == nil {
		t.Fatal("want an error for a failed request")
	}
	if err := CheckEvenSpread(even[:5], byIP); err == nil {
		t.Fatal("want an error when the count cannot be split evenly")
	}
}

func TestCheckServedBy(t *testing.T) {
	replies := []Reply{replyFrom("10.96.1.1", "p0"), replyFrom("10.96.1.1", "p0"), replyFrom("10.96.1.1", "p2")}
	if err := CheckServedBy(replies, []string{"p0", "p1", "p2"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckServedBy(replies, []string{"p0", "p1"}); err == nil {
		t.Fatal("want an error for a reply from a pod outside the set")
	}
	table := FormatTally("kube-proxy", Tally(replies), []string{"p2", "p1", "p0"})
	want := "kube-proxy (3 requests)\n  p0                     2 ##\n  p1                     0 \n  p2                     1 #\n"
	if table != want {
		t.Fatalf("FormatTally =\n%q\nwant\n%q", table, want)
	}
}
