package cluster

import (
	"strings"
	"testing"
)

// A report as `egress-guard.sh check` prints it on a host routing both families.
const guardUp = `egress guard: UP
  ipv4 iptables-nft -A DOCKER-USER -o eth0 -m comment --comment headless-e2e-egress-guard -j DROP
  ipv6 ip6tables-nft -A FORWARD -o eth0 -m comment --comment headless-e2e-egress-guard -j DROP
  route blackhole 10.244.0.0/16
  route blackhole 10.96.0.0/16
`

func TestJudgeEgressGuard(t *testing.T) {
	both, cidrs := []string{"ipv4", "ipv6"}, []string{PodSubnet, ServiceSubnet}
	if err := judgeEgressGuard(guardUp, both, cidrs); err != nil {
		t.Fatalf("a complete guard: %v", err)
	}
	for _, tc := range []struct {
		name, report string
		routed       []string
		want         string
	}{
		{"the IPv6 rule removed", strings.Replace(guardUp, "  ipv6 ip6tables-nft -A FORWARD -o eth0 -m comment --comment headless-e2e-egress-guard -j DROP\n", "", 1), both,
			"this host routes ipv6 off the machine, but no ipv6 drop rule that packets reach is listed"},
		{"the IPv6 rule not reached", strings.Replace(guardUp, "-j DROP\n  route", "-j DROP   (NOT reached: FORWARD does not lead to it first)\n  route", 1), both,
			"no ipv6 drop rule that packets reach"},
		{"a blackhole missing", strings.Replace(guardUp, "  route blackhole 10.96.0.0/16\n", "", 1), both, "no blackhole route for 10.96.0.0/16"},
		{"a prefix of a range is not the range", strings.Replace(guardUp, "10.244.0.0/16", "10.244.0.0/1", 1), both, "no blackhole route for 10.244.0.0/16"},
		{"down", "egress guard: DOWN (ipv6: no drop rule)\n", []string{"ipv4"}, "the report does not say UP; this host routes ipv4"},
	} {
		err := judgeEgressGuard(tc.report, tc.routed, cidrs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	// A host without IPv6 routes needs no IPv6 rule.
	v4only := strings.Replace(guardUp, "  ipv6 ip6tables-nft -A FORWARD -o eth0 -m comment --comment headless-e2e-egress-guard -j DROP\n", "  ipv6: no default route, nothing to guard\n", 1)
	if err := judgeEgressGuard(v4only, []string{"ipv4"}, cidrs); err != nil {
		t.Fatalf("IPv4-only host: %v", err)
	}
}
