package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPollReportsTheLastStateSeen(t *testing.T) {
	n := 0
	err := Poll(context.Background(), "waiting for the thing", 50*time.Millisecond, 5*time.Millisecond, func(context.Context) (bool, string, error) {
		n++
		return false, fmt.Sprintf("attempt %d: 2/3 ready", n), nil
	})
	if err == nil || !strings.Contains(err.Error(), "waiting for the thing: not done after 50ms; last seen: attempt") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("attempt %d:", n)) {
		t.Fatalf("err %q does not carry the last attempt (%d)", err, n)
	}
}

func TestPollChecksImmediatelyAndStopsOnError(t *testing.T) {
	start := time.Now()
	err := Poll(context.Background(), "x", time.Minute, time.Minute, func(context.Context) (bool, string, error) { return true, "", nil })
	if err != nil || time.Since(start) > time.Second {
		t.Fatalf("a check that is done at once must return at once: %v after %s", err, time.Since(start))
	}
	boom := errors.New("pod is stuck in ImagePullBackOff")
	err = Poll(context.Background(), "x", time.Minute, time.Millisecond, func(context.Context) (bool, string, error) { return false, "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the check's own error at once", err)
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
