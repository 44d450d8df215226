package main

import (
	"net"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// newTestNetns gives a handle into a fresh, empty network namespace so the
// real netlinkTable can be exercised without touching the host's routes. It
// skips when namespaces cannot be created (unprivileged runs).
func newTestNetns(t *testing.T) *netlink.Handle {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Skipf("netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.New() // also moves this thread into ns
	if err != nil {
		runtime.UnlockOSThread()
		t.Skipf("cannot create a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime then discards it instead of
		// reusing a thread stuck in the wrong namespace.
		t.Fatalf("restore netns: %v", err)
	}
	runtime.UnlockOSThread()
	t.Cleanup(func() { ns.Close() })

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestNetlinkTableOwnsOnlyItsRoutes(t *testing.T) {
	h := newTestNetns(t)

	// A veth end with 172.18.0.2/16 stands in for the node's eth0 on the kind
	// docker bridge, so 172.18.0.x gateways are on-link.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "rc0"}, PeerName: "rc1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Skipf("cannot create veth: %v", err)
	}
	for _, name := range []string{"rc0", "rc1"} {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	rc0, _ := h.LinkByName("rc0")
	addr, _ := netlink.ParseAddr("172.18.0.2/16")
	if err := h.AddrAdd(rc0, addr); err != nil {
		t.Fatal(err)
	}

	// A route to the same kind of destination that someone else owns.
	_, foreignDst, _ := net.ParseCIDR("10.99.0.0/16")
	foreign := &netlink.Route{Dst: foreignDst, Gw: net.ParseIP("172.18.0.50"), Protocol: netlink.RouteProtocol(4) /* static */}
	if err := h.RouteAdd(foreign); err != nil {
		t.Fatal(err)
	}

	table := netlinkTable{h: h}
	if rs, err := table.List(); err != nil || len(rs) != 0 {
		t.Fatalf("List on a fresh namespace = %v, %v; foreign or kernel routes leaked in", rs, err)
	}

	desired := []route{mustRoute("10.244.1.0/24", "172.18.0.3"), mustRoute("10.244.2.0/24", "172.18.0.4")}
	if _, err := syncRoutes(table, desired); err != nil {
		t.Fatal(err)
	}
	got, err := table.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List = %v, want %v", got, desired)
	}
	for _, r := range desired {
		if !containsRoute(got, r) {
			t.Errorf("List = %v, missing %s", got, r)
		}
	}

	// Gateway change, then node removal.
	desired = []route{mustRoute("10.244.1.0/24", "172.18.0.9")}
	if _, err := syncRoutes(table, desired); err != nil {
		t.Fatal(err)
	}
	if got, _ := table.List(); len(got) != 1 || got[0] != desired[0] {
		t.Errorf("after change: %v, want %v", got, desired)
	}
	changes, err := syncRoutes(table, desired)
	if err != nil || len(changes) != 0 {
		t.Errorf("second sync against the kernel: %v, %v", changes, err)
	}

	if _, err := syncRoutes(table, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := table.List(); len(got) != 0 {
		t.Errorf("after removing all: %v", got)
	}
	all, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range all {
		if r.Dst != nil && r.Dst.String() == foreignDst.String() && r.Protocol == 4 {
			found = true
		}
	}
	if !found {
		t.Errorf("foreign route was removed; routes now %v", all)
	}
}

func containsRoute(rs []route, r route) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}
