package headless

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

func ptr[T any](v T) *T { return &v }

var threePods = []PodAddr{{Name: "web-0", IP: "10.244.1.2", Node: "w1"}, {Name: "web-1", IP: "10.244.2.3", Node: "w2"}, {Name: "web-2", IP: "10.244.1.4", Node: "w1"}}

func endpoint(p PodAddr, ready, terminating bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{p.IP}, Hostname: ptr(p.Name), NodeName: ptr(p.Node),
		Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready), Terminating: ptr(terminating)}}
}

func slice(name string, port int32, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: eps, Ports: []discoveryv1.EndpointPort{{Port: ptr(port)}}}
}

// "Publishes exactly": the slices together list every pod once, ready, with its hostname,
// node and port, and nothing else; a terminating endpoint is on its way out and not counted.
func TestCheckEndpointSlicesPublishesExactly(t *testing.T) {
	p0, p1, p2 := threePods[0], threePods[1], threePods[2]
	ok := []discoveryv1.EndpointSlice{slice("a", 8080, endpoint(p0, true, false), endpoint(p1, true, false)), slice("b", 8080, endpoint(p2, true, false))}
	if err := CheckEndpointSlices(ok, threePods, 8080); err != nil {
		t.Fatalf("three pods over two slices: %v", err)
	}
	leaving := append(ok, slice("c", 8080, endpoint(PodAddr{Name: "web-9", IP: "10.244.9.9", Node: "w1"}, false, true)))
	if err := CheckEndpointSlices(leaving, threePods, 8080); err != nil {
		t.Fatalf("a terminating, unready endpoint is not published: %v", err)
	}
	moved := p1
	moved.Node = "w1"
	for _, tc := range []struct {
		name   string
		slices []discoveryv1.EndpointSlice
		want   string
	}{
		{"a pod missing", []discoveryv1.EndpointSlice{slice("a", 8080, endpoint(p0, true, false), endpoint(p1, true, false))},
			"EndpointSlices list web-0=10.244.1.2:8080@w1 web-1=10.244.2.3:8080@w2; want exactly web-0=10.244.1.2:8080@w1 web-1=10.244.2.3:8080@w2 web-2=10.244.1.4:8080@w1"},
		{"an extra endpoint", append(ok, slice("x", 8080, endpoint(PodAddr{Name: "web-3", IP: "10.244.2.9", Node: "w2"}, true, false))), "web-3=10.244.2.9:8080@w2; want exactly"},
		{"a pod listed twice", append(ok, slice("dup", 8080, endpoint(p2, true, false))), "web-2=10.244.1.4:8080@w1 web-2=10.244.1.4:8080@w1; want exactly"},
		{"the wrong port", []discoveryv1.EndpointSlice{slice("a", 80, endpoint(p0, true, false), endpoint(p1, true, false), endpoint(p2, true, false))}, "web-0=10.244.1.2:80@w1"},
		{"the wrong node", []discoveryv1.EndpointSlice{slice("a", 8080, endpoint(p0, true, false), endpoint(moved, true, false), endpoint(p2, true, false))}, "web-1=10.244.2.3:8080@w1"},
		{"a pod not ready", []discoveryv1.EndpointSlice{slice("a", 8080, endpoint(p0, true, false), endpoint(p1, false, false), endpoint(p2, true, false))}, "EndpointSlice a lists endpoint [10.244.2.3] not ready"},
		{"nothing at all", nil, "EndpointSlices list no ready address; want web-0=10.244.1.2:8080@w1"},
	} {
		if err := CheckEndpointSlices(tc.slices, threePods, 8080); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckEndpointsPublishesExactly(t *testing.T) {
	addr := func(p PodAddr) corev1.EndpointAddress {
		return corev1.EndpointAddress{IP: p.IP, Hostname: p.Name, NodeName: ptr(p.Node)}
	}
	ep := func(ready []corev1.EndpointAddress, notReady ...corev1.EndpointAddress) *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{{
			Addresses: ready, NotReadyAddresses: notReady, Ports: []corev1.EndpointPort{{Port: 8080}}}}}
	}
	all := []corev1.EndpointAddress{addr(threePods[0]), addr(threePods[1]), addr(threePods[2])}
	if err := CheckEndpoints(ep(all), threePods, 8080); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ep   *corev1.Endpoints
		want string
	}{
		{"a pod missing", ep(all[:2]), "Endpoints web list web-0=10.244.1.2:8080@w1 web-1=10.244.2.3:8080@w2; want exactly"},
		{"a not-ready address", ep(all, addr(PodAddr{Name: "web-3", IP: "10.244.2.9"})), "Endpoints web list not-ready addresses"},
		{"no subsets", &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, "Endpoints web list no ready address"},
	} {
		if err := CheckEndpoints(tc.ep, threePods, 8080); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func answer(name, rcode string, ips ...string) dns.Answer {
	a := dns.Answer{Name: name, Rcode: rcode, Query: dns.Query{Name: name}}
	for _, ip := range ips {
		a.Records = append(a.Records, dns.Record{Name: name, Type: "A", Data: ip})
	}
	return a
}

// A search walk passes only when the resolver asked exactly the steps' names, in order, and
// each answer passed its step.
func TestWalkJudge(t *testing.T) {
	w := Walk{{Name: "web.ns.svc.cluster.local.", Want: dns.Status("NXDOMAIN")}, {Name: "web.svc.cluster.local.", Want: dns.Exactly("A", "10.0.0.1")}}
	good := dns.Answer{Walk: []dns.Answer{answer("web.ns.svc.cluster.local.", "NXDOMAIN"), answer("WEB.svc.cluster.local.", "NOERROR", "10.0.0.1")}}
	if err := w.Judge(good); err != nil {
		t.Fatalf("the walk as wanted (names compared without case): %v", err)
	}
	for _, tc := range []struct {
		name string
		a    dns.Answer
		want string
	}{
		{"a step short", dns.Answer{Walk: good.Walk[:1]}, "the resolver's walk took 1 steps, want 2"},
		{"another order", dns.Answer{Walk: []dns.Answer{good.Walk[1], good.Walk[0]}}, "step 1 asked WEB.svc.cluster.local., want web.ns.svc.cluster.local."},
		{"a wrong answer", dns.Answer{Walk: []dns.Answer{good.Walk[0], answer("web.svc.cluster.local.", "NOERROR", "10.0.0.2")}}, "step 2: "},
	} {
		if err := w.Judge(tc.a); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// fakeProbe answers every dns.Ask with the same answer, as the client pod's probe prints it.
type fakeProbe struct{ a dns.Answer }

func (f fakeProbe) Exec(_ context.Context, _, _ string, _ []string) (string, string, error) {
	out, err := json.Marshal(f.a)
	return string(out), "", err
}

// AwaitDNS asks the diagnosis once, and only after answers have been wrong for DiagnoseAfter:
// a cause waiting cannot heal (a poll.Stop) ends the wait at once, with the cause and the
// answers; any other cause is reported in the timeout's message.
func TestAwaitDNSDiagnosesOnceAfterDiagnoseAfter(t *testing.T) {
	from := From{Exec: fakeProbe{answer("web.ns.svc.cluster.local.", "NXDOMAIN")}, Namespace: "ns", Pod: "client"}
	check := []DNSCheck{{Query: dns.Query{Name: "web.ns.svc.cluster.local."}, Want: dns.Exactly("A", "10.0.0.1")}}

	var asked atomic.Int32
	var askedAt time.Duration
	start := time.Now()
	_, took, err := AwaitDNS(context.Background(), AwaitDNSInput{From: from, Checks: check, Timeout: 10 * time.Second, DiagnoseAfter: 300 * time.Millisecond,
		Diagnose: func(context.Context) error {
			asked.Add(1)
			askedAt = time.Since(start)
			return poll.Stop(errors.New("cause: Service ns/web does not exist"))
		}})
	if err == nil || !strings.Contains(err.Error(), "cause: Service ns/web does not exist") || !strings.Contains(err.Error(), "while waiting, DNS answered:") {
		t.Fatalf("err %v: want the cause and the answers", err)
	}
	if asked.Load() != 1 || askedAt < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("diagnosed %d times, at %s, the wait took %s: want once, after 300ms, ending at once", asked.Load(), askedAt, took)
	}

	asked.Store(0)
	_, _, err = AwaitDNS(context.Background(), AwaitDNSInput{From: from, Checks: check, Timeout: time.Second, DiagnoseAfter: 200 * time.Millisecond,
		Diagnose: func(context.Context) error {
			asked.Add(1)
			return errors.New("cause: no ready endpoint")
		}})
	if err == nil || !strings.Contains(err.Error(), "not done after 1s") || !strings.Contains(err.Error(), "diagnosis: cause: no ready endpoint") || asked.Load() != 1 {
		t.Fatalf("err %v, diagnosed %d times: want a timeout naming the diagnosis, asked once", err, asked.Load())
	}
}

// Dual-stack: one slice per address type, each exactly the pods' addresses of that family; a
// Service that publishes one family (SingleStack) fails the check for both, naming the type.
func TestCheckEndpointSlicesPerFamily(t *testing.T) {
	dual := []PodAddr{{Name: "web-0", IP: "10.244.1.2", IPs: []string{"10.244.1.2", "fd00:10:244:1::2"}, Node: "w1"}, {Name: "web-1", IP: "10.244.2.3", IPs: []string{"10.244.2.3", "fd00:10:244:2::3"}, Node: "w2"}}
	v6 := func(p PodAddr) discoveryv1.Endpoint {
		e := endpoint(p, true, false)
		e.Addresses = []string{p.IPOf(corev1.IPv6Protocol)}
		return e
	}
	ipv4 := slice("a", 8080, endpoint(dual[0], true, false), endpoint(dual[1], true, false))
	ipv6 := slice("b", 8080, v6(dual[0]), v6(dual[1]))
	ipv6.AddressType = discoveryv1.AddressTypeIPv6
	both := []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	if err := CheckEndpointSlices([]discoveryv1.EndpointSlice{ipv4, ipv6}, dual, 8080, both...); err != nil {
		t.Fatalf("both families: %v", err)
	}
	if err := CheckEndpointSlices([]discoveryv1.EndpointSlice{ipv6}, dual, 8080, corev1.IPv6Protocol); err != nil {
		t.Fatalf("IPv6 alone: %v", err)
	}
	err := CheckEndpointSlices([]discoveryv1.EndpointSlice{ipv4}, dual, 8080, both...)
	if want := "want exactly web-0=10.244.1.2:8080@w1 web-0=[fd00:10:244:1::2]:8080@w1"; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "no EndpointSlice has address type IPv6") {
		t.Errorf("IPv4 slice only: got %v, want an error containing %q and naming the missing address type", err, want)
	}
	if err := CheckEndpointSlices([]discoveryv1.EndpointSlice{ipv4, ipv6}, dual, 8080, corev1.IPv4Protocol); err == nil || !strings.Contains(err.Error(), "[fd00:10:244:2::3]:8080") {
		t.Errorf("an IPv6 slice where IPv4 alone is asked: got %v, want the unexpected IPv6 endpoints named", err)
	}
}

func TestFamilies(t *testing.T) {
	pods := []PodAddr{{Name: "web-1", IP: "fd00::9", IPs: []string{"fd00::9", "10.0.0.9"}}, {Name: "web-0", IP: "10.0.0.1"}}
	if got := IPsOf(pods, corev1.IPv4Protocol); strings.Join(got, " ") != "10.0.0.1 10.0.0.9" {
		t.Errorf("IPsOf IPv4 = %v", got)
	}
	if got := IPsOf(pods, corev1.IPv6Protocol); strings.Join(got, " ") != "fd00::9" {
		t.Errorf("IPsOf IPv6 = %v", got)
	}
	checks := AddressChecks(dns.Query{Name: "web."}, []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}, pods...)
	if len(checks) != 2 || checks[0].Query.Type != "AAAA" || checks[1].Query.Type != "A" {
		t.Fatalf("AddressChecks = %+v, want an AAAA then an A check", checks)
	}
	answer := dns.Answer{Name: "web.", Rcode: "NOERROR", Records: []dns.Record{{Type: "AAAA", Data: "fd00::9"}}}
	if err := checks[0].Want(answer); err != nil {
		t.Errorf("AAAA check: %v", err)
	}
	if err := checks[1].Want(answer); err == nil {
		t.Errorf("the A check passed an answer with no A record")
	}
	if FamilyOf("2001:db8::1") != corev1.IPv6Protocol || FamilyOf("192.0.2.1") != corev1.IPv4Protocol || FamilyOf("x") != "" {
		t.Errorf("FamilyOf")
	}
}
