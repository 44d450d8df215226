package resolvers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// A headless Service is only as good as the resolver that reads it: an application sees what
// its C library, its runtime or its DNS client make of CoreDNS's answer. The resolvers image
// (manifests/resolvers) carries one probe per resolver applications use, all with one
// contract: `PROBE INTERVAL_MS DURATION_MS NAME...` asks for each name every INTERVAL_MS until
// DURATION_MS have passed, from one long-lived process, and prints one JSON Lookup per answer.

// ResolversSelector finds the resolvers pod; ResolversContainer is its container.
const (
	ResolversSelector  = "app=resolvers"
	ResolversContainer = "resolvers"
)

// Resolver is one resolver applications use, with what its documentation promises. The
// area=resolvers features assert each promise on the real cluster; a resolver that behaves
// otherwise fails its cell of the matrix, naming what it returned.
type Resolver struct {
	Name    string   // the matrix's row
	Package string   // whose version the matrix prints (a key of the image's package list)
	Command []string // the probe; INTERVAL_MS DURATION_MS NAME... follow
	// TCPFallback: a truncated UDP answer is asked again over TCP, so every address arrives.
	TCPFallback bool
	// MaxAddrs caps the addresses returned (musl's MAXADDRS, 48); 0 is no cap.
	MaxAddrs int
	// SortsIPv4 reorders an IPv4 answer (RFC 3484 destination selection) instead of keeping
	// the server's order.
	SortsIPv4 bool
	// CacheTTL and NegativeTTL: how long the process keeps a successful (failed) lookup.
	CacheTTL, NegativeTTL time.Duration
	// FirstFamily is the family whose addresses come first when a name has both (a dual-stack
	// cluster's, whose pods' IPv6 addresses are ULAs, fd00:10:244::/56), with its source in
	// FamilyOrder: RFC 6724's policy table ranks IPv4 (::ffff:0:0/96, precedence 35) over
	// ULAs (fc00::/7, 3), RFC 3484's, which glibc keeps, IPv6 (::/0, 40) over IPv4 (10).
	FirstFamily corev1.IPFamily
	FamilyOrder string
	Documented  string // where the promises above come from
}

// javaProbe runs Probe.class with flags for a short-lived, small JVM.
func javaProbe(props ...string) []string {
	cmd := []string{"java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData"}
	cmd = append(cmd, props...)
	return append(cmd, "-cp", "/usr/local/lib/resolvers", "Probe")
}

// All returns the rows of the matrix, BIND's dig first as the reference: a new slice each
// call, so no caller can change what another one sees.
func All() []Resolver { return slices.Clone(all) }

var all = []Resolver{
	{Name: "dig", Package: "bind9-dnsutils", Command: []string{"resolve", "-dig"}, TCPFallback: true,
		FirstFamily: corev1.IPv4Protocol, FamilyOrder: "the probe asks A, then AAAA (images/resolvers/resolve)",
		Documented: "dig(1): EDNS 1232 bytes, retries over TCP on TC unless +ignore, prints the answer's order; a new process per lookup, no cache"},
	// getaddrinfo sorts by RFC 3484 (sysdeps/posix/getaddrinfo.c, rfc3484_sort); for IPv4,
	// rule 9 (longest matching prefix) counts only inside the source's subnet: Rule9.
	{Name: "glibc", Package: "libc6", Command: []string{"gai-glibc"}, TCPFallback: true, SortsIPv4: true,
		FirstFamily: corev1.IPv6Protocol, FamilyOrder: glibcFamilyOrder,
		Documented: "glibc getaddrinfo: retries over TCP on TC, RFC 3484 sort (rule 9 inside the source's subnet), no cache without nscd"},
	{Name: "musl", Package: "musl", Command: []string{"gai-musl"}, MaxAddrs: 48,
		FirstFamily: corev1.IPv4Protocol, FamilyOrder: muslFamilyOrder,
		Documented: "musl < 1.2.4: no TCP fallback, uses what a truncated UDP answer holds; MAXADDRS 48; IPv4-only results unsorted"},
	{Name: "musl-next", Package: "musl-next", Command: []string{"gai-musl-next"}, TCPFallback: true, MaxAddrs: 48,
		FirstFamily: corev1.IPv4Protocol, FamilyOrder: muslFamilyOrder,
		Documented: "musl >= 1.2.4: TCP after TC; MAXADDRS 48; IPv4-only results unsorted"},
	{Name: "go", Package: "go", Command: []string{"env", "GODEBUG=netdns=go", "resolve"}, TCPFallback: true,
		FirstFamily: corev1.IPv4Protocol, FamilyOrder: "Go net/addrselect.go: RFC 6724's policy table (rfc6724policyTable)",
		Documented: "Go net (netdns=go): EDNS 1232, TCP after TC, RFC 6724 sort with rule 9 for IPv6 only, no cache"},
	{Name: "go-cgo", Package: "libc6", Command: []string{"env", "GODEBUG=netdns=cgo", "resolve"}, TCPFallback: true, SortsIPv4: true,
		FirstFamily: corev1.IPv6Protocol, FamilyOrder: glibcFamilyOrder,
		Documented: "Go net (netdns=cgo): glibc's getaddrinfo"},
	{Name: "jvm", Package: "openjdk-17-jre-headless", Command: javaProbe(), TCPFallback: true, SortsIPv4: true,
		FirstFamily: corev1.IPv4Protocol, FamilyOrder: jvmFamilyOrder,
		CacheTTL: 30 * time.Second, NegativeTTL: 10 * time.Second,
		Documented: "java.security: networkaddress.cache.ttl 30 s without a security manager, negative.ttl 10 s; lookups through getaddrinfo"},
	{Name: "jvm-ttl0", Package: "openjdk-17-jre-headless", Command: javaProbe("-Dprobe.cache.ttl=0"), TCPFallback: true, SortsIPv4: true,
		FirstFamily: corev1.IPv4Protocol, FamilyOrder: jvmFamilyOrder,
		NegativeTTL: 10 * time.Second,
		Documented:  "networkaddress.cache.ttl=0: no positive cache; negative.ttl stays 10 s"},
}

