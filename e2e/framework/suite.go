package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/manifests"
)

// Keep says when the suite leaves a cluster it created behind.
type Keep string

// KEEP_CLUSTER values.
const (
	KeepNever     Keep = "never"
	KeepOnFailure Keep = "on-failure"
	KeepAlways    Keep = "always"
)

// Settings are the suite's knobs, read once from the environment and printed at start.
type Settings struct {
	Cluster     cluster.Settings
	UseExisting bool   // USE_EXISTING_CLUSTER=1: run against KUBECONFIG, any conformant cluster
	Kubeconfig  string // with UseExisting: $KUBECONFIG
	Keep        Keep   // KEEP_CLUSTER
	Artifacts   string // ARTIFACTS
	HelloImage  string // HELLO_IMAGE
	ClientImage string // CLIENT_IMAGE
	RepoRoot    string
}

// LoadSettings reads the environment. repoRoot is the checkout (the test's working dir is e2e/).
func LoadSettings(repoRoot string, v versions.Versions) (Settings, error) {
	s := Settings{
		Cluster:     cluster.SettingsFromEnv(),
		UseExisting: os.Getenv("USE_EXISTING_CLUSTER") == "1",
		Kubeconfig:  os.Getenv("KUBECONFIG"),
		Keep:        Keep(envOr("KEEP_CLUSTER", string(KeepNever))),
		Artifacts:   envOr("ARTIFACTS", filepath.Join(repoRoot, "_artifacts")),
		HelloImage:  envOr("HELLO_IMAGE", v.HelloImage),
		ClientImage: envOr("CLIENT_IMAGE", v.ClientImage),
		RepoRoot:    repoRoot,
	}
	switch s.Keep {
	case KeepNever, KeepOnFailure, KeepAlways:
	default:
		return s, fmt.Errorf("KEEP_CLUSTER=%q: want never, on-failure or always", s.Keep)
	}
	if s.UseExisting && s.Kubeconfig == "" {
		return s, errors.New("USE_EXISTING_CLUSTER=1 needs KUBECONFIG pointing at the cluster's kubeconfig")
	}
	if s.UseExisting {
		if _, err := os.Stat(s.Kubeconfig); err != nil {
			return s, fmt.Errorf("USE_EXISTING_CLUSTER=1, but KUBECONFIG=%s cannot be read (%w): point KUBECONFIG at the cluster's kubeconfig file, or unset USE_EXISTING_CLUSTER to run on a kind cluster", s.Kubeconfig, err)
		}
	}
	abs, err := filepath.Abs(s.Artifacts)
	if err != nil {
		return s, err
	}
	s.Artifacts = abs
	return s, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (s Settings) String() string {
	target := fmt.Sprintf("kind cluster %q (created unless it exists; KEEP_CLUSTER=%s)", s.Cluster.Name, s.Keep)
	if s.UseExisting {
		target = "existing cluster at KUBECONFIG=" + s.Kubeconfig
	}
	return strings.Join([]string{
		"headless-e2e settings:",
		"  cluster:      " + target,
		fmt.Sprintf("  offline:      %v (egress guard %v)", s.Cluster.Offline, s.Cluster.EgressGuard),
		"  hello image:  " + s.HelloImage,
		"  client image: " + s.ClientImage,
		"  artifacts:    " + s.Artifacts,
	}, "\n")
}

// Suite is the state shared by TestMain's steps and the features.
type Suite struct {
	Settings  Settings
	Versions  versions.Versions
	Cluster   *cluster.Cluster // nil with UseExisting
	Namespace string
	Zone      string // cluster DNS zone, discovered
	Client    kubernetes.Interface
	exec      Executor
	failed    atomic.Bool
	started   time.Time
}

// Logf prints a suite-level line with the time since the start.
func (s *Suite) Logf(format string, args ...any) {
	fmt.Printf("[%6.1fs] %s\n", time.Since(s.started).Seconds(), fmt.Sprintf(format, args...))
}

// InterruptContext is cancelled by the first SIGINT/SIGTERM, which lets the teardown run;
// after that the default handling is back, so a second Ctrl-C exits at once.
func InterruptContext() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
		fmt.Fprintln(os.Stderr, "interrupted: tearing down (Ctrl-C again to exit at once)")
	}()
	return ctx
}

