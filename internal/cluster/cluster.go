// Package cluster creates, reuses and deletes the course's 3-node kind cluster through the
// kind Go library, so the kind version in go.mod is the only one (no kind binary is shelled
// out to or installed). `make cluster`, the e2e suite and the lab all go through it.
package cluster

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	"sigs.k8s.io/kind/pkg/log"

	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// The cluster's address ranges per family, set explicitly (they are kind's defaults) because
// the egress guard blackholes exactly these on the host.
const (
	PodSubnet      = "10.244.0.0/16"
	ServiceSubnet  = "10.96.0.0/16"
	PodSubnet6     = "fd00:10:244::/56"
	ServiceSubnet6 = "fd00:10:96::/112"
)

// Family is a cluster's IP family (IP_FAMILY), as kind names it.
type Family = v1alpha4.ClusterIPFamily

// The IP families a cluster can run.
const (
	IPv4 = v1alpha4.IPv4Family // the course as written
	IPv6 = v1alpha4.IPv6Family
	Dual = v1alpha4.DualStackFamily
)

// ParseFamily reads IP_FAMILY; "" is ipv4. Anything else is an error naming the families.
func ParseFamily(s string) (Family, error) {
	switch f := Family(s); f {
	case "":
		return IPv4, nil
	case IPv4, IPv6, Dual:
		return f, nil
	}
	return "", fmt.Errorf("IP_FAMILY=%s is not an IP family: use ipv4, ipv6 or dual", s)
}

// Subnets are the pod and service ranges of a family's cluster, the primary family first.
func Subnets(f Family) (pod, service []string) {
	switch f {
	case IPv6:
		return []string{PodSubnet6}, []string{ServiceSubnet6}
	case Dual:
		return []string{PodSubnet, PodSubnet6}, []string{ServiceSubnet, ServiceSubnet6}
	}
	return []string{PodSubnet}, []string{ServiceSubnet}
}

// IPFamilies are the Kubernetes IP families of a family's cluster, the primary first.
func IPFamilies(f Family) []corev1.IPFamily {
	switch f {
	case IPv6:
		return []corev1.IPFamily{corev1.IPv6Protocol}
	case Dual:
		return []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	}
	return []corev1.IPFamily{corev1.IPv4Protocol}
}

// CreatedByLabel is the node label every cluster this project creates carries, with the value
// CreatedBy: Down deletes only a cluster whose nodes say so, never a user's own. kind hands it
// to kubeadm as a kubelet node label, so it is read from the node's kubeadm configuration
// without a Kubernetes client (and a kubelet may set it: its prefix is not kubernetes.io's).
const (
	CreatedByLabel = "headless-e2e/created-by"
	CreatedBy      = "headless-e2e"
)

// Config is the course's cluster: one control plane and two workers, which kind names
// <name>-control-plane, <name>-worker and <name>-worker2, in IP family f, each labelled
// CreatedByLabel. No host port mappings. Offline, its containerd reads per-registry
// configuration (see offline.go).
func Config(offline bool, f Family) *v1alpha4.Cluster {
	pod, service := Subnets(f)
	label := map[string]string{CreatedByLabel: CreatedBy}
	c := &v1alpha4.Cluster{
		Nodes: []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Labels: label}, {Role: v1alpha4.WorkerRole, Labels: label},
			{Role: v1alpha4.WorkerRole, Labels: label}},
		Networking: v1alpha4.Networking{IPFamily: f, PodSubnet: strings.Join(pod, ","), ServiceSubnet: strings.Join(service, ",")},
	}
	if offline {
		c.ContainerdConfigPatches = []string{offlineContainerdPatch}
	}
	v1alpha4.SetDefaultsCluster(c)
	return c
}

// Cluster is a kind cluster this process can reach through a private kubeconfig.
type Cluster struct {
	Name       string
	Kubeconfig string
	// Created is true when this process created the cluster; only then may its teardown
	// delete it. A reused cluster belongs to whoever made it.
	Created   bool
	NodeImage ImageChoice
	provider  *kindcluster.Provider
}

type options struct {
	name        string
	kubeconfig  string
	egressGuard string // script; "" means no guard
	offline     bool
	image       ImageEnv
	dnsProfile  dnsprofile.Profile
	family      Family
	logger      log.Logger
	out         io.Writer
}

// Option configures Up and Down.
type Option func(*options)