// Where each resolver's family order comes from.
const (
	glibcFamilyOrder = "glibc sysdeps/posix/getaddrinfo.c default_precedence, RFC 3484's table (no /etc/gai.conf in the image): ::/0 40 over ::ffff:0:0/96 10, no ULA row"
	muslFamilyOrder  = "musl src/network/lookup_name.c defpolicy, RFC 6724's table: ::ffff:0:0/96 35 over fc00::/7 3"
	jvmFamilyOrder   = "java.net.preferIPv6Addresses, default false: IPv4 addresses first (java.net docs, Networking Properties)"
)

// Lookup is one answer a probe printed.
type Lookup struct {
	Name  string   `json:"name"`
	At    int64    `json:"at"` // Unix milliseconds at the call (the pod's clock is the node's)
	MS    float64  `json:"ms"` // how long the call took
	Addrs []string `json:"addrs"`
	Error string   `json:"error"`
}

// ParseLookup reads one line a probe printed.
func ParseLookup(line []byte) (Lookup, error) {
	var l Lookup
	if err := json.Unmarshal(line, &l); err != nil {
		return l, fmt.Errorf("printed %q, not a lookup: %w", line, err)
	}
	if l.Name == "" || l.At == 0 {
		return l, fmt.Errorf("printed %q, a lookup without its name or time", line)
	}
	for i, a := range l.Addrs { // one form for every probe: the JVM prints fd00:10:244:2:0:0:0:4
		if addr, err := netip.ParseAddr(a); err == nil {
			l.Addrs[i] = addr.String()
		}
	}
	return l, nil
}

// ParseLookups reads every line a probe printed (a probe's output saved to a file).
func ParseLookups(r io.Reader) ([]Lookup, error) {
	var lookups []Lookup
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l, err := ParseLookup(sc.Bytes())
		if err != nil {
			return lookups, err
		}
		lookups = append(lookups, l)
	}
	return lookups, sc.Err()
}

// Time is when the lookup was made.
func (l Lookup) Time() time.Time { return time.UnixMilli(l.At) }

func (l Lookup) String() string {
	if l.Error != "" {
		return fmt.Sprintf("%s -> error %q", l.Name, l.Error)
	}
	return fmt.Sprintf("%s -> %v", l.Name, l.Addrs)
}

// ProbeInput is one probe process: which resolver, from where, for which names, how long.
type ProbeInput struct {
	From     headless.From // the resolvers pod (its Exec must be a headless.Streamer)
	Resolver Resolver
	Names    []string
	Interval time.Duration
	Duration time.Duration // 0: one round
}

func (in ProbeInput) validate() error {
	if err := in.From.Validate(); err != nil {
		return err
	}
	if _, ok := in.From.Exec.(headless.Streamer); !ok {
		return fmt.Errorf("ProbeInput.From.Exec (%T) cannot stream: use PodExec", in.From.Exec)
	}
	if len(in.Resolver.Command) == 0 || len(in.Names) == 0 {
		return errors.New("ProbeInput needs a Resolver with a Command, and Names")
	}
	return nil
}

// Probe is a probe process running in the pod.
type Probe struct {
	in      ProbeInput
	mu      sync.Mutex
	lookups []Lookup
	started chan struct{}
	once    sync.Once
	done    chan struct{}
	err     error
	stderr  strings.Builder
}

