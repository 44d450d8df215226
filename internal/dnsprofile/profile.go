// Package dnsprofile is the cluster DNS setups users run, each with the cache bounds its own
// configuration documents: how long a client may be told a replaced pod's old IP, or NXDOMAIN
// for a pod that now exists. `DNS_PROFILE` picks one for a cluster this project creates
// (Apply), and Detect reads which one a running cluster has, so the suite holds the answers to
// that cluster's bounds instead of to "at once".
//
// The profiles:
//   - kubeadm (default): kubeadm 1.32+'s Corefile, as kind writes it: `cache 30` with
//     `disable success cluster.local` and `disable denial cluster.local` (kubernetes PR
//     #128359, CHANGELOG-1.32): CoreDNS caches nothing of the cluster zone.
//   - cache30: kubeadm 1.31's Corefile (cmd/kubeadm/app/phases/addons/dns, before #128359):
//     plain `cache 30` for every zone, the kubernetes plugin's `ttl 30`, 2 CoreDNS replicas,
//     each caching on its own (kubernetes#127259).
//   - nodelocal: NodeLocal DNSCache as the upstream addon configures it
//     (cluster/addons/dns/nodelocaldns/nodelocaldns.yaml): a DaemonSet on every node, listening
//     on a link-local address that kubelet's clusterDNS points at, caching the cluster zone
//     with `success 9984 30` and `denial 9984 5` in front of CoreDNS, which it asks over TCP
//     (`force_tcp`) through the kube-dns-upstream Service. The addon's own binary
//     (k8s-dns-node-cache, module k8s.io/dns) is not to be had here: the CoreDNS binary built
//     for the cluster runs the addon's Corefile instead. What differs: the link-local address
//     is put on each node once, at cluster creation, where the addon's
//     binary does it at start and removes it at exit (and on lo: this host's kernel has no
//     dummy driver); there are no NOTRACK rules (conntrack
//     tracks the UDP flows to the cache); and the cache does not also listen on the kube-dns
//     Service IP (kubelet's clusterDNS is the link-local address, the addon's documented
//     setup for kube-proxy in IPVS mode), so no iptables interception is needed.
package dnsprofile

import (
	"fmt"
	"strings"
	"time"
)

// Profile names a cluster DNS setup.
type Profile string

// The profiles DNS_PROFILE accepts.
const (
	Kubeadm   Profile = "kubeadm"
	Cache30   Profile = "cache30"
	NodeLocal Profile = "nodelocal"
)

// All lists the profiles, the default first.
var all = []Profile{Kubeadm, Cache30, NodeLocal}

// All returns the profiles, the default first.
func All() []Profile { return append([]Profile(nil), all...) }

// Parse reads DNS_PROFILE; "" is the default, kubeadm. Anything else is an error naming the
// profiles there are.
func Parse(s string) (Profile, error) {
	if s == "" {
		return Kubeadm, nil
	}
	for _, p := range all {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("DNS_PROFILE=%s is not a profile: use one of %s", s, strings.Trim(fmt.Sprint(all), "[]"))
}

// Bounds are how long caches in front of the cluster's DNS may keep an answer after its
// source changed, as the setup's configuration documents them.
type Bounds struct {
	Profile Profile
	// Success is how long an answer (a replaced pod's old IP, an unready pod's IP) may still
	// be served; Denial, a NXDOMAIN (a pod that exists now).
	Success, Denial time.Duration
	// Caches is how many caches answer one client on their own: the CoreDNS replicas, or its
	// node's cache. More than one, and a client's answers may alternate between old and new.
	Caches int
	// Shuffles is whether the server a client asks reorders every answer (CoreDNS's
	// loadbalance plugin, which runs before its cache, so cached answers are shuffled too). A
	// cache without it (NodeLocal DNSCache's addon Corefile) hands out one order until its entry
	// expires: clients that take the first address then all take the same one.
	Shuffles bool
	// Source says where the bounds are written, and Seen what Detect read them from.
	Source, Seen string
	// Why tells a learner, in a sentence or two, which cache holds answers and why it is there.
	Why string
}

// Max is the longer of the two bounds: what a wait for DNS to follow a change must allow on
// top of DNS's own delay.
func (b Bounds) Max() time.Duration { return max(b.Success, b.Denial) }

func (b Bounds) String() string {
	order := "answers shuffled"
	if !b.Shuffles {
		order = "one order per cached answer"
	}
	return fmt.Sprintf("%s: success %s, denial %s, %d cache(s) per client, %s (%s)", b.Profile, b.Success, b.Denial, b.Caches, order, b.Source)
}

// Documented are each profile's bounds, with where they are written.
func Documented(p Profile) Bounds {
	switch p {
	case Cache30:
		return Bounds{Profile: p, Success: 30 * time.Second, Denial: 30 * time.Second, Caches: 2, Shuffles: true,
			Source: "kubeadm 1.31 Corefile: `cache 30` caps success and denial at 30 s, `kubernetes ... { ttl 30 }` hands out TTL 30 and SOA minimum 30; 2 replicas",
			Why:    "CoreDNS caches every answer for up to 30 s (`cache 30`, and the kubernetes plugin's `ttl 30`), the cluster zone included, as kubeadm configured it up to 1.31 (and k3s and many managed clusters still do); each of its 2 replicas caches on its own, so answers can alternate between old and new. kubeadm 1.32 took the cluster zone out of the cache (kubernetes PR #128359)."}
	case NodeLocal:
		return Bounds{Profile: p, Success: 30 * time.Second, Denial: 5 * time.Second, Caches: 1, Shuffles: false,
			Source: "nodelocaldns.yaml: `cache { success 9984 30; denial 9984 5 }` for the cluster zone; one cache per node; CoreDNS behind it caches nothing (kubeadm 1.32+)",
			Why:    "NodeLocal DNSCache answers every pod on the node from its own cache, in front of CoreDNS: answers for up to 30 s, NXDOMAIN for up to 5 s (`cache { success 9984 30; denial 9984 5 }` in the upstream addon's Corefile), even where CoreDNS itself caches nothing of the cluster zone (kubeadm 1.32+)."}
	default:
		return Bounds{Profile: Kubeadm, Success: 0, Denial: 0, Caches: 2, Shuffles: true,
			Source: "kubeadm 1.32+ Corefile: `cache 30 { disable success cluster.local; disable denial cluster.local }` (kubernetes PR #128359)",
			Why:    "CoreDNS caches nothing of the cluster zone (kubeadm 1.32+: `disable success cluster.local`, `disable denial cluster.local`): every answer is read from the EndpointSlices as they are."}
	}
}

// Unknown is what a Corefile Detect cannot classify is held to: the longest cache a common
// Corefile sets (`cache 30`), for success and denial.
func Unknown(seen string) Bounds {
	return Bounds{Profile: "unknown", Success: 30 * time.Second, Denial: 30 * time.Second, Caches: 2, Shuffles: false,
		Source: "not a known setup: held to `cache 30`, the longest of the common Corefiles", Seen: seen,
		Why: "this cluster's DNS setup is not one this project knows (" + seen + "): it is held to 30 s, the cache most Corefiles set."}
}