// NewSuite returns a suite for settings.
func NewSuite(s Settings, v versions.Versions) *Suite {
	return &Suite{Settings: s, Versions: v, started: time.Now()}
}

// Preflight fails in seconds, naming the make target, when something the run needs is missing.
func (s *Suite) Preflight(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	fmt.Println(s.Settings)
	if s.Settings.UseExisting {
		return ctx, nil
	}
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		return ctx, fmt.Errorf("docker does not answer (%s): run make docker", lastLines(string(out), 1))
	}
	var missing []string
	for _, img := range []string{s.Settings.HelloImage, s.Settings.ClientImage} {
		if exec.CommandContext(ctx, "docker", "image", "inspect", img).Run() != nil {
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		return ctx, fmt.Errorf("images %v are not in docker: run make images (or pull them)", missing)
	}
	return ctx, nil
}

// ProvisionCluster creates or reuses the kind cluster (or takes KUBECONFIG's) and points the
// framework at a private kubeconfig.
func (s *Suite) ProvisionCluster(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	kubeconfig := s.Settings.Kubeconfig
	if !s.Settings.UseExisting {
		start := time.Now()
		c, err := cluster.Up(ctx, append(s.Settings.Cluster.Options(s.Settings.RepoRoot, s.Versions), cluster.WithOutput(os.Stdout))...)
		s.Cluster = c
		if err != nil {
			return ctx, err
		}
		s.Logf("cluster ready in %s", time.Since(start).Round(100*time.Millisecond))
		kubeconfig = c.Kubeconfig
	}
	rc, err := cluster.RESTConfig(kubeconfig)
	if err != nil {
		return ctx, err
	}
	if s.Client, err = kubernetes.NewForConfig(rc); err != nil {
		return ctx, err
	}
	kc, err := klient.New(rc)
	if err != nil {
		return ctx, err
	}
	s.exec = PodExec{Resources: kc.Resources(), Container: "client"}
	cfg.WithKubeconfigFile(kubeconfig).WithClient(kc)
	return ctx, nil
}

// LoadImages puts the workload images on every node (kind only; an existing cluster must be
// able to pull them).
func (s *Suite) LoadImages(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if s.Cluster == nil {
		return ctx, nil
	}
	start := time.Now()
	err := s.Cluster.LoadImages(ctx, os.Stdout, s.Settings.HelloImage, s.Settings.ClientImage)
	s.Logf("images on nodes in %s", time.Since(start).Round(100*time.Millisecond))
	return ctx, err
}

// CreateNamespace makes the run's own namespace, enforcing Pod Security "restricted".
func (s *Suite) CreateNamespace(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s.Namespace = envconf.RandomName("headless-e2e", 16)
	ns := &corev1.Namespace{}
	ns.Name = s.Namespace
	ns.Labels = map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
		"app.kubernetes.io/created-by":       "headless-e2e",
	}
	if err := cfg.Client().Resources().Create(ctx, ns); err != nil {
		return ctx, fmt.Errorf("creating namespace %s: %w", s.Namespace, err)
	}
	cfg.WithNamespace(s.Namespace)
	s.Logf("namespace %s (Pod Security: restricted)", s.Namespace)
	return ctx, nil
}

// DeployCourse applies the course's manifests and waits for the 3 hello pods and the client.
func (s *Suite) DeployCourse(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	start := time.Now()
	err := Deploy(ctx, DeployInput{
		Resources: cfg.Client().Resources(s.Namespace),
		Namespace: s.Namespace,
		Manifests: manifests.Headless,
		Pattern:   "headless/*.yaml",
		Images:    map[string]string{s.Versions.HelloImage: s.Settings.HelloImage, s.Versions.ClientImage: s.Settings.ClientImage},
	})
	if err != nil {
		return ctx, err
	}
	for _, w := range []WaitPodsInput{
		{Selector: "app=hello-kubernetes", Count: 3},
		{Selector: "app=client", Count: 1},
	} {
		w.Client, w.Namespace, w.Timeout = s.Client, s.Namespace, 2*time.Minute
		if _, err := WaitPodsReady(ctx, w); err != nil {
			return ctx, err
		}
	}
	client, err := s.ClientPod(ctx)
	if err != nil {
		return ctx, err
	}
	resolv, _, err := s.Exec().Exec(ctx, s.Namespace, client, []string{"cat", "/etc/resolv.conf"})
	if err != nil {
		return ctx, fmt.Errorf("reading the client's resolv.conf: %w", err)
	}
	if s.Zone, err = ClusterZone(resolv, s.Namespace); err != nil {
		return ctx, err
	}
	s.Logf("course workload ready in %s; cluster DNS zone %q", time.Since(start).Round(100*time.Millisecond), s.Zone)
	return ctx, nil
}

