package cluster

import (
	"testing"
)

func TestConfigIsTheCoursesCluster(t *testing.T) {
	c := Config(false)
	if len(c.Nodes) != 3 || c.Nodes[0].Role != "control-plane" || c.Nodes[1].Role != "worker" || c.Nodes[2].Role != "worker" {
		t.Fatalf("nodes %+v, want 1 control-plane + 2 workers", c.Nodes)
	}
	for _, n := range c.Nodes {
		if len(n.ExtraPortMappings) != 0 {
			t.Fatalf("node %s maps host ports %+v", n.Role, n.ExtraPortMappings)
		}
	}
	if len(c.ContainerdConfigPatches) != 0 || len(Config(true).ContainerdConfigPatches) != 1 {
		t.Fatal("only an offline cluster's containerd gets the registry patch")
	}
	if c.Networking.PodSubnet != PodSubnet || c.Networking.ServiceSubnet != ServiceSubnet {
		t.Fatalf("networking %+v: the egress guard blackholes %s and %s", c.Networking, PodSubnet, ServiceSubnet)
	}
}
