package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// EgressGuardScript is the guard (scripts/egress-guard.sh) under the repository root: it drops
// traffic forwarded to this host's uplinks, IPv4 and IPv6, and blackholes the cluster's ranges.
func EgressGuardScript(repoRoot string) string {
	return filepath.Join(repoRoot, "scripts", "egress-guard.sh")
}

// CheckEgressGuard reads the guard back (`egress-guard.sh check`) and holds it to what this
// host needs rather than to what the script says of itself: for every address family this host
// has a default route in, a drop rule that forwarded packets reach, and a blackhole route for
// each of cidrs. It returns the guard's report, for the log.
func CheckEgressGuard(ctx context.Context, script string, cidrs ...string) (string, error) {
	out, err := exec.CommandContext(ctx, script, "check").CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s check: %w", script, err)
	}
	var routed []string
	for _, family := range []string{"4", "6"} {
		route, err := exec.CommandContext(ctx, "ip", "-o", "-"+family, "route", "show", "default").Output()
		if err != nil {
			return string(out), fmt.Errorf("ip -%s route show default: %w", family, err)
		}
		if len(bytes.TrimSpace(route)) > 0 {
			routed = append(routed, "ipv"+family)
		}
	}
	return string(out), judgeEgressGuard(string(out), routed, cidrs)
}

// judgeEgressGuard holds a guard report (check's output) to the routed families ("ipv4",
// "ipv6") and the CIDRs that must be blackholed; the error names everything missing.
func judgeEgressGuard(report string, routed, cidrs []string) error {
	var missing []string
	if !strings.HasPrefix(report, "egress guard: UP") {
		missing = append(missing, "the report does not say UP")
	}
	lines := strings.Split(report, "\n")
	for _, family := range routed {
		found := false
		for _, l := range lines {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, family+" ") && strings.HasSuffix(l, "-j DROP") {
				found = true
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("this host routes %s off the machine, but no %s drop rule that packets reach is listed", family, family))
		}
	}
	for _, cidr := range cidrs {
		found := false
		for _, l := range lines {
			f := strings.Fields(l)
			found = found || len(f) >= 3 && f[0] == "route" && f[1] == "blackhole" && f[2] == cidr
		}
		if !found {
			missing = append(missing, "no blackhole route for "+cidr)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("egress guard incomplete: %s", strings.Join(missing, "; "))
	}
	return nil
}

// guard runs the guard script with args, its output to out; a failure carries the script's
// own error and fix lines, so the caller's error names the cause (e.g. no ip6tables).
func guard(ctx context.Context, out io.Writer, script string, args ...string) error {
	var said bytes.Buffer
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Stdout, cmd.Stderr = out, io.MultiWriter(out, &said)
	if err := cmd.Run(); err != nil {
		if msg := strings.Join(strings.Fields(said.String()), " "); msg != "" {
			return fmt.Errorf("%s %s: %w: %s", filepath.Base(script), args[0], err, msg)
		}
		return fmt.Errorf("%s %s: %w", filepath.Base(script), args[0], err)
	}
	return nil
}