// Exec runs commands in the client pod's container (one client for the whole run: building
// one per call costs more than the exec itself).
func (s *Suite) Exec() Executor { return s.exec }

// ClientPod is the name of the client Deployment's Ready pod.
func (s *Suite) ClientPod(ctx context.Context) (string, error) {
	pods, err := s.Client.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=client"})
	if err != nil {
		return "", err
	}
	for _, p := range pods.Items {
		if PodReady(p) && p.DeletionTimestamp == nil {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no Ready client pod in %s", s.Namespace)
}

// RecordFailure remembers that a feature failed, for the artifacts and the keep policy.
func (s *Suite) RecordFailure(ctx context.Context, cfg *envconf.Config, t *testing.T, f features.Feature) (context.Context, error) {
	if t.Failed() {
		s.failed.Store(true)
	}
	return ctx, nil
}

// MarkFailed records a failure outside a feature (a setup step).
func (s *Suite) MarkFailed() { s.failed.Store(true) }

// Finish collects artifacts if anything failed (or the run was interrupted), deletes the
// cluster if this run created it and the keep policy allows, else the namespace. It runs
// after Ctrl-C too, so it works on a fresh context of its own.
func (s *Suite) Finish(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	interrupted := ctx.Err() != nil // read before ctx is replaced by one never cancelled
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	failed := s.failed.Load() || interrupted
	if failed && s.Client != nil {
		dir := filepath.Join(s.Settings.Artifacts, time.Now().Format("20060102-150405"))
		s.Logf("failure: collecting artifacts into %s", dir)
		if err := CollectArtifacts(ctx, ArtifactsInput{Client: s.Client, Namespace: s.Namespace, Dir: dir, Cluster: s.Cluster}); err != nil {
			s.Logf("collecting artifacts: %v", err)
		}
	}
	keep := s.Settings.Keep == KeepAlways || (s.Settings.Keep == KeepOnFailure && failed)
	// A cluster about to be deleted takes the namespace with it: waiting for the namespace to
	// go first only delays the end (7 to 18 s here, half the teardown after a Ctrl-C).
	deleteCluster := s.Cluster != nil && s.Cluster.Created && !keep
	if s.Namespace != "" && s.Client != nil && !deleteCluster {
		start := time.Now()
		if err := DeleteNamespace(ctx, NamespaceInput{Client: s.Client, Name: s.Namespace, Timeout: time.Minute}); err != nil {
			s.Logf("deleting namespace %s: %v", s.Namespace, err)
		} else {
			s.Logf("namespace %s deleted in %s", s.Namespace, time.Since(start).Round(100*time.Millisecond))
		}
	}
	if s.Cluster == nil || !s.Cluster.Created {
		return ctx, nil
	}
	if keep {
		s.Logf("keeping cluster %q (KEEP_CLUSTER=%s); delete it with: make cluster-down KIND_CLUSTER_NAME=%s", s.Cluster.Name, s.Settings.Keep, s.Cluster.Name)
		return ctx, nil
	}
	start := time.Now()
	if err := cluster.Down(ctx, s.Settings.Cluster.Options(s.Settings.RepoRoot, s.Versions)...); err != nil {
		s.Logf("deleting cluster: %v", err)
		return ctx, err
	}
	s.Logf("cluster %q deleted in %s", s.Cluster.Name, time.Since(start).Round(100*time.Millisecond))
	return ctx, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " ")
}
