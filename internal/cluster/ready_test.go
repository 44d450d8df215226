package cluster

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// CoreDNS scaled to zero cannot heal by waiting: the wait must end at once, saying so.
func TestCoreDNSScaledToZeroStopsTheWait(t *testing.T) {
	zero, two := int32(0), int32(2)
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &zero}}
	_, state, err := CoreDNSAvailable(d)
	if err == nil || !strings.Contains(err.Error(), "CoreDNS is scaled to zero") || state != "coredns available 0/0" {
		t.Fatalf("state %q, err %v", state, err)
	}
	d = &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &two}, Status: appsv1.DeploymentStatus{Replicas: 2, AvailableReplicas: 1, UpdatedReplicas: 2}}
	if ok, state, err := CoreDNSAvailable(d); ok || err != nil || state != "coredns available 1/2" {
		t.Fatalf("1/2: %v %q %v", ok, state, err)
	}
	d.Status.AvailableReplicas = 2
	if ok, _, err := CoreDNSAvailable(d); !ok || err != nil {
		t.Fatalf("2/2: %v %v", ok, err)
	}
}

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
