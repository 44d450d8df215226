package cluster

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/knobs"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

// Settings are the knobs every entry point (make cluster, the suite, the lab) reads from the
// environment, in one place so they mean the same everywhere.
type Settings struct {
	Name        string // KIND_CLUSTER_NAME, default DEFAULT_CLUSTER_NAME "kind" (nodes kind-control-plane, kind-worker, kind-worker2)
	Offline     bool   // OFFLINE (1/true/yes): nothing may contact a registry; the local node image is used
	NodeImage   string // KIND_NODE_IMAGE: overrides the choice
	EgressGuard bool   // EGRESS_GUARD (a boolean), default on when OFFLINE is
	// Isolated (OFFLINE, or CLUSTER_ISOLATED for a run whose guard root raised, as make
	// online-check's) gives the cluster no upstream DNS and no registry (WithOffline), so
	// nothing it asks leaves this machine by the node's resolver, which the guard cannot see.
	Isolated bool
	// DNSProfile (DNS_PROFILE) is the DNS setup a cluster this project creates gets: kubeadm
	// (default), cache30 or nodelocal (see package dnsprofile).
	DNSProfile dnsprofile.Profile
	// Family (IP_FAMILY) is the IP family of a cluster this project creates: ipv4 (default),
	// ipv6 or dual.
	Family Family
}

// SettingsFromEnv reads the knobs; a value that means nothing is an error naming the ones that
// do.
func SettingsFromEnv() (Settings, error) {
	s := Settings{
		Name:      os.Getenv("KIND_CLUSTER_NAME"),
		NodeImage: os.Getenv("KIND_NODE_IMAGE"),
	}
	if s.Name == "" {
		s.Name = versions.MustLoad().DefaultClusterName
	}
	var err error
	if s.Offline, err = knobs.Bool("OFFLINE"); err != nil {
		return s, err
	}
	if s.EgressGuard, err = knobs.BoolOr("EGRESS_GUARD", s.Offline); err != nil {
		return s, err
	}
	if s.Isolated, err = knobs.BoolOr("CLUSTER_ISOLATED", s.Offline); err != nil {
		return s, err
	}
	if s.Family, err = ParseFamily(os.Getenv("IP_FAMILY")); err != nil {
		return s, err
	}
	s.DNSProfile, err = dnsprofile.Parse(os.Getenv("DNS_PROFILE"))
	return s, err
}

// Options turns settings into Up/Down options. repoRoot locates scripts/egress-guard.sh.
func (s Settings) Options(repoRoot string, v versions.Versions) []Option {
	opts := []Option{
		WithName(s.Name),
		WithImageEnv(ImageEnv{
			Override:   s.NodeImage,
			Offline:    s.Offline,
			LocalImage: v.NodeImage(),
			Present:    func(image string) bool { return exec.Command("docker", "image", "inspect", image).Run() == nil },
			// docker pull's progress shows as it comes (a node image is hundreds of MB);
			// its last line names the cause of a failure.
			Pull: func(image string) error {
				var out bytes.Buffer
				cmd := exec.Command("docker", "pull", image)
				cmd.Stdout = io.MultiWriter(os.Stderr, &out)
				cmd.Stderr = cmd.Stdout
				if err := cmd.Run(); err != nil {
					return &pullError{out.String()}
				}
				return nil
			},
		}),
	}
	if s.Isolated {
		opts = append(opts, WithOffline())
	}
	opts = append(opts, WithDNSProfile(s.DNSProfile), WithIPFamily(s.Family))
	if s.EgressGuard {
		opts = append(opts, WithEgressGuard(EgressGuardScript(repoRoot)))
	}
	return opts
}

type pullError struct{ out string }

func (e *pullError) Error() string { return "docker pull: " + LastLine(e.out) }

// LastLine is the last line of a command's output: where docker and kind name the cause.
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
