package cluster

import (
	"testing"
)

func TestConfigIsTheCoursesCluster(t *testing.T) {
	c := Config(false, IPv4)
	if len(c.Nodes) != 3 || c.Nodes[0].Role != "control-plane" || c.Nodes[1].Role != "worker" || c.Nodes[2].Role != "worker" {
		t.Fatalf("nodes %+v, want 1 control-plane + 2 workers", c.Nodes)
	}
	for _, n := range c.Nodes {
		if len(n.ExtraPortMappings) != 0 {
			t.Fatalf("node %s maps host ports %+v", n.Role, n.ExtraPortMappings)
		}
		if n.Labels[CreatedByLabel] != CreatedBy { // Down deletes only clusters that carry it
			t.Fatalf("node %s has labels %v, want %s=%s", n.Role, n.Labels, CreatedByLabel, CreatedBy)
		}
	}
	if len(c.ContainerdConfigPatches) != 0 || len(Config(true, IPv4).ContainerdConfigPatches) != 1 {
		t.Fatal("only an offline cluster's containerd gets the registry patch")
	}
	if c.Networking.PodSubnet != PodSubnet || c.Networking.ServiceSubnet != ServiceSubnet {
		t.Fatalf("networking %+v: the egress guard blackholes %s and %s", c.Networking, PodSubnet, ServiceSubnet)
	}
}

// Each family's cluster has kind's ranges of that family, the primary first, and IP_FAMILY
// takes kind's three names and nothing else.
func TestFamilies(t *testing.T) {
	for f, want := range map[string][2]string{
		"":     {"10.244.0.0/16", "10.96.0.0/16"},
		"ipv4": {"10.244.0.0/16", "10.96.0.0/16"},
		"ipv6": {"fd00:10:244::/56", "fd00:10:96::/112"},
		"dual": {"10.244.0.0/16,fd00:10:244::/56", "10.96.0.0/16,fd00:10:96::/112"},
	} {
		family, err := ParseFamily(f)
		if err != nil {
			t.Fatalf("IP_FAMILY=%s: %v", f, err)
		}
		n := Config(false, family).Networking
		if string(n.IPFamily) != map[string]string{"": "ipv4"}[f]+f || n.PodSubnet != want[0] || n.ServiceSubnet != want[1] {
			t.Errorf("IP_FAMILY=%q: networking %+v, want %v", f, n, want)
		}
	}
	if _, err := ParseFamily("ipv5"); err == nil || err.Error() != "IP_FAMILY=ipv5 is not an IP family: use ipv4, ipv6 or dual" {
		t.Errorf("IP_FAMILY=ipv5: %v", err)
	}
}
