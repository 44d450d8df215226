package dnsprofile

import (
	"strings"
	"testing"
	"time"
)

// kind's Corefile (kubeadm 1.32+), offline: no forward.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    # OFFLINE=1 (headless-e2e): no upstream resolver, nothing leaves this machine
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

func TestParse(t *testing.T) {
	for in, want := range map[string]Profile{"": Kubeadm, "kubeadm": Kubeadm, "cache30": Cache30, "nodelocal": NodeLocal} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Parse("cache5"); err == nil || !strings.Contains(err.Error(), "DNS_PROFILE=cache5 is not a profile: use one of kubeadm cache30 nodelocal") {
		t.Errorf("Parse(cache5): %v", err)
	}
}

// Each setup is recognised from what the cluster holds, and held to the bounds its
// configuration documents; what is not a known setup gets the bounds its Corefile sets, or,
// unreadable, the 30 s of Unknown, with what was seen.
func TestClassify(t *testing.T) {
	cache30, err := WithClusterCache(kubeadmCorefile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cache30, "    cache 30\n    loop") || strings.Contains(cache30, "disable") {
		t.Fatalf("kubeadm 1.31's cache is a plain `cache 30`:\n%s", cache30)
	}
	if _, err := WithClusterCache(cache30); err == nil {
		t.Fatal("a Corefile without the disable block must be an error, not left as it is")
	}
	k3s := strings.Replace(strings.Replace(cache30, "       ttl 30\n", "", 1), "# DNS_PROFILE", "# k3s", 1) // no ttl: 5 s
	for _, tc := range []struct {
		name, corefile, nodeLocal string
		replicas                  int
		want                      Profile
		success, denial           time.Duration
		caches                    int
		shuffles                  bool
		seen                      string
	}{
		{"kind (kubeadm 1.32+)", kubeadmCorefile, "", 2, Kubeadm, 0, 0, 2, true, "disable success cluster.local"},
		{"kubeadm 1.31", cache30, "", 2, Cache30, 30 * time.Second, 30 * time.Second, 2, true, "kubernetes ttl 30; cache 30"},
		{"NodeLocal DNSCache on kubeadm 1.32+", kubeadmCorefile, NodeLocalCorefile("cluster.local", "10.96.27.9"), 2, NodeLocal, 30 * time.Second, 5 * time.Second, 1, false, "success 9984 30"},
		{"NodeLocal DNSCache on kubeadm 1.31: layers", cache30, NodeLocalCorefile("cluster.local", "10.96.27.9"), 2, "custom", 30 * time.Second, 35 * time.Second, 1, false, "NodeLocal DNSCache"},
		{"k3s: cache 30, no ttl", k3s, "", 1, "custom", 5 * time.Second, 5 * time.Second, 1, true, "cache 30"},
		{"a broken Corefile", ".:53 {\n  cache 30\n", "", 2, "unknown", 30 * time.Second, 30 * time.Second, 2, false, "an unclosed {"},
		{"no kubernetes plugin", ".:53 {\n  forward . 192.0.2.53\n}\n", "", 2, "unknown", 30 * time.Second, 30 * time.Second, 2, false, "neither serves cluster.local"},
	} {
		b := classify(tc.corefile, tc.nodeLocal, "cluster.local", tc.replicas)
		if b.Profile != tc.want || b.Success != tc.success || b.Denial != tc.denial || b.Caches != tc.caches || b.Shuffles != tc.shuffles || !strings.Contains(b.Seen, tc.seen) {
			t.Errorf("%s: got %s, seen %q; want %s success %s denial %s, %d caches, seen containing %q", tc.name, b, b.Seen, tc.want, tc.success, tc.denial, tc.caches, tc.seen)
		}
	}
}