// WithName sets the kind cluster name (default versions.env's DEFAULT_CLUSTER_NAME, "kind" as
// in the course).
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithKubeconfig sets where the private kubeconfig is written (default: under the cache dir,
// never ~/.kube/config, which belongs to the user).
func WithKubeconfig(path string) Option { return func(o *options) { o.kubeconfig = path } }

// WithEgressGuard runs script `up CIDR...` before creating a cluster and `down` after deleting
// the last one, so nothing a cluster sends leaves this machine.
func WithEgressGuard(script string) Option { return func(o *options) { o.egressGuard = script } }

// WithOffline makes a cluster it creates fully offline: no upstream DNS, no registry (see
// offline.go). The node image choice is offline already through ImageEnv.
func WithOffline() Option { return func(o *options) { o.offline = true } }

// WithDNSProfile gives a cluster Up creates that DNS setup (dnsprofile.Apply); a reused
// cluster keeps its own.
func WithDNSProfile(p dnsprofile.Profile) Option { return func(o *options) { o.dnsProfile = p } }

// WithIPFamily makes a cluster Up creates one of that IP family (default ipv4).
func WithIPFamily(f Family) Option { return func(o *options) { o.family = f } }

// WithImageEnv sets how the node image is chosen (see ChooseNodeImage).
func WithImageEnv(e ImageEnv) Option { return func(o *options) { o.image = e } }

// WithOutput sends progress lines (and kind's own status output) to w.
func WithOutput(w io.Writer) Option { return func(o *options) { o.out = w } }

func newOptions(opts []Option) *options {
	o := &options{name: versions.MustLoad().DefaultClusterName, family: IPv4, out: os.Stderr, logger: kindcmd.NewLogger()}
	for _, opt := range opts {
		opt(o)
	}
	if o.kubeconfig == "" {
		o.kubeconfig = DefaultKubeconfig(o.name)
	}
	return o
}

// DefaultKubeconfig is the private kubeconfig path for a cluster name.
func DefaultKubeconfig(name string) string {
	return filepath.Join(versions.CacheDir(), "kube", name+".kubeconfig")
}

// Up reuses the named cluster if it exists, else creates it, then writes a private kubeconfig
// (mode 0600 in a 0700 directory) and waits until every node is Ready and CoreDNS is Available.
func Up(ctx context.Context, opts ...Option) (*Cluster, error) {
	o := newOptions(opts)
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(o.logger))
	c := &Cluster{Name: o.name, Kubeconfig: o.kubeconfig, provider: p}
	if err := os.MkdirAll(filepath.Dir(o.kubeconfig), 0o700); err != nil {
		return nil, err
	}
	exists, err := Exists(o.name)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if exists {
		if err := c.checkShape(); err != nil {
			return nil, err
		}
		if err := c.checkFamily(ctx, o.family); err != nil {
			return nil, err
		}
		cfg, err := p.KubeConfig(o.name, false)
		if err != nil {
			return nil, fmt.Errorf("reading kubeconfig of existing cluster %q: %w", o.name, err)
		}
		if err := os.WriteFile(o.kubeconfig, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.out, "cluster %q exists: reusing it (it will not be deleted)\n", o.name)
	} else {
		choice, err := ChooseNodeImage(o.image)
		if err != nil {
			return nil, err
		}
		c.NodeImage = choice
		fmt.Fprintf(o.out, "node image %s (%s)\n", choice.Image, choice.Reason)
		if err := checkNameFree(o.name); err != nil {
			return nil, err
		}
		if err := checkDockerIPv6(ctx, o.family); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("creating kind cluster %q: interrupted before it started (%w)", o.name, err)
		}
		if o.egressGuard != "" {
			pod, service := Subnets(o.family)
			if err := guard(ctx, o.out, o.egressGuard, append([]string{"up"}, append(pod, service...)...)...); err != nil {
				return nil, fmt.Errorf("egress guard (no cluster was created): %w", err)
			}
		}
		created := make(chan error, 1)
		go func() {
			created <- p.Create(o.name,
				kindcluster.CreateWithV1Alpha4Config(Config(o.offline, o.family)),
				kindcluster.CreateWithNodeImage(choice.Image),
				kindcluster.CreateWithKubeconfigPath(o.kubeconfig),
				kindcluster.CreateWithDisplayUsage(false),
				kindcluster.CreateWithDisplaySalutation(false))
		}()
		select {
		case err = <-created:
		case <-ctx.Done():
			err = c.abortCreate(ctx, created, o.out)
		}
		if err != nil {
			return nil, fmt.Errorf("creating kind cluster %q: %w", o.name, err)
		}
		c.Created = true
		if err := os.Chmod(o.kubeconfig, 0o600); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.out, "kind created cluster %q in %s\n", o.name, time.Since(start).Round(100*time.Millisecond))
		if o.offline {
			if err := c.makeOffline(ctx); err != nil {
				return c, fmt.Errorf("making cluster %q offline: %w", o.name, err)
			}
			fmt.Fprintln(o.out, "offline: CoreDNS has no upstream resolver, containerd no registry")
		}
		if o.dnsProfile != "" && o.dnsProfile != dnsprofile.Kubeadm {
			if err := c.applyDNSProfile(ctx, o.dnsProfile); err != nil {
				return c, fmt.Errorf("DNS_PROFILE=%s on cluster %q: %w", o.dnsProfile, o.name, err)
			}
			fmt.Fprintf(o.out, "DNS profile %s\n", dnsprofile.Documented(o.dnsProfile))
		}
	}
	if err := WaitReady(ctx, o.kubeconfig, 3*time.Minute); err != nil {
		return c, err
	}
	fmt.Fprintf(o.out, "cluster %q ready (all nodes Ready, CoreDNS Available) %s after start\n", o.name, time.Since(start).Round(100*time.Millisecond))
	return c, nil
}

