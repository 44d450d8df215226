package course

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// ReplaceInput describes the course's step 4: delete the StatefulSet's pods and follow each
// name to its new pod.
type ReplaceInput struct {
	Client  kubernetes.Interface
	From    headless.From
	Service string
	Zone    string
	Pods    []headless.PodAddr // the pods to delete, as they were
	// Families each name must follow the new pod in (its record type each); none: IPv4.
	Families []corev1.IPFamily
	Timeout  time.Duration
	// Interval is how often each pod and its name are checked (default 50 ms); short, because
	// the point is to measure how soon the name follows.
	Interval time.Duration
}

func (in ReplaceInput) validate() error {
	switch {
	case in.Client == nil:
		return errors.New("ReplaceInput.Client is nil")
	case in.Service == "" || in.Zone == "":
		return errors.New("ReplaceInput needs Service and Zone")
	case len(in.Pods) == 0:
		return errors.New("ReplaceInput.Pods is empty: nothing to replace")
	}
	return in.From.Validate()
}

// Convergence is one pod's replacement, timed from the delete call.
type Convergence struct {
	Deleted      time.Time // when the pods were deleted; the durations count from here
	Name         string
	OldIP, NewIP string        // the primary addresses
	NewIPs       []string      // every address of the new pod, one per family
	Ready        time.Duration // delete -> new pod seen Ready
	Answered     time.Duration // delete -> its name answered exactly the new IP
	Err          error
}

func (c Convergence) String() string {
	if c.Err != nil {
		return fmt.Sprintf("%s: %s -> %s FAILED: %v", c.Name, c.OldIP, c.NewIP, c.Err)
	}
	return fmt.Sprintf("%s: %s -> %s; delete->Ready %s, delete->answered %s, Ready->answered %s",
		c.Name, c.OldIP, c.NewIP, c.Ready.Round(time.Millisecond), c.Answered.Round(time.Millisecond), (c.Answered - c.Ready).Round(time.Millisecond))
}

// ReplacePods deletes the pods at once and, for each, polls in parallel until a new pod of
// the same name is Ready with a different IP and the pod's DNS name answers exactly that IP.
// It returns one Convergence per pod, and an error naming every pod that did not converge.
func ReplacePods(ctx context.Context, in ReplaceInput) ([]Convergence, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.Interval == 0 {
		in.Interval = 50 * time.Millisecond
	}
	start := time.Now()
	for _, p := range in.Pods {
		if err := in.Client.CoreV1().Pods(in.From.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			return nil, fmt.Errorf("deleting pod %s: %w", p.Name, err)
		}
	}
	results := make([]Convergence, len(in.Pods))
	_ = parallel.Do(len(in.Pods), 0, func(i int) error {
		results[i] = followPod(ctx, in, in.Pods[i], start) // its failure is in results[i].Err
		return nil
	})
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, r.Err))
		}
	}
	return results, errors.Join(errs...)
}

func followPod(ctx context.Context, in ReplaceInput, old headless.PodAddr, start time.Time) Convergence {
	c := Convergence{Deleted: start, Name: old.Name, OldIP: old.IP}
	name := dns.HostFQDN(old.Name, in.Service, in.From.Namespace, in.Zone)
	lastPod := "not seen yet"
	c.Err = poll.Retry(ctx, poll.Input{What: "replacing " + old.Name, Timeout: in.Timeout, Interval: in.Interval}, func(ctx context.Context) (bool, string, error) {
		pod, err := in.Client.CoreV1().Pods(in.From.Namespace).Get(ctx, old.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			lastPod = "deleted, not recreated yet"
		case err != nil:
			return false, "", err
		case string(pod.UID) == old.UID:
			lastPod = "old pod still terminating"
		default:
			now := headless.Addrs([]corev1.Pod{*pod})[0]
			c.NewIP, c.NewIPs = now.IP, now.IPs
			lastPod = fmt.Sprintf("new pod, phase %s, IPs %q, Ready %v", pod.Status.Phase, now.IPs, headless.PodReady(*pod))
			if reason := headless.StuckReason(*pod); reason != "" {
				return false, "", poll.Stop(fmt.Errorf("new pod stuck in %s:\n%s", reason, headless.PodReport(ctx, in.Client, *pod)))
			}
			if c.Ready == 0 && headless.PodReady(*pod) {
				c.Ready = time.Since(start)
			}
		}
		if c.NewIP == "" || c.Ready == 0 {
			return false, "pod: " + lastPod, nil
		}
		for _, check := range headless.AddressChecks(dns.Query{Name: name}, in.Families, headless.PodAddr{IP: c.NewIP, IPs: c.NewIPs}) {
			a, err := in.From.Ask(ctx, check.Query)
			if err != nil {
				return false, "pod: " + lastPod, err
			}
			if err := check.Want(a); err != nil {
				return false, "pod: " + lastPod + "; " + err.Error(), nil
			}
		}
		c.Answered = time.Since(start)
		for _, ip := range AllIPs([]headless.PodAddr{{IP: c.NewIP, IPs: c.NewIPs}}) {
			if slices.Contains(AllIPs([]headless.PodAddr{old}), ip) {
				return false, "", poll.Stop(fmt.Errorf("new pod got the old IP %s again: the test cannot tell old from new", ip))
			}
		}
		return true, "", nil
	})
	return c
}

