package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/knobs"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
)

// Settings are the suite's knobs, read once from the environment and printed at start.
type Settings struct {
	Cluster     cluster.Settings
	UseExisting bool   // USE_EXISTING_CLUSTER (1/true/yes): run against KUBECONFIG, any conformant cluster
	Kubeconfig  string // with UseExisting: $KUBECONFIG, one file or a list as kubectl reads it
	// Context (the suite's --context flag, e2e-framework's) is the kubeconfig context to use
	// with UseExisting instead of the current one, as kubectl --context.
	Context     string
	Keep        cluster.Keep // KEEP_CLUSTER
	Artifacts   string       // ARTIFACTS
	HelloImage  string       // HELLO_IMAGE
	ClientImage string       // CLIENT_IMAGE
	// ResolversImage (RESOLVERS_IMAGE) carries the resolver probes (area=resolvers).
	ResolversImage string
	// ProbeImage (PROBE_IMAGE) is the probe alone, for the library's own probe pod.
	ProbeImage string
	RepoRoot   string
}

// LoadSettings reads the environment. repoRoot is the checkout (the test's working dir is e2e/).
func LoadSettings(repoRoot string, v versions.Versions) (Settings, error) {
	clusterSettings, err := cluster.SettingsFromEnv()
	if err != nil {
		return Settings{}, err
	}
	useExisting, err := knobs.Bool("USE_EXISTING_CLUSTER")
	if err != nil {
		return Settings{}, err
	}
	s := Settings{
		Cluster:        clusterSettings,
		UseExisting:    useExisting,
		Kubeconfig:     os.Getenv("KUBECONFIG"),
		Keep:           cluster.Keep(envOr("KEEP_CLUSTER", string(cluster.KeepNever))),
		Artifacts:      envOr("ARTIFACTS", filepath.Join(repoRoot, v.DefaultArtifacts)),
		HelloImage:     envOr("HELLO_IMAGE", v.HelloImage),
		ClientImage:    envOr("CLIENT_IMAGE", v.ClientImage),
		ResolversImage: envOr("RESOLVERS_IMAGE", v.ResolversImage),
		ProbeImage:     envOr("PROBE_IMAGE", v.ProbeImage),
		RepoRoot:       repoRoot,
	}
	if err := s.Keep.Validate(); err != nil {
		return s, err
	}
	if s.UseExisting && s.Kubeconfig == "" {
		return s, errors.New("USE_EXISTING_CLUSTER is on, but KUBECONFIG is empty: point it at the cluster's kubeconfig")
	}
	if s.UseExisting {
		if err := readable(s.Kubeconfig); err != nil {
			return s, fmt.Errorf("USE_EXISTING_CLUSTER is on, but KUBECONFIG=%s cannot be read (%w): point KUBECONFIG at the cluster's kubeconfig file, or unset USE_EXISTING_CLUSTER to run on a kind cluster", s.Kubeconfig, err)
		}
	}
	abs, err := filepath.Abs(s.Artifacts)
	if err != nil {
		return s, err
	}
	s.Artifacts = abs
	return s, nil
}

// readable is nil when at least one file of a KUBECONFIG list exists: kubectl skips the missing
// ones, and so does client-go's loader.
func readable(kubeconfig string) error {
	var first error
	for _, f := range filepath.SplitList(kubeconfig) {
		_, err := os.Stat(f)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
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
		if s.Context != "" {
			target += ", context " + s.Context
		}
	}
	return strings.Join([]string{
		"headless-e2e settings:",
		"  cluster:      " + target,
		fmt.Sprintf("  offline:      %v (egress guard %v, cluster isolated %v)", s.Cluster.Offline, s.Cluster.EgressGuard, s.Cluster.Isolated),
		"  hello image:  " + s.HelloImage,
		"  client image: " + s.ClientImage,
		"  resolvers image: " + s.ResolversImage,
		"  probe image:  " + s.ProbeImage,
		"  artifacts:    " + s.Artifacts,
	}, "\n")
}

// Images maps the images the manifests name (the course's own, and the resolvers') to the ones
// to run (HELLO_IMAGE, CLIENT_IMAGE, RESOLVERS_IMAGE).
func (s Settings) Images(v versions.Versions) map[string]string {
	return manifestImages(v, s.HelloImage, s.ClientImage, s.ResolversImage)
}

// manifestImages maps the images the manifests name to hello, client and resolvers: the suite's
// and the lab's images go into the same manifests.
func manifestImages(v versions.Versions, hello, client, resolvers string) map[string]string {
	return map[string]string{v.CourseHelloImage: hello, v.CourseClientImage: client, v.ResolversImage: resolvers}
}

