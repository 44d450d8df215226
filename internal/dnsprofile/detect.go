package dnsprofile

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Detect reads which DNS setup a running cluster has: CoreDNS's Corefile (kube-system/coredns),
// its replicas, and whether NodeLocal DNSCache runs (DaemonSet kube-system/node-local-dns),
// and returns the bounds that follow for names in zone. A known setup gets its documented
// bounds; another that parses gets the bounds its Corefile sets (Profile "custom"); one that
// does not, Unknown. Seen always says what was read.
func Detect(ctx context.Context, client kubernetes.Interface, zone string) (Bounds, error) {
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, coreDNSDeployment, metav1.GetOptions{})
	if err != nil {
		return Bounds{}, fmt.Errorf("reading CoreDNS's Corefile (kube-system/coredns): %w", err)
	}
	replicas := 1
	if d, err := client.AppsV1().Deployments("kube-system").Get(ctx, coreDNSDeployment, metav1.GetOptions{}); err == nil && d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	nodeLocal, err := nodeLocalCorefile(ctx, client)
	if err != nil {
		return Bounds{}, err
	}
	return classify(cm.Data["Corefile"], nodeLocal, zone, replicas), nil
}

// classify is Detect's judgement of what it read.
func classify(corefile, nodeLocal, zone string, replicas int) Bounds {
	core, err := cacheBounds(corefile, zone, 0)
	if err != nil {
		return Unknown(fmt.Sprintf("CoreDNS's Corefile: %v", err))
	}
	seen := fmt.Sprintf("CoreDNS (%d replicas): %s", replicas, core)
	if nodeLocal != "" {
		node, err := cacheBounds(nodeLocal, zone, core.ttl)
		if err != nil {
			return Unknown(fmt.Sprintf("%s; NodeLocal DNSCache's Corefile: %v", seen, err))
		}
		seen += "; NodeLocal DNSCache: " + node.String()
		if core.success == 0 && core.denial == 0 && node.success == 30*time.Second && node.denial == 5*time.Second && !node.loadbalance {
			b := Documented(NodeLocal)
			b.Seen = seen
			return b
		}
		// Caches in layers: each hands on what is left of the TTL, so success is bounded by the
		// longest; a NXDOMAIN can outlive CoreDNS's denial by the node cache's.
		return custom(Bounds{Profile: "custom", Success: max(core.success, node.success), Denial: core.denial + node.denial, Caches: 1, Shuffles: node.loadbalance,
			Source: "read from the Corefiles (CoreDNS and NodeLocal DNSCache)", Seen: seen})
	}
	b := custom(Bounds{Profile: "custom", Success: core.success, Denial: core.denial, Caches: replicas, Shuffles: core.loadbalance, Source: "read from CoreDNS's Corefile", Seen: seen})
	switch {
	case core.success == 0 && core.denial == 0 && core.loadbalance:
		b = Documented(Kubeadm)
	case core.success == 30*time.Second && core.denial == 30*time.Second && core.loadbalance:
		b = Documented(Cache30)
	}
	b.Caches, b.Seen = replicas, seen
	return b
}

// custom explains bounds read from a Corefile that is no known setup.
func custom(b Bounds) Bounds {
	b.Why = fmt.Sprintf("this cluster's DNS caches answers for up to %s and NXDOMAIN for up to %s, as its Corefile sets (%s).", b.Success, b.Denial, b.Seen)
	return b
}

// zoneCache is what one Corefile does to a zone's answers.
type zoneCache struct {
	success, denial time.Duration // how long the cache keeps them; 0: not cached
	ttl             time.Duration // the TTL the kubernetes plugin hands out (0: not served here)
	loadbalance     bool          // answers are shuffled (the loadbalance plugin)
	lines           []string      // the lines that set it
}

func (z zoneCache) String() string {
	return fmt.Sprintf("success %s, denial %s, loadbalance %v (%s)", z.success, z.denial, z.loadbalance, strings.Join(z.lines, "; "))
}

