package framework

import (
	"slices"
	"testing"
)

// Outputs as BIND 9.18's nslookup prints them in the client image.
const (
	serviceAnswer = `Server:		10.96.0.10
Address:	10.96.0.10#53

Name:	headless-demo.default.svc.cluster.local
Address: 10.244.2.6
Name:	headless-demo.default.svc.cluster.local
Address: 10.244.0.7
Name:	headless-demo.default.svc.cluster.local
Address: 10.244.1.6

`
	nxdomain = `Server:		10.96.0.10
Address:	10.96.0.10#53

** server can't find hello-kubernetes-9.headless-demo: NXDOMAIN

`
	noAddress = `Server:		10.96.0.10
Address:	10.96.0.10#53

*** Can't find headless-demo.default.svc.cluster.local: No answer

`
)

func TestParseNslookup(t *testing.T) {
	for name, tc := range map[string]struct {
		out       string
		wantRcode string
		wantIPs   []string
	}{
		"three addresses":     {serviceAnswer, "NOERROR", []string{"10.244.0.7", "10.244.1.6", "10.244.2.6"}},
		"nxdomain":            {nxdomain, "NXDOMAIN", nil},
		"no address record":   {noAddress, "NODATA", nil},
		"server not answered": {";; connection timed out; no servers could be reached\n", "TIMEOUT", nil},
		"servfail":            {"** server can't find x: SERVFAIL\n", "SERVFAIL", nil},
	} {
		t.Run(name, func(t *testing.T) {
			a := ParseNslookup("q", tc.out)
			ips := slices.Sorted(slices.Values(a.IPs))
			if a.Rcode != tc.wantRcode || !slices.Equal(ips, tc.wantIPs) {
				t.Fatalf("ParseNslookup = %s %v, want %s %v", a.Rcode, ips, tc.wantRcode, tc.wantIPs)
			}
		})
	}
}

func TestParseNslookupIgnoresTheResolverAddress(t *testing.T) {
	a := ParseNslookup("q", serviceAnswer)
	if slices.Contains(a.IPs, "10.96.0.10") {
		t.Fatalf("the resolver's own address was taken for an answer: %v", a.IPs)
	}
	if len(a.Names) != 3 || a.Names[0] != "headless-demo.default.svc.cluster.local" {
		t.Fatalf("Names = %v", a.Names)
	}
}

func TestClusterZone(t *testing.T) {
	conf := "search e2e-x.svc.example.internal svc.example.internal example.internal\nnameserver 10.96.0.10\noptions ndots:5\n"
	zone, err := ClusterZone(conf, "e2e-x")
	if err != nil || zone != "example.internal" {
		t.Fatalf("ClusterZone = %q, %v; want example.internal", zone, err)
	}
	if _, err := ClusterZone("nameserver 10.96.0.10\n", "e2e-x"); err == nil {
		t.Fatal("want an error without a search list")
	}
}
