package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
)

// routeProtocol tags every route routecni installs (the rtm_protocol field,
// `ip route show proto 126`). The kernel keeps it as an opaque owner id, so
// listing and deleting by it lets us garbage-collect our own stale routes
// while never seeing, let alone removing, routes the host, docker or another
// daemon put there. 0x7e is unassigned in iproute2's rt_protos and in use by
// none of the well-known routing daemons.
const routeProtocol netlink.RouteProtocol = 0x7e

// route is comparable on purpose, so desired and actual sets can be diffed
// with plain map lookups.
type route struct {
	Dst netip.Prefix
	Gw  netip.Addr
}

func (r route) String() string { return r.Dst.String() + " via " + r.Gw.String() }

// routeTable is the slice of the kernel routing table routecni owns. The
// interface exists so syncRoutes can be tested without privileges.
type routeTable interface {
	// List returns only routes tagged as ours.
	List() ([]route, error)
	// Replace installs r, overwriting any route to the same destination.
	Replace(r route) error
	// Delete removes our route r.
	Delete(r route) error
}

// desiredRoutes computes, from the full node list, the routes this node needs:
// each other node's pod CIDRs via that node's InternalIP of the same family.
// kind nodes share one docker bridge, so every InternalIP is a direct
// neighbour and a plain gateway route is all the "overlay" needed.
//
// It takes the whole list rather than one changed node because deletions and
// podCIDR changes are only visible as the absence of something.
func desiredRoutes(nodes []*corev1.Node, self string) []route {
	sorted := slices.Clone(nodes)
	// Sorting makes the outcome deterministic should two nodes ever claim
	// the same CIDR: the first by name wins instead of flapping.
	slices.SortFunc(sorted, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })

	seen := map[netip.Prefix]bool{}
	var out []route
	for _, n := range sorted {
		// Routing our own podCIDR to ourselves would shadow the per-pod
		// routes ptp installs and black-hole local pods.
		if n.Name == self {
			continue
		}
		for _, s := range nodePodCIDRs(n) {
			dst, err := parsePodCIDR(s)
			if err != nil || seen[dst] {
				continue
			}
			gw, ok := internalIP(n, dst.Addr().Is4())
			if !ok {
				continue
			}
			seen[dst] = true
			out = append(out, route{Dst: dst, Gw: gw})
		}
	}
	return out
}

// nodePodCIDRs falls back to the singular field because clusters upgraded
// from old releases may have only spec.podCIDR set.
func nodePodCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

func internalIP(n *corev1.Node, want4 bool) (netip.Addr, bool) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() == want4 {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// syncRoutes makes the owned routes in table equal desired and returns one
// human-readable line per change made.
//
// It keeps going after a failed call so one unreachable gateway does not
// starve the other nodes' routes; all errors come back joined so the caller
// retries.
func syncRoutes(table routeTable, desired []route) ([]string, error) {
	have, err := table.List()
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	want := make(map[netip.Prefix]netip.Addr, len(desired))
	for _, r := range desired {
		want[r.Dst] = r.Gw
	}
	current := make(map[netip.Prefix]netip.Addr, len(have))
	var (
		changes []string
		errs    []error
	)
	for _, r := range have {
		gw, ok := want[r.Dst]
		if ok && gw == r.Gw {
			current[r.Dst] = r.Gw
			continue
		}
		if ok {
			// A changed gateway is fixed by the Replace below; deleting first
			// would open a window with no route at all.
			continue
		}
		if err := table.Delete(r); err != nil {
			errs = append(errs, fmt.Errorf("delete route %s: %w", r, err))
			continue
		}
		changes = append(changes, "deleted route "+r.String())
	}
	for _, r := range desired {
		if gw, ok := current[r.Dst]; ok && gw == r.Gw {
			continue
		}
		if err := table.Replace(r); err != nil {
			errs = append(errs, fmt.Errorf("replace route %s: %w", r, err))
			continue
		}
		current[r.Dst] = r.Gw
		changes = append(changes, "set route "+r.String())
	}
	return changes, errors.Join(errs...)
}

// netlinkTable is the real routeTable: the main routing table of the network
// namespace its handle points at, restricted to routeProtocol.
type netlinkTable struct {
	h *netlink.Handle
}

func (t netlinkTable) List() ([]route, error) {
	// The filter is applied after the dump, so only the protocol check keeps
	// foreign routes out; routes in tables other than main are skipped by
	// netlink itself, and main is the only table we write to.
	nl, err := t.h.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		// Includes ErrDumpInterrupted: acting on an inconsistent dump could
		// delete the wrong thing, and the caller retries anyway.
		return nil, err
	}
	out := make([]route, 0, len(nl))
	for _, r := range nl {
		if r.Dst == nil {
			// Not something we ever create; leave it rather than guess.
			continue
		}
		addr, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		// An invalid Gw (nil, e.g. a hand-made route with our tag) simply
		// never matches the desired one, so it gets replaced or deleted.
		gw, _ := netip.AddrFromSlice(r.Gw)
		out = append(out, route{Dst: netip.PrefixFrom(addr.Unmap(), ones), Gw: gw.Unmap()})
	}
	return out, nil
}

func (t netlinkTable) Replace(r route) error {
	return t.h.RouteReplace(toNetlink(r))
}

func (t netlinkTable) Delete(r route) error {
	// The protocol in the request makes the kernel match only our route even
	// if someone else has one to the same destination.
	return t.h.RouteDel(toNetlink(r))
}

func toNetlink(r route) *netlink.Route {
	nr := &netlink.Route{
		Dst: &net.IPNet{
			IP:   net.IP(r.Dst.Addr().AsSlice()),
			Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen()),
		},
		Protocol: routeProtocol,
	}
	if r.Gw.IsValid() {
		nr.Gw = net.IP(r.Gw.AsSlice())
	}
	return nr
}