// abortCreate stops a creation its caller was interrupted in (Ctrl-C). kind's Create takes no
// context, and a Ctrl-C stops only the docker command running at that instant (often none),
// so the creation would go on for its full half minute, and the teardown after it. Removing
// the nodes under it makes its next docker command fail, and kind then deletes what it made;
// they are removed again once Create has returned, in case one was started after a removal.
func (c *Cluster) abortCreate(ctx context.Context, created <-chan error, out io.Writer) error {
	fmt.Fprintf(out, "interrupted: stopping the creation of cluster %q, removing its nodes\n", c.Name)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		_ = c.provider.Delete(c.Name, c.Kubeconfig) // fails while kind removes them too: retried
		select {
		case <-created:
			err := c.removeNodes()
			_ = os.Remove(c.Kubeconfig)
			if err != nil {
				return fmt.Errorf("interrupted (%w), and removing its nodes failed: %w", context.Cause(ctx), err)
			}
			return fmt.Errorf("interrupted (%w): its nodes are removed", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// removeNodes deletes the cluster's nodes until docker has listed none for two seconds: a
// `docker run` the interrupt cut short may still have its container created by the daemon
// after kind's Create returned, and one delete then leaves it behind (seen in the
// interrupt-check: two nodes left after "its nodes are removed").
func (c *Cluster) removeNodes() error {
	var emptySince time.Time
	return poll.Retry(context.Background(), poll.Input{What: "removing the nodes of cluster " + c.Name, Timeout: 20 * time.Second, Interval: 250 * time.Millisecond},
		func(context.Context) (bool, string, error) {
			nodes, err := c.provider.ListNodes(c.Name)
			if err != nil {
				return false, "", err
			}
			if len(nodes) > 0 {
				emptySince = time.Time{}
				return false, fmt.Sprintf("%d node(s) listed", len(nodes)), c.provider.Delete(c.Name, c.Kubeconfig)
			}
			if emptySince.IsZero() {
				emptySince = time.Now()
			}
			return time.Since(emptySince) >= 2*time.Second, "no node listed", nil
		})
}

// checkShape refuses to reuse a cluster that is not the course's 1 control plane + 2 workers.
func (c *Cluster) checkShape() error {
	nodes, err := c.provider.ListNodes(c.Name)
	if err != nil {
		return err
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.String())
	}
	slices.Sort(names)
	want := []string{c.Name + "-control-plane", c.Name + "-worker", c.Name + "-worker2"}
	if !slices.Equal(names, want) {
		return fmt.Errorf("kind cluster %q exists with nodes %v, but the course needs %v: delete it (make cluster-down KIND_CLUSTER_NAME=%s) or choose another name (KIND_CLUSTER_NAME=...)",
			c.Name, names, want, c.Name)
	}
	return nil
}

// kubeadmConfig is the kubeadm configuration kind wrote into a cluster's control-plane node:
// what the cluster was made with, readable without a Kubernetes client.
// nodeContainers are the names of the cluster's node containers, stopped ones included.
func nodeContainers(ctx context.Context, name string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "--all", "--format", "{{.Names}}", "--filter", "label=io.x-k8s.kind.cluster="+name).Output()
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of cluster %q: %w", name, err)
	}
	return strings.Fields(string(out)), nil
}

