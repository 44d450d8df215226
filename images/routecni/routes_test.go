package main

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeTable holds only "our" routes, as the netlink List does, and records
// every mutating call.
type fakeTable struct {
	routes  map[netip.Prefix]netip.Addr
	calls   []string
	failFor map[netip.Prefix]error
}

func newFakeTable(rs ...route) *fakeTable {
	t := &fakeTable{routes: map[netip.Prefix]netip.Addr{}}
	for _, r := range rs {
		t.routes[r.Dst] = r.Gw
	}
	return t
}

func (t *fakeTable) List() ([]route, error) {
	var out []route
	for d, g := range t.routes {
		out = append(out, route{d, g})
	}
	return out, nil
}

func (t *fakeTable) Replace(r route) error {
	t.calls = append(t.calls, "replace "+r.String())
	if err := t.failFor[r.Dst]; err != nil {
		return err
	}
	t.routes[r.Dst] = r.Gw
	return nil
}

func (t *fakeTable) Delete(r route) error {
	t.calls = append(t.calls, "delete "+r.String())
	if err := t.failFor[r.Dst]; err != nil {
		return err
	}
	if t.routes[r.Dst] != r.Gw {
		return fmt.Errorf("no such route %s", r)
	}
	delete(t.routes, r.Dst)
	return nil
}

func (t *fakeTable) state() []string {
	var out []string
	for d, g := range t.routes {
		out = append(out, route{d, g}.String())
	}
	slices.Sort(out)
	return out
}

func node(name, ip string, cidrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Spec.PodCIDRs = cidrs
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}}
	if ip != "" {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	return n
}

func mustRoute(dst, gw string) route {
	return route{netip.MustParsePrefix(dst), netip.MustParseAddr(gw)}
}

func syncNodes(t *testing.T, table *fakeTable, nodes ...*corev1.Node) {
	t.Helper()
	table.calls = nil
	if _, err := syncRoutes(table, desiredRoutes(nodes, "cp")); err != nil {
		t.Fatal(err)
	}
}

