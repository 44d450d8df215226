package main

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestAPIServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"kind-control-plane:6443":      "https://kind-control-plane:6443",
		"172.18.0.2:6443":              "https://172.18.0.2:6443",
		"https://10.0.0.1:6443":        "https://10.0.0.1:6443",
		"[fc00:f853:ccd:e793::2]:6443": "https://[fc00:f853:ccd:e793::2]:6443",
	} {
		if got := apiServerURL(in); got != want {
			t.Errorf("apiServerURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReconcileWithholdsConflistUntilKubeProxySynced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "10-routecni.conflist")
	table := newFakeTable()
	c := &controller{self: "w1", table: table, conflistPath: path, proxyReady: make(chan struct{})}
	nodes := []*corev1.Node{
		node("cp", "172.18.0.2", "10.244.0.0/24"),
		node("w1", "172.18.0.3", "10.244.1.0/24"),
	}

	if err := c.reconcile(nodes); err != nil {
		t.Fatal(err)
	}
	// Routes do not affect readiness, so they must not wait for kube-proxy.
	if want := "10.244.0.0/24 via 172.18.0.2"; len(table.state()) != 1 || table.state()[0] != want {
		t.Errorf("routes %v, want [%s]", table.state(), want)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("conflist written before kube-proxy synced (stat err %v)", err)
	}

	close(c.proxyReady)
	if err := c.reconcile(nodes); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Conflist([]string{"10.244.1.0/24"})
	if string(got) != string(want) {
		t.Errorf("conflist\n%s\nwant\n%s", got, want)
	}
}

func TestReconcileWaitsForPodCIDR(t *testing.T) {
	path := filepath.Join(t.TempDir(), "10-routecni.conflist")
	c := &controller{self: "w1", table: newFakeTable(), conflistPath: path, proxyReady: make(chan struct{})}
	close(c.proxyReady)
	if err := c.reconcile([]*corev1.Node{node("w1", "172.18.0.3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("conflist written without a podCIDR (stat err %v)", err)
	}
}