// workloadImages are the images every run puts on the nodes.
func (s Settings) workloadImages() []string {
	return []string{s.HelloImage, s.ClientImage, s.ResolversImage, s.ProbeImage}
}

// Connection is the cluster a run uses: the kind cluster of the settings (created when
// missing) or, with USE_EXISTING_CLUSTER, KUBECONFIG's.
type Connection struct {
	Cluster    *cluster.Cluster // nil with an existing cluster
	Kubeconfig string
	Client     kubernetes.Interface
	Klient     klient.Client
}

// Connect creates or reuses the cluster and builds its clients. The suite and the bench
// connect through it, so both honour the same knobs.
func Connect(ctx context.Context, s Settings, v versions.Versions, out io.Writer) (*Connection, error) {
	c := &Connection{Kubeconfig: s.Kubeconfig}
	if !s.UseExisting {
		k, err := cluster.Up(ctx, append(s.Cluster.Options(s.RepoRoot, v), cluster.WithOutput(out))...)
		c.Cluster = k
		if err != nil {
			return c, err
		}
		c.Kubeconfig = k.Kubeconfig
	}
	rc, err := cluster.RESTConfigFor(c.Kubeconfig, s.Context)
	if err != nil {
		return c, err
	}
	if c.Client, err = kubernetes.NewForConfig(rc); err != nil {
		return c, err
	}
	c.Klient, err = klient.New(rc)
	return c, err
}

// Course is the course's workload in namespace, reached through this connection.
func (c *Connection) Course(namespace string) course.Course {
	return course.Course{Client: c.Client, Exec: headless.PodExec{Resources: c.Klient.Resources(), Container: headless.ClientContainer}, Namespace: namespace}
}

// LoadImages puts images on every node of a kind cluster; an existing cluster must be able to
// pull them.
func (c *Connection) LoadImages(ctx context.Context, out io.Writer, images ...string) error {
	if c.Cluster == nil {
		return nil
	}
	if err := c.Cluster.LoadImages(ctx, out, images...); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("loading images: interrupted (%w)", err)
		}
		return fmt.Errorf("loading images (make images builds them): %w", err)
	}
	return nil
}

// Suite is the state shared by TestMain's steps and the features.
type Suite struct {
	Settings Settings
	Versions versions.Versions
	Conn     *Connection
	Course   course.Course // the course's workload in the run's namespace
	// DNS is the cluster's DNS setup as DeployCourse read it (dnsprofile.Detect): how long
	// caches may keep an answer, which every wait for DNS to follow a change allows.
	DNS     dnsprofile.Bounds
	failed  atomic.Bool
	started time.Time
	// unpullable are the images an existing cluster cannot get, with the kubelet's reason
	// (CheckImages): the features that need one are skipped (RequireImage).
	unpullable map[string]string
	// earlier is the verdict on the namespaces earlier runs left being deleted, checked
	// while this run works and reported by Finish.
	earlier chan string
}

// Cluster is the kind cluster of the run, nil on an existing cluster.
func (s *Suite) Cluster() *cluster.Cluster {
	if s.Conn == nil {
		return nil
	}
	return s.Conn.Cluster
}

// Client is the run's Kubernetes client.
func (s *Suite) Client() kubernetes.Interface { return s.Course.Client }

// Namespace is the run's own namespace.
func (s *Suite) Namespace() string { return s.Course.Namespace }

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
		return ctx, fmt.Errorf("docker does not answer (%s): run make docker", cluster.LastLine(string(out)))
	}
	var missing []string
	for _, img := range s.Settings.workloadImages() {
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
	start := time.Now()
	conn, err := Connect(ctx, s.Settings, s.Versions, os.Stdout)
	s.Conn = conn
	if err != nil {
		return ctx, err
	}
	if conn.Cluster != nil {
		s.Logf("cluster ready in %s", time.Since(start).Round(100*time.Millisecond))
	}
	s.Course = conn.Course("")
	cfg.WithKubeconfigFile(conn.Kubeconfig).WithClient(conn.Klient)
	return ctx, nil
}

// LoadImages puts the workload images on every node (kind only; an existing cluster must be
// able to pull them).
func (s *Suite) LoadImages(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	start := time.Now()
	err := s.Conn.LoadImages(ctx, os.Stdout, s.Settings.workloadImages()...)
	s.Logf("images on nodes in %s", time.Since(start).Round(100*time.Millisecond))
	return ctx, err
}

