package course

import (
	"strings"
	"testing"
	"time"

	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

func TestJudgeCacheWindow(t *testing.T) {
	t0 := time.Unix(5000, 0)
	const name = "hello-kubernetes-0.headless-demo.ns.svc.cluster.local."
	ans := func(s float64, rcode string, ips ...string) QueryLog {
		return QueryLog{At: t0.Add(time.Duration(s * float64(time.Second))), Answer: answer(name, rcode, ips...)}
	}
	replaced := func(b dnsprofile.Bounds) CacheWindowInput {
		return CacheWindowInput{Name: name, Old: "10.244.1.5", Want: dns.Exactly("A", "10.244.2.9"), Changed: t0, Bounds: b}
	}
	cache30, nodelocal, kubeadm := dnsprofile.Documented(dnsprofile.Cache30), dnsprofile.Documented(dnsprofile.NodeLocal), dnsprofile.Documented(dnsprofile.Kubeadm)
	// Two CoreDNS replicas caching on their own: old and new alternate until the old entry expires.
	alternating := []QueryLog{ans(-1, "NOERROR", "10.244.1.5"), ans(1, "NOERROR", "10.244.1.5"), ans(2, "NOERROR", "10.244.2.9"),
		ans(20, "NOERROR", "10.244.1.5"), ans(21, "NOERROR", "10.244.2.9"), ans(33, "NOERROR", "10.244.2.9"), ans(34, "NOERROR", "10.244.2.9")}
	f, err := JudgeCacheWindow(alternating, replaced(cache30))
	if err != nil || f.LastOld != 20 || f.Old != 2 || f.Fresh != 1 || f.After != 2 || !strings.Contains(f.String(), "old IP until +20.0s, alternating: 2 of 3 answers old") {
		t.Fatalf("cache30, old until +20s: %+v (%s), %v", f, f, err)
	}
	for _, tc := range []struct {
		name string
		log  []QueryLog
		in   CacheWindowInput
		want string
	}{
		{"the same answers held to kubeadm's bound (no cache)", alternating, replaced(kubeadm),
			"kubeadm: " + name + " answered the old IP 10.244.1.5 at +20.0s after the change, past the kubeadm success bound 0s (+2s)"},
		{"an old IP past 30 s on cache30", append(alternating, ans(33.5, "NOERROR", "10.244.1.5")), replaced(cache30),
			"answered the old IP 10.244.1.5 at +33.5s after the change, past the cache30 success bound 30s (+2s): kubeadm 1.31 Corefile"},
		{"NXDOMAIN past the node cache's 5 s", []QueryLog{ans(4, "NXDOMAIN"), ans(8, "NXDOMAIN"), ans(40, "NOERROR", "10.244.2.9")}, replaced(nodelocal),
			"answered NXDOMAIN at +8.0s after the change, past the nodelocal denial bound 5s (+2s)"},
		{"a wrong answer after the bounds", []QueryLog{ans(33, "NOERROR", "10.244.2.9", "10.244.3.3")}, replaced(cache30), "past the bounds"},
		{"nothing after the bounds", []QueryLog{ans(3, "NOERROR", "10.244.2.9")}, replaced(cache30), "the window ended too soon to judge"},
	} {
		if _, err := JudgeCacheWindow(tc.log, tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// A new pod's name: NXDOMAIN for up to the node cache's 5 s is within nodelocal's bound.
	scaled := CacheWindowInput{Name: name, Want: dns.Exactly("A", "10.244.2.9"), Changed: t0, Bounds: nodelocal}
	if f, err := JudgeCacheWindow([]QueryLog{ans(-3, "NXDOMAIN"), ans(4.5, "NXDOMAIN"), ans(5, "NOERROR", "10.244.2.9"), ans(33, "NOERROR", "10.244.2.9")}, scaled); err != nil || f.LastNX != 4.5 {
		t.Fatalf("nodelocal, NXDOMAIN until +4.5s: %+v, %v", f, err)
	}
}