func TestDesiredRoutes(t *testing.T) {
	nodes := []*corev1.Node{
		node("w2", "172.18.0.4", "10.244.2.0/24"),
		node("cp", "172.18.0.2", "10.244.0.0/24"), // own node: never routed
		node("w1", "172.18.0.3", "10.244.1.0/24"),
		node("noip", "", "10.244.3.0/24"),                        // no InternalIP: skipped
		node("nocidr", "172.18.0.6"),                             // no podCIDR yet: skipped
		node("v6only", "fc00:f853:ccd:e793::5", "10.244.5.0/24"), // family mismatch: skipped
		node("bad", "172.18.0.7", "not-a-cidr"),                  // garbage: skipped
		node("dual", "172.18.0.8", "10.244.8.0/24", "fd00:10:244:8::/64"),
	}
	nodes[7].Status.Addresses = append(nodes[7].Status.Addresses,
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fc00:f853:ccd:e793::8"})
	got := desiredRoutes(nodes, "cp")
	want := []route{
		mustRoute("10.244.8.0/24", "172.18.0.8"),
		mustRoute("fd00:10:244:8::/64", "fc00:f853:ccd:e793::8"),
		mustRoute("10.244.1.0/24", "172.18.0.3"),
		mustRoute("10.244.2.0/24", "172.18.0.4"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestDesiredRoutesLegacyPodCIDR(t *testing.T) {
	n := node("w1", "172.18.0.3")
	n.Spec.PodCIDR = "10.244.1.0/24"
	got := desiredRoutes([]*corev1.Node{n}, "cp")
	if want := []route{mustRoute("10.244.1.0/24", "172.18.0.3")}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDesiredRoutesDuplicateCIDRFirstByNameWins(t *testing.T) {
	got := desiredRoutes([]*corev1.Node{
		node("b", "172.18.0.4", "10.244.1.0/24"),
		node("a", "172.18.0.3", "10.244.1.0/24"),
	}, "cp")
	if want := []route{mustRoute("10.244.1.0/24", "172.18.0.3")}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSyncRoutesAdd(t *testing.T) {
	table := newFakeTable()
	syncNodes(t, table,
		node("cp", "172.18.0.2", "10.244.0.0/24"),
		node("w1", "172.18.0.3", "10.244.1.0/24"),
		node("w2", "172.18.0.4", "10.244.2.0/24"))
	want := []string{"10.244.1.0/24 via 172.18.0.3", "10.244.2.0/24 via 172.18.0.4"}
	if got := table.state(); !reflect.DeepEqual(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}

func TestSyncRoutesOwnNodeNeverRouted(t *testing.T) {
	table := newFakeTable()
	syncNodes(t, table, node("cp", "172.18.0.2", "10.244.0.0/24"))
	if len(table.calls) != 0 || len(table.routes) != 0 {
		t.Errorf("calls %v, routes %v", table.calls, table.state())
	}
}

func TestSyncRoutesSkipsIncompleteNodes(t *testing.T) {
	table := newFakeTable()
	syncNodes(t, table,
		node("noip", "", "10.244.3.0/24"),
		node("nocidr", "172.18.0.6"))
	if len(table.calls) != 0 {
		t.Errorf("calls %v", table.calls)
	}
}

func TestSyncRoutesChangeGateway(t *testing.T) {
	table := newFakeTable(mustRoute("10.244.1.0/24", "172.18.0.3"))
	syncNodes(t, table, node("w1", "172.18.0.9", "10.244.1.0/24"))
	// Replace in place, no delete: a delete first would leave a gap.
	if want := []string{"replace 10.244.1.0/24 via 172.18.0.9"}; !reflect.DeepEqual(table.calls, want) {
		t.Errorf("calls %v, want %v", table.calls, want)
	}
	if want := []string{"10.244.1.0/24 via 172.18.0.9"}; !reflect.DeepEqual(table.state(), want) {
		t.Errorf("routes %v", table.state())
	}
}

func TestSyncRoutesNodeRemovedDeletesRoute(t *testing.T) {
	table := newFakeTable()
	w1 := node("w1", "172.18.0.3", "10.244.1.0/24")
	w2 := node("w2", "172.18.0.4", "10.244.2.0/24")
	syncNodes(t, table, w1, w2)
	syncNodes(t, table, w1)
	if want := []string{"delete 10.244.2.0/24 via 172.18.0.4"}; !reflect.DeepEqual(table.calls, want) {
		t.Errorf("calls %v, want %v", table.calls, want)
	}
	if want := []string{"10.244.1.0/24 via 172.18.0.3"}; !reflect.DeepEqual(table.state(), want) {
		t.Errorf("routes %v", table.state())
	}
}

func TestSyncRoutesPodCIDRChanged(t *testing.T) {
	table := newFakeTable(mustRoute("10.244.1.0/24", "172.18.0.3"))
	syncNodes(t, table, node("w1", "172.18.0.3", "10.244.7.0/24"))
	want := []string{"delete 10.244.1.0/24 via 172.18.0.3", "replace 10.244.7.0/24 via 172.18.0.3"}
	if !reflect.DeepEqual(table.calls, want) {
		t.Errorf("calls %v, want %v", table.calls, want)
	}
}

func TestSyncRoutesIdempotent(t *testing.T) {
	table := newFakeTable()
	nodes := []*corev1.Node{
		node("cp", "172.18.0.2", "10.244.0.0/24"),
		node("w1", "172.18.0.3", "10.244.1.0/24"),
		node("w2", "172.18.0.4", "10.244.2.0/24"),
	}
	syncNodes(t, table, nodes...)
	table.calls = nil
	changes, err := syncRoutes(table, desiredRoutes(nodes, "cp"))
	if err != nil || len(changes) != 0 || len(table.calls) != 0 {
		t.Errorf("second sync: changes %v, calls %v, err %v", changes, table.calls, err)
	}
}

func TestSyncRoutesReportsChanges(t *testing.T) {
	table := newFakeTable(mustRoute("10.244.9.0/24", "172.18.0.9"))
	changes, err := syncRoutes(table, []route{mustRoute("10.244.1.0/24", "172.18.0.3")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deleted route 10.244.9.0/24 via 172.18.0.9", "set route 10.244.1.0/24 via 172.18.0.3"}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
}

func TestSyncRoutesContinuesAfterError(t *testing.T) {
	table := newFakeTable()
	boom := errors.New("network is unreachable")
	table.failFor = map[netip.Prefix]error{netip.MustParsePrefix("10.244.1.0/24"): boom}
	_, err := syncRoutes(table, []route{
		mustRoute("10.244.1.0/24", "172.18.0.3"),
		mustRoute("10.244.2.0/24", "172.18.0.4"),
	})
	if !errors.Is(err, boom) {
		t.Errorf("err %v, want %v", err, boom)
	}
	if want := []string{"10.244.2.0/24 via 172.18.0.4"}; !reflect.DeepEqual(table.state(), want) {
		t.Errorf("routes %v, want %v", table.state(), want)
	}
}

type failingList struct{ fakeTable }

func (failingList) List() ([]route, error) { return nil, errors.New("dump interrupted") }

func TestSyncRoutesListErrorTouchesNothing(t *testing.T) {
	table := &failingList{*newFakeTable()}
	if _, err := syncRoutes(table, []route{mustRoute("10.244.1.0/24", "172.18.0.3")}); err == nil {
		t.Error("want error")
	}
	if len(table.calls) != 0 {
		t.Errorf("calls %v", table.calls)
	}
}
