package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"

	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// With OFFLINE=1 nothing a cluster does may leave this machine, and two paths get past the
// egress guard because they are not forwarded traffic: CoreDNS's upstream and containerd's
// registry lookups both ask the node's resolver, docker's embedded DNS, which relays to the
// host's nameserver. So an offline cluster gets no upstream DNS, and no registry: a pull
// fails at once ("connection refused") instead of after half a minute of DNS timeouts.

// registryConfigPath is where containerd reads per-registry hosts.toml files; the patch that
// sets it is applied at creation, the files are written into the nodes after (containerd reads
// them on every pull).
const registryConfigPath = "/etc/containerd/certs.d"

const offlineContainerdPatch = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "` + registryConfigPath + `"
`

// offlineHostsToml sends every registry without a directory of its own (_default: all of
// them) to a closed port on the node itself.
const offlineHostsToml = `# OFFLINE=1 (headless-e2e): no registry is reachable from this cluster. Images are
# preloaded in the node image or loaded with kind; any pull fails at once.
server = "http://127.0.0.1:1"
`

var upstreamForward = regexp.MustCompile(`(?m)^(\s*)forward \. /etc/resolv\.conf(?: \{[^}]*\})?\n`)

// withoutUpstream removes CoreDNS's forwarding of non-cluster names. Names outside the
// cluster zone then fail (SERVFAIL) at once, where online they would get the internet's
// answer, NXDOMAIN for the names a search path tries.
func withoutUpstream(corefile string) (string, error) {
	if !upstreamForward.MatchString(corefile) {
		return "", fmt.Errorf("the CoreDNS Corefile has no `forward . /etc/resolv.conf` to remove:\n%s", corefile)
	}
	return upstreamForward.ReplaceAllString(corefile, "${1}# OFFLINE=1 (headless-e2e): no upstream resolver, nothing leaves this machine\n"), nil
}

// makeOffline writes the registry configuration into every node and restarts CoreDNS without
// an upstream. It runs right after creation, before anything waits on CoreDNS.
func (c *Cluster) makeOffline(ctx context.Context) error {
	nodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := nodeutils.WriteFile(n, registryConfigPath+"/_default/hosts.toml", offlineHostsToml); err != nil {
			return fmt.Errorf("offline registry config on node %s: %w", n, err)
		}
	}
	cs, err := Clientset(c.Kubeconfig)
	if err != nil {
		return err
	}
	return dnsprofile.RewriteCorefile(ctx, cs, withoutUpstream)
}

// applyDNSProfile gives the new cluster's DNS the profile's setup; nodes are changed through
// docker exec, as kind changes them.
func (c *Cluster) applyDNSProfile(ctx context.Context, p dnsprofile.Profile) error {
	nodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return err
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.String())
	}
	cs, err := Clientset(c.Kubeconfig)
	if err != nil {
		return err
	}
	return dnsprofile.Apply(ctx, p, dnsprofile.ApplyInput{Client: cs, Nodes: names, Zone: "cluster.local",
		Exec: func(ctx context.Context, node string, cmd ...string) error {
			out, err := exec.CommandContext(ctx, "docker", append([]string{"exec", node}, cmd...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		}})
}