// cacheBounds reads the server block serving zone: the cache plugin's caps (`cache [TTL]`,
// `success CAP [TTL]`, `denial CAP [TTL]`, `disable success|denial ZONE`) and, when it serves
// the zone itself, the kubernetes plugin's `ttl` (its answers' TTL and its NXDOMAINs' SOA
// minimum; default 5 s). A block that forwards the zone holds answers for at most the TTL
// they come with, upstreamTTL. Defaults are the cache plugin's: 3600 s success, 1800 s denial.
func cacheBounds(corefile, zone string, upstreamTTL time.Duration) (zoneCache, error) {
	block, key, err := serverBlock(corefile, zone)
	if err != nil {
		return zoneCache{}, err
	}
	z := zoneCache{ttl: upstreamTTL, lines: []string{"server " + key}}
	cached := false
	successCap, denialCap := 3600*time.Second, 1800*time.Second
	for _, d := range block {
		switch d.name {
		case "loadbalance":
			z.loadbalance = true
		case "kubernetes":
			z.ttl = 5 * time.Second
			for _, sub := range d.block {
				if sub.name == "ttl" && len(sub.args) == 1 {
					n, err := strconv.Atoi(sub.args[0])
					if err != nil {
						return z, fmt.Errorf("kubernetes ttl %q", sub.args[0])
					}
					z.ttl = time.Duration(n) * time.Second
					z.lines = append(z.lines, "kubernetes ttl "+sub.args[0])
				}
			}
		case "cache":
			cached = true
			z.lines = append(z.lines, strings.TrimSpace("cache "+strings.Join(d.args, " ")))
			if len(d.args) > 0 {
				n, err := strconv.Atoi(d.args[0])
				if err != nil {
					return z, fmt.Errorf("cache %q", d.args[0])
				}
				successCap, denialCap = time.Duration(n)*time.Second, time.Duration(n)*time.Second
			}
			for _, sub := range d.block {
				z.lines = append(z.lines, sub.name+" "+strings.Join(sub.args, " "))
				switch {
				case (sub.name == "success" || sub.name == "denial") && len(sub.args) >= 2:
					n, err := strconv.Atoi(sub.args[1])
					if err != nil {
						return z, fmt.Errorf("cache %s %q", sub.name, sub.args[1])
					}
					if sub.name == "success" {
						successCap = time.Duration(n) * time.Second
					} else {
						denialCap = time.Duration(n) * time.Second
					}
				case sub.name == "disable" && len(sub.args) >= 1 && covers(sub.args[1:], zone):
					if sub.args[0] == "success" {
						successCap = 0
					} else if sub.args[0] == "denial" {
						denialCap = 0
					}
				}
			}
		}
	}
	if z.ttl == 0 {
		return z, fmt.Errorf("server %s neither serves %s (kubernetes plugin) nor is told its TTL", key, zone)
	}
	if cached {
		z.success, z.denial = min(successCap, z.ttl), min(denialCap, z.ttl)
	}
	return z, nil
}

// covers reports whether zones (none: all) include zone.
func covers(zones []string, zone string) bool {
	if len(zones) == 0 {
		return true
	}
	for _, z := range zones {
		z = strings.TrimSuffix(z, ".")
		if z == "" || z == zone || strings.HasSuffix(zone, "."+z) {
			return true
		}
	}
	return false
}

// directive is one Corefile line: a name, its arguments, and its block.
type directive struct {
	name  string
	args  []string
	block []directive
}

// serverBlock finds the server block whose keys cover zone most closely (cluster.local:53
// before .:53) and returns its directives and key.
func serverBlock(corefile, zone string) ([]directive, string, error) {
	top, err := parseCorefile(corefile)
	if err != nil {
		return nil, "", err
	}
	var best []directive
	bestKey, bestLen := "", -1
	for _, s := range top {
		for _, key := range append([]string{s.name}, s.args...) {
			z := strings.TrimSuffix(strings.SplitN(key, ":", 2)[0], ".")
			if (z == "" || z == zone || strings.HasSuffix(zone, "."+z)) && len(z) > bestLen {
				best, bestKey, bestLen = s.block, key, len(z)
			}
		}
	}
	if bestLen < 0 {
		return nil, "", fmt.Errorf("no server block serves %s", zone)
	}
	return best, bestKey, nil
}

// parseCorefile reads a Corefile into directives: one per line, `{` opening a block, `}`
// closing it; comments dropped.
func parseCorefile(text string) ([]directive, error) {
	var stack [][]directive
	cur := []directive{}
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "}" {
			if len(stack) == 0 {
				return nil, fmt.Errorf("an unmatched } in the Corefile")
			}
			parent := stack[len(stack)-1]
			parent[len(parent)-1].block = cur
			cur, stack = parent, stack[:len(stack)-1]
			continue
		}
		opens := f[len(f)-1] == "{"
		if opens {
			f = f[:len(f)-1]
		}
		if len(f) == 0 {
			return nil, fmt.Errorf("a { without a name in the Corefile")
		}
		cur = append(cur, directive{name: f[0], args: f[1:]})
		if opens {
			stack = append(stack, cur)
			cur = []directive{}
		}
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("an unclosed { in the Corefile")
	}
	return cur, nil
}
