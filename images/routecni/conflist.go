package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// conflistPath is where containerd's CRI plugin looks for CNI configs; the
// "10-" prefix makes ours win over anything a later package might drop there.
const conflistPath = "/etc/cni/net.d/10-routecni.conflist"

type cniConflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type ptpPlugin struct {
	Type   string `json:"type"`
	IPMasq bool   `json:"ipMasq"`
	MTU    int    `json:"mtu"`
	IPAM   ipam   `json:"ipam"`
}

type ipam struct {
	Type string `json:"type"`
	// DataDir lives under /run (tmpfs on kind nodes) so that leases from a
	// previous boot of the node container cannot leak and exhaust the range.
	DataDir string        `json:"dataDir"`
	Routes  []ipamRoute   `json:"routes"`
	Ranges  [][]ipamRange `json:"ranges"`
}

type ipamRoute struct {
	Dst string `json:"dst"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
}

// parsePodCIDR is shared by the conflist and the route code so that both
// reject the same garbage. Host bits are refused rather than masked: the
// controller-manager never allocates such a CIDR, so one means something else
// is wrong and silently "fixing" it would hide that.
func parsePodCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid pod CIDR %q: %w", s, err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("invalid pod CIDR %q: host bits set", s)
	}
	return p, nil
}

// Conflist renders the CNI configuration for a node owning podCIDRs.
//
// ptp (rather than bridge) gives each pod a /32 (or /128) host route on the
// node, which is exactly what the per-node routes in routes.go expect: traffic
// for another node's podCIDR goes to that node, which delivers it locally.
// ipMasq stays off because pod traffic must never leave the machine (see
// offline-kind.md item 7); masquerading would only hide where it came from.
func Conflist(podCIDRs []string) ([]byte, error) {
	if len(podCIDRs) == 0 {
		return nil, errors.New("no pod CIDRs")
	}
	var (
		ranges     [][]ipamRange
		have4      bool
		have6      bool
		seenPrefix = map[netip.Prefix]bool{}
	)
	for _, s := range podCIDRs {
		p, err := parsePodCIDR(s)
		if err != nil {
			return nil, err
		}
		if seenPrefix[p] {
			return nil, fmt.Errorf("duplicate pod CIDR %q", s)
		}
		seenPrefix[p] = true
		// One range set per CIDR: host-local hands out one address per range
		// set, so separate sets are what makes a dual-stack pod get both.
		ranges = append(ranges, []ipamRange{{Subnet: p.String()}})
		if p.Addr().Is4() {
			have4 = true
		} else {
			have6 = true
		}
	}
	var routes []ipamRoute
	if have4 {
		routes = append(routes, ipamRoute{Dst: "0.0.0.0/0"})
	}
	if have6 {
		routes = append(routes, ipamRoute{Dst: "::/0"})
	}
	c := cniConflist{
		CNIVersion: "1.0.0",
		Name:       "routecni",
		Plugins: []any{
			ptpPlugin{
				Type:   "ptp",
				IPMasq: false,
				MTU:    1500,
				IPAM: ipam{
					Type:    "host-local",
					DataDir: "/run/cni-ipam-state",
					Routes:  routes,
					Ranges:  ranges,
				},
			},
			portmapPlugin{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeFileIfChanged replaces path with content atomically and reports
// whether it wrote anything.
//
// Atomic because containerd watches the directory and may read the file at
// any moment: a half-written conflist would make it fail pod setups. Skipping
// identical content avoids waking that watcher on every node update.
func writeFileIfChanged(path string, content []byte) (bool, error) {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	dir := filepath.Dir(path)
	// The temp name must not end in .conf/.conflist/.json, or containerd
	// could pick up the partial file as a config of its own.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	tmpName := tmp.Name()
	defer func() {
		if tmpName != "" {
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmpName, path); err != nil {
		return false, err
	}
	tmpName = ""
	return true, nil
}