func kubeadmConfig(ctx context.Context, name string) (string, error) {
	// Every node holds it; docker cp reads a stopped node too (a run stopped by a second
	// Ctrl-C while its nodes were being removed), where docker exec cannot.
	nodes, err := nodeContainers(ctx, name)
	if err != nil {
		return "", err
	}
	var errs []string
	for _, node := range nodes {
		out, err := exec.CommandContext(ctx, "docker", "cp", node+":/kind/kubeadm.conf", "-").Output()
		if err == nil {
			var conf []byte
			tr := tar.NewReader(bytes.NewReader(out))
			if _, err = tr.Next(); err == nil {
				if conf, err = io.ReadAll(tr); err == nil {
					return string(conf), nil
				}
			}
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			err = errors.New(LastLine(string(exit.Stderr)))
		}
		errs = append(errs, fmt.Sprintf("%s: %v", node, err))
	}
	if len(errs) == 0 {
		errs = append(errs, "no node container left")
	}
	return "", fmt.Errorf("reading the kubeadm configuration of cluster %q (docker cp <node>:/kind/kubeadm.conf): %s", name, strings.Join(errs, "; "))
}

// checkFamily catches an existing cluster of another IP family than the one asked: its nodes'
// kubeadm configuration names the pod subnets it was made with.
func (c *Cluster) checkFamily(ctx context.Context, want Family) error {
	conf, err := kubeadmConfig(ctx, c.Name)
	if err != nil {
		return err
	}
	var have string
	for _, line := range strings.Split(conf, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "podSubnet:"); ok {
			have = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	for _, f := range []Family{IPv4, IPv6, Dual} {
		if pod, _ := Subnets(f); strings.Join(pod, ",") == have && f != want {
			return fmt.Errorf("kind cluster %q exists as IP_FAMILY=%s (pod subnets %s), but IP_FAMILY=%s was asked: run with IP_FAMILY=%s, delete it (make cluster-down KIND_CLUSTER_NAME=%s) or choose another name (KIND_CLUSTER_NAME=...)",
				c.Name, f, have, want, f, c.Name)
		}
	}
	return nil
}

// checkDockerIPv6 catches, before a cluster of IPv6 (ipv6, dual) is created, a host where its
// nodes would get no IPv6 address: kind puts them on the docker network "kind" (or
// KIND_EXPERIMENTAL_DOCKER_NETWORK), which it creates with IPv6 but reuses as it is, and the
// kernel must have IPv6 on. kind would otherwise fail later, inside kubeadm.
func checkDockerIPv6(ctx context.Context, f Family) error {
	if f == IPv4 {
		return nil
	}
	network := cmp.Or(os.Getenv("KIND_EXPERIMENTAL_DOCKER_NETWORK"), "kind")
	if data, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/disable_ipv6"); err == nil && strings.TrimSpace(string(data)) != "0" {
		return fmt.Errorf("IP_FAMILY=%s needs IPv6, which this host's kernel has off (net.ipv6.conf.all.disable_ipv6=%s): sysctl -w net.ipv6.conf.all.disable_ipv6=0, or IP_FAMILY=ipv4 (no cluster was created)",
			f, strings.TrimSpace(string(data)))
	}
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "--format", "{{.EnableIPv6}}", network).Output()
	if err != nil {
		return nil // no such network yet: kind creates it, with IPv6
	}
	if strings.TrimSpace(string(out)) != "true" {
		return fmt.Errorf("IP_FAMILY=%s: the docker network %q the nodes join has IPv6 off (EnableIPv6 %s), so they would get no IPv6 address: remove it once no cluster uses it (docker network rm %s; kind recreates it with IPv6), or IP_FAMILY=ipv4 (no cluster was created)",
			f, network, strings.TrimSpace(string(out)), network)
	}
	return nil
}

// checkNameFree catches containers that hold the node names without belonging to a kind
// cluster kind can see (kind would fail much later, with a docker conflict).
func checkNameFree(name string) error {
	out, err := exec.Command("docker", "ps", "--all", "--filter", "name=^"+name+"-(control-plane|worker|worker2)$", "--format", "{{.Names}}").Output()
	if err != nil {
		return fmt.Errorf("asking docker for containers named %s-*: %w", name, err)
	}
	if taken := strings.Fields(string(out)); len(taken) > 0 {
		return fmt.Errorf("cluster name %q is taken: docker already has containers %v that are not a kind cluster: remove them (docker rm -f %s) or choose another name (KIND_CLUSTER_NAME=...)",
			name, taken, strings.Join(taken, " "))
	}
	return nil
}