// CreateNamespace makes the run's own namespace, enforcing Pod Security "restricted".
func (s *Suite) CreateNamespace(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	name := envconf.RandomName("headless-e2e", 16)
	if err := kube.CreateRestrictedNamespace(ctx, kube.NamespaceInput{Client: s.Conn.Client, Name: name}); err != nil {
		return ctx, err
	}
	s.Course.Namespace = name
	cfg.WithNamespace(name)
	s.Logf("namespace %s (Pod Security: restricted)", name)
	return ctx, nil
}

// CheckImages tries each workload image on an existing cluster (USE_EXISTING_CLUSTER), whose
// nodes get images from registries the suite does not know (on kind, LoadImages puts them on
// the nodes). The course's own (HELLO_IMAGE, CLIENT_IMAGE) are needed by every feature: one the
// nodes cannot pull fails the run here, naming it. The others are needed by some features
// only, which RequireImage skips, saying which image to push.
func (s *Suite) CheckImages(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if !s.Settings.UseExisting {
		return ctx, nil
	}
	start := time.Now()
	images := s.Settings.workloadImages()
	errs := make([]error, len(images))
	_ = parallel.Do(len(images), 0, func(i int) error { // each result is judged below
		errs[i] = kube.CheckPullable(ctx, kube.PullInput{Client: s.Conn.Client, Namespace: s.Course.Namespace, Image: images[i], Timeout: 5 * time.Minute})
		return errs[i]
	})
	s.unpullable = map[string]string{}
	var course []string
	for i, img := range images {
		switch {
		case errors.Is(errs[i], kube.ErrCannotPull):
			s.unpullable[img] = errs[i].Error()
			s.Logf("image %s: %v", img, errs[i])
			if img == s.Settings.HelloImage || img == s.Settings.ClientImage {
				course = append(course, img)
			}
		case errs[i] != nil:
			return ctx, fmt.Errorf("checking that the cluster can pull %s: %w", img, errs[i])
		}
	}
	if len(course) > 0 {
		return ctx, fmt.Errorf("this cluster cannot pull the course's images %v (above): push them to a registry its nodes pull from and name them with HELLO_IMAGE and CLIENT_IMAGE", course)
	}
	s.Logf("images checked on the cluster in %s: %d of %d pullable", time.Since(start).Round(100*time.Millisecond), len(images)-len(s.unpullable), len(images))
	return ctx, nil
}

// RequireImage skips the feature when CheckImages found the cluster cannot pull image, with a
// line saying which image to push and the knob that names it.
func (s *Suite) RequireImage(t *testing.T, knob, image string) {
	if why, ok := s.unpullable[image]; ok {
		t.Skipf("skipped: this cluster cannot pull %s (%s): push it to a registry its nodes pull from and set %s to its name there", image, why, knob)
	}
}

// CheckEarlierRuns looks for the namespaces of earlier runs: those being deleted (a run does
// not wait for its namespace to go) are awaited in the background and reported by Finish;
// active ones (a run killed before its cleanup) are named with the command that deletes them.
func (s *Suite) CheckEarlierRuns(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	terminating, active, err := kube.EarlierRuns(ctx, s.Conn.Client, s.Course.Namespace)
	if err != nil {
		return ctx, err
	}
	if len(active) > 0 {
		s.Logf("warning: namespaces of earlier runs still active (killed before their cleanup?): %v; delete them with: kubectl delete namespace %s", active, strings.Join(active, " "))
	}
	s.earlier = make(chan string, 1)
	go func() {
		if len(terminating) == 0 {
			s.earlier <- "no namespace of an earlier run was being deleted"
			return
		}
		if err := kube.AwaitNamespacesGone(ctx, s.Conn.Client, terminating, 2*time.Minute); err != nil {
			s.earlier <- "earlier runs' namespaces not gone: " + err.Error()
			return
		}
		s.earlier <- fmt.Sprintf("earlier runs' namespaces %v: gone", terminating)
	}()
	return ctx, nil
}

// DeployCourseIn deploys a copy of the course in a namespace of its own, <run namespace>-<suffix>,
// for a feature that changes the workload (readiness, scaling) while others read the course's.
func (s *Suite) DeployCourseIn(ctx context.Context, suffix string) (course.Course, error) {
	name := s.Course.Namespace + "-" + suffix
	if err := kube.CreateRestrictedNamespace(ctx, kube.NamespaceInput{Client: s.Conn.Client, Name: name}); err != nil {
		return course.Course{}, err
	}
	return course.DeployCourse(ctx, course.DeployCourseInput{Client: s.Conn.Client, Resources: s.Conn.Klient.Resources(name), Namespace: name, Images: s.Settings.Images(s.Versions)})
}

