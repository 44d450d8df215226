package cluster

import (
	"strings"
	"testing"
)

// kubeadm's Corefile for Kubernetes 1.37, as the cluster serves it.
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
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

func TestWithoutUpstream(t *testing.T) {
	got, err := withoutUpstream(kubeadmCorefile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "forward") || strings.Contains(got, "max_concurrent") {
		t.Fatalf("the upstream is still there:\n%s", got)
	}
	for _, keep := range []string{"kubernetes cluster.local", "cache 30 {", "disable denial cluster.local\n    }", "loadbalance"} {
		if !strings.Contains(got, keep) {
			t.Fatalf("lost %q:\n%s", keep, got)
		}
	}
	if _, err := withoutUpstream("forward . 8.8.8.8\n"); err == nil {
		t.Fatal("a Corefile without the expected forward must be reported, not silently kept")
	}
	oneLine, err := withoutUpstream(".:53 {\n    forward . /etc/resolv.conf\n    cache 30\n}\n")
	if err != nil || strings.Contains(oneLine, "forward") {
		t.Fatalf("one-line forward not removed: %v\n%s", err, oneLine)
	}
}