// Exists reports whether kind has a cluster of that name.
func Exists(name string) (bool, error) {
	clusters, err := kindcluster.NewProvider(kindcluster.ProviderWithDocker()).List()
	if err != nil {
		return false, fmt.Errorf("docker does not answer, so kind cannot list its clusters (docker says: %s): run make docker", dockerSays(err))
	}
	return slices.Contains(clusters, name), nil
}

// Down deletes the named cluster and its kubeconfig, and lowers the egress guard once no kind
// cluster is left; a cluster this project did not create (its nodes lack CreatedByLabel) it
// refuses, naming the command that would delete it. A missing cluster is no error.
func Down(ctx context.Context, opts ...Option) error {
	o := newOptions(opts)
	exists, err := Exists(o.name)
	if err != nil {
		return err
	}
	if exists {
		if err := checkCreatedByUs(ctx, o.name); err != nil {
			return err
		}
	}
	return remove(ctx, o)
}

// checkCreatedByUs refuses a cluster whose nodes do not carry CreatedByLabel: a cluster
// someone else made (or one this project made before it labelled its clusters) is theirs.
func checkCreatedByUs(ctx context.Context, name string) error {
	refuse := fmt.Sprintf("cluster %q is not deleted: if it is yours to delete, kind delete cluster --name %s", name, name)
	// A deletion already under way (a run stopped by a second Ctrl-C in its teardown) leaves
	// nodes docker will not copy from while it removes them: wait until the configuration can
	// be read, or the nodes are gone; then nothing is left to protect, only leftovers (the
	// private kubeconfig) to remove.
	var conf string
	var readErr error
	err := poll.Retry(ctx, poll.Input{What: fmt.Sprintf("the nodes of cluster %q to be readable or gone", name), Timeout: 30 * time.Second, Interval: time.Second},
		func(ctx context.Context) (bool, string, error) {
			if conf, readErr = kubeadmConfig(ctx, name); readErr == nil {
				return true, "", nil
			}
			nodes, err := nodeContainers(ctx, name)
			if err != nil {
				return false, "", err
			}
			return len(nodes) == 0, fmt.Sprintf("nodes %v, configuration unreadable: %v", nodes, readErr), nil
		})
	switch {
	case err != nil:
		return fmt.Errorf("cannot tell whether headless-e2e created cluster %q: %w; %s", name, err, refuse)
	case readErr != nil:
		return nil // its nodes went while we waited
	}
	if !strings.Contains(conf, CreatedByLabel+"="+CreatedBy) {
		return fmt.Errorf("kind cluster %q was not created by headless-e2e (its nodes have no label %s=%s), so %s", name, CreatedByLabel, CreatedBy, refuse)
	}
	return nil
}

// remove deletes the cluster, whoever made it: Down after its check, Finish for the cluster
// its own run created.
func remove(ctx context.Context, o *options) error {
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(o.logger))
	// A run stopped by a second Ctrl-C in its teardown leaves dockerd removing its nodes, and
	// `docker rm` of a node being removed fails: while docker still lists nodes, ask again.
	err := poll.Retry(ctx, poll.Input{What: fmt.Sprintf("deleting kind cluster %q", o.name), Timeout: time.Minute, Interval: time.Second},
		func(context.Context) (bool, string, error) {
			err := p.Delete(o.name, o.kubeconfig)
			if err == nil {
				return true, "", nil
			}
			nodes, listErr := p.ListNodes(o.name)
			switch {
			case listErr != nil:
				return false, "", poll.Stop(err)
			case len(nodes) == 0:
				return true, "", nil
			}
			return false, fmt.Sprintf("%d node(s) left: %v", len(nodes), err), nil
		})
	if err != nil {
		return err
	}
	_ = os.Remove(o.kubeconfig)
	if o.egressGuard != "" {
		left, err := p.List()
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return guard(ctx, o.out, o.egressGuard, "down")
		}
		fmt.Fprintf(o.out, "egress guard stays up: clusters %v still run\n", left)
	}
	return nil
}

// CollectLogs exports kind's node logs (journal, containerd, kubelet, pod logs) to dir.
func (c *Cluster) CollectLogs(dir string) error { return c.provider.CollectLogs(c.Name, dir) }

// dockerSays is what docker printed for a failed kind command: kind's error names only the
// command and its exit status, while docker's last line names the cause (no daemon at
// DOCKER_HOST, no permission on the socket).
func dockerSays(err error) string {
	if re := kindexec.RunErrorForError(err); re != nil && len(re.Output) > 0 {
		return LastLine(string(re.Output))
	}
	return err.Error()
}