// DeployCourseInStep is a feature's Setup step: a copy of the course in a namespace of its own
// (DeployCourseIn), into *own. A failure is an error, not Fatal: a failing Setup step would
// skip the Teardown that deletes the namespace.
func (s *Suite) DeployCourseInStep(own *course.Course, suffix string) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		var err error
		if *own, err = s.DeployCourseIn(ctx, suffix); err != nil {
			t.Error(err)
		}
		return ctx
	}
}

// DeployCourse applies the course's manifests and waits until its Service publishes the 3 pods
// (DeployCourse, the precondition of every feature).
func (s *Suite) DeployCourse(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	start := time.Now()
	course, err := course.DeployCourse(ctx, course.DeployCourseInput{Client: s.Conn.Client, Resources: cfg.Client().Resources(s.Course.Namespace),
		Namespace: s.Course.Namespace, Images: s.Settings.Images(s.Versions)})
	s.Course = course
	if err != nil {
		return ctx, err
	}
	s.Logf("course workload ready and published in %s; cluster DNS zone %q; IP families %v", time.Since(start).Round(100*time.Millisecond), s.Course.Zone, s.Course.Families)
	if s.DNS, err = dnsprofile.Detect(ctx, s.Conn.Client, s.Course.Zone); err != nil {
		return ctx, err
	}
	s.Logf("cluster DNS: %s; read: %s", s.DNS, s.DNS.Seen)
	return ctx, nil
}

// Variant names how this run's cluster differs from the default one (kubeadm's DNS, ipv4):
// "" for none, else the DNS setup and the IP family that differ, joined by "-" (cache30,
// dual, nodelocal-ipv6). Files of figures a run writes carry it.
func (s *Suite) Variant() string {
	var parts []string
	if s.DNS.Profile != "" && s.DNS.Profile != dnsprofile.Kubeadm {
		parts = append(parts, string(s.DNS.Profile))
	}
	if !s.Settings.UseExisting && s.Settings.Cluster.Family != cluster.IPv4 {
		parts = append(parts, string(s.Settings.Cluster.Family))
	}
	return strings.Join(parts, "-")
}

// Named is a feature's name as reports show it: with the cluster's IP family when it is not
// the course's own (ipv4), so the JUnit cases of an IP_FAMILY=dual or ipv6 run say so.
func (s *Suite) Named(feature string) string {
	if s.Settings.UseExisting || s.Settings.Cluster.Family == cluster.IPv4 {
		return feature
	}
	return fmt.Sprintf("%s [IP_FAMILY=%s]", feature, s.Settings.Cluster.Family)
}

// DNSTimeout is how long a wait for DNS to follow a change may take on this cluster: DNS's own
// (headless.DNSTimeout) and the longest its caches may keep an old answer.
func (s *Suite) DNSTimeout() time.Duration { return headless.DNSTimeout + s.DNS.Max() }

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
	client := s.Course.Client
	if failed && client != nil {
		dir := filepath.Join(s.Settings.Artifacts, time.Now().Format("20060102-150405"))
		s.Logf("failure: collecting artifacts into %s", dir)
		if err := CollectArtifacts(ctx, ArtifactsInput{Client: client, Namespace: s.Course.Namespace, Dir: dir, Cluster: s.Cluster()}); err != nil {
			s.Logf("collecting artifacts: %v", err)
		}
	}
	k := s.Cluster()
	created := k != nil && k.Created
	keep := s.Settings.Keep.Keeps(failed)
	// A cluster about to be deleted takes the namespace with it. Otherwise the deletion is
	// started and not waited for (5 to 7 s of the namespace controller): the next run checks
	// that it is gone (CheckEarlierRuns).
	if s.Course.Namespace != "" && client != nil && !(created && !keep) {
		if err := kube.StartNamespaceDeletion(ctx, client, s.Course.Namespace); err != nil {
			s.Logf("deleting namespace %s: %v", s.Course.Namespace, err)
		} else {
			s.Logf("namespace %s: deletion started (the next run checks it is gone)", s.Course.Namespace)
		}
	}
	if s.earlier != nil {
		select {
		case verdict := <-s.earlier:
			s.Logf("%s", verdict)
		default:
			s.Logf("earlier runs' namespaces: still being deleted as this run ends")
		}
	}
	if !created {
		return ctx, nil
	}
	start := time.Now()
	deleted, err := cluster.Finish(ctx, s.Settings.Keep, failed, os.Stdout, s.Settings.Cluster.Options(s.Settings.RepoRoot, s.Versions)...)
	if err != nil {
		s.Logf("deleting cluster: %v", err)
		return ctx, err
	}
	if deleted {
		s.Logf("cluster %q deleted in %s", k.Name, time.Since(start).Round(100*time.Millisecond))
	}
	return ctx, nil
}