// StartProbe starts the probe process and collects its lookups as they are printed.
func StartProbe(ctx context.Context, in ProbeInput) (*Probe, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	p := &Probe{in: in, started: make(chan struct{}), done: make(chan struct{})}
	cmd := append(append([]string{}, in.Resolver.Command...), strconv.FormatInt(in.Interval.Milliseconds(), 10), strconv.FormatInt(in.Duration.Milliseconds(), 10))
	cmd = append(cmd, in.Names...)
	pr, pw := io.Pipe()
	go func() {
		err := in.From.Exec.(headless.Streamer).Stream(ctx, in.From.Namespace, in.From.Pod, cmd, pw, &p.stderr)
		pw.CloseWithError(err)
	}()
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l, err := ParseLookup(sc.Bytes())
			if err != nil {
				p.err = fmt.Errorf("%s: %w", in.Resolver.Name, err)
				pr.CloseWithError(p.err)
				return
			}
			p.mu.Lock()
			p.lookups = append(p.lookups, l)
			p.mu.Unlock()
			p.once.Do(func() { close(p.started) })
		}
		if err := sc.Err(); err != nil {
			p.err = fmt.Errorf("%s (%s): %w; stderr: %s", in.Resolver.Name, strings.Join(cmd, " "), err, lastLines(p.stderr.String(), 5))
		}
	}()
	return p, nil
}

// Started is closed at the probe's first lookup: from then on, a cache it keeps is filled.
func (p *Probe) Started() <-chan struct{} { return p.started }

// AwaitProbesStarted waits until every probe has made its first lookup, and stops at once
// when one has ended without any.
func AwaitProbesStarted(ctx context.Context, probes []*Probe, timeout time.Duration) error {
	return poll.Retry(ctx, poll.Input{What: "probes' first lookups", Timeout: timeout, Interval: 50 * time.Millisecond}, func(ctx context.Context) (bool, string, error) {
		var waiting []string
		for _, p := range probes {
			select {
			case <-p.started:
				continue
			default:
			}
			select {
			case <-p.done: // ended without a lookup: Wait says why
				_, err := p.Wait()
				return false, "", poll.Stop(err)
			default:
				waiting = append(waiting, p.in.Resolver.Name)
			}
		}
		return len(waiting) == 0, "no lookup yet from " + strings.Join(waiting, ", "), nil
	})
}

// Wait waits for the probe to end and returns every lookup it printed.
func (p *Probe) Wait() ([]Lookup, error) {
	<-p.done
	if p.err == nil && len(p.lookups) == 0 {
		p.err = fmt.Errorf("%s printed no lookup; stderr: %s", p.in.Resolver.Name, lastLines(p.stderr.String(), 5))
	}
	return p.lookups, p.err
}

// RunProbe runs a probe to its end.
func RunProbe(ctx context.Context, in ProbeInput) ([]Lookup, error) {
	p, err := StartProbe(ctx, in)
	if err != nil {
		return nil, err
	}
	return p.Wait()
}

// DeployResolversInput is where to run the resolvers pod, with which image.
type DeployResolversInput struct {
	Client    kubernetes.Interface
	Resources *resources.Resources
	Namespace string
	Images    map[string]string // as DeployInput.Images: the manifest's image -> the one to run
}

// DeployResolvers creates the resolvers pod (manifests/resolvers) in the namespace and
// returns it, Ready, to probe from.
func DeployResolvers(ctx context.Context, in DeployResolversInput) (headless.From, error) {
	if in.Client == nil || in.Resources == nil || in.Namespace == "" {
		return headless.From{}, errors.New("DeployResolversInput needs Client, Resources and Namespace")
	}
	err := kube.Deploy(ctx, kube.DeployInput{Resources: in.Resources, Namespace: in.Namespace, Manifests: manifests.Resolvers, Pattern: "resolvers/*.yaml", Images: in.Images})
	if err != nil {
		return headless.From{}, err
	}
	pods, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: ResolversSelector, Count: 1, Timeout: course.PodTimeout})
	if err != nil {
		return headless.From{}, err
	}
	return headless.From{Exec: headless.PodExec{Resources: in.Resources, Container: ResolversContainer}, Namespace: in.Namespace, Pod: pods[0].Name}, nil
}

// ResolverVersions reads the package list the image build recorded (package -> version).
func ResolverVersions(ctx context.Context, from headless.From) (map[string]string, error) {
	out, stderr, err := from.Run(ctx, "cat", "/usr/local/share/resolvers/packages", "/usr/local/share/resolvers/probes")
	if err != nil {
		return nil, fmt.Errorf("reading the resolvers image's versions: %w (%s)", err, stderr)
	}
	versions := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if pkg, version, ok := strings.Cut(line, " "); ok {
			versions[pkg] = version
		}
	}
	return versions, nil
}

// SourcePrefix is the resolvers pod's own address with its interface's prefix length, read
// from inside the pod: what glibc's rule 9 compares destinations with (Rule9).
func SourcePrefix(ctx context.Context, from headless.From) (netip.Prefix, error) {
	out, stderr, err := from.Run(ctx, "resolve", "-local")
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("resolve -local: %w (%s)", err, stderr)
	}
	var prefixes []string
	if err := json.Unmarshal([]byte(out), &prefixes); err != nil {
		return netip.Prefix{}, fmt.Errorf("resolve -local printed %q: %w", out, err)
	}
	for _, s := range prefixes {
		p, err := netip.ParsePrefix(s)
		if err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("the resolvers pod has no IPv4 address but loopback: %v", prefixes)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " ")
}