// HoldInput is the check that answers stay right after they converged.
type HoldInput struct {
	From          headless.From
	Service       string
	Zone          string
	Before, After []headless.PodAddr
	Families      []corev1.IPFamily // the names are asked in each (A, AAAA); none: IPv4
	Window        time.Duration
}

// Hold is a hold window in progress: StartHold begins asking, Verdict waits for the window's
// end and judges every answer. Between the two, other checks can run: the window is a fixed
// wait, so nothing should wait for it that need not.
type Hold struct {
	in      HoldInput
	want    map[dns.Query]dns.Want
	q       *Querier
	started time.Time // every answer from here on must be exactly right
	until   time.Time
}

// StartHold asks for the service name and every pod name, over and over, until Verdict.
func StartHold(ctx context.Context, in HoldInput) (*Hold, error) {
	if err := in.From.Validate(); err != nil {
		return nil, err
	}
	if in.Window <= 0 || len(in.After) == 0 {
		return nil, errors.New("HoldInput needs a Window > 0 and the pods After")
	}
	want := ExpectedNames(in.Service, in.From.Namespace, in.Zone, in.After, in.Families)
	now := time.Now()
	return &Hold{in: in, want: want, q: StartQuerier(ctx, in.From, Queries(want)), started: now, until: now.Add(in.Window)}, nil
}

// Verdict waits for the end of the window and fails if any answer was not exactly the current
// one (an old IP, NXDOMAIN, an empty answer, a failed exec), or if nothing was asked. The
// report counts queries and answers with an old IP.
func (h *Hold) Verdict(ctx context.Context) (string, error) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(h.until)):
	}
	return h.judge(h.q.Stop())
}

// judge is Verdict's judgement of the answers the window saw, timed from its start.
func (h *Hold) judge(log []QueryLog) (string, error) {
	report := CountAnswers(log, h.want, AllIPs(h.in.Before), h.started)
	summary := fmt.Sprintf("hold window %s: %s", h.in.Window, report)
	if report.Failed > 0 || report.AfterConvergence == 0 {
		return summary, fmt.Errorf("%s:\n%s", summary, strings.Join(report.Examples, "\n"))
	}
	return summary, nil
}

// Stop ends the asking without a verdict (a feature that failed before it).
func (h *Hold) Stop() { h.q.Stop() }

// ExpectedNames is what a headless Service's names must answer for pods, in each family (none:
// IPv4): the service name every address, each pod's name its own.
func ExpectedNames(service, namespace, zone string, pods []headless.PodAddr, families []corev1.IPFamily) map[dns.Query]dns.Want {
	checks := headless.AddressChecks(dns.Query{Name: dns.ServiceFQDN(service, namespace, zone)}, families, pods...)
	for _, p := range pods {
		checks = append(checks, headless.AddressChecks(dns.Query{Name: dns.HostFQDN(p.Name, service, namespace, zone)}, families, p)...)
	}
	want := map[dns.Query]dns.Want{}
	for _, c := range checks {
		want[c.Query] = c.Want
	}
	return want
}

// Queries are the queries want has expectations for, in a stable order.
func Queries(want map[dns.Query]dns.Want) []dns.Query {
	queries := make([]dns.Query, 0, len(want))
	for q := range want {
		queries = append(queries, q)
	}
	sort.Slice(queries, func(i, j int) bool { return queries[i].String() < queries[j].String() })
	return queries
}

// AllIPs are every address of the pods, of every family, IPv4 first: what an AF_UNSPEC lookup
// of their name returns, as a set.
func AllIPs(pods []headless.PodAddr) []string {
	var ips []string
	for _, f := range []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol} {
		ips = append(ips, headless.IPsOf(pods, f)...)
	}
	return ips
}
