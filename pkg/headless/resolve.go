package headless

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// DNSInterval is how often a DNS wait asks again. One ask is an exec through the API server
// (about 60-90 ms here, `make bench` prints it as the lookup round trip): asking every 100 ms
// keeps a wait's resolution near one round trip without queueing execs.
const DNSInterval = 100 * time.Millisecond

// DNSCheck is one query and what its answer must be.
type DNSCheck struct {
	Query dns.Query
	Want  dns.Want
}

// AwaitDNSInput is a set of checks to repeat, from one pod, until every answer passes.
type AwaitDNSInput struct {
	From    From
	Checks  []DNSCheck
	Timeout time.Duration
	// Diagnose, when set, is asked once when answers are still wrong after DiagnoseAfter
	// (default 2 s): a cause it returns as a poll.Stop error ends the wait at once (a selector
	// that matches nothing does not heal by waiting); any other cause goes into the message.
	Diagnose      func(context.Context) error
	DiagnoseAfter time.Duration
	// Also are further conditions that must hold in the same round, such as the EndpointSlices
	// the answers are served from; an error from one is a failed condition, not a stop.
	Also []func(context.Context) error
}

func (in AwaitDNSInput) validate() error {
	if err := in.From.Validate(); err != nil {
		return err
	}
	if len(in.Checks) == 0 {
		return errors.New("AwaitDNSInput.Checks is empty: nothing to wait for")
	}
	for i, c := range in.Checks {
		if c.Query.Name == "" || c.Want == nil {
			return fmt.Errorf("AwaitDNSInput.Checks[%d]: a query name and a Want are required", i)
		}
	}
	return nil
}

// AwaitDNS asks every check's query at once, over and over, until all answers pass. It returns
// the passing answers (in the order of Checks) and the time it took; on timeout, the error
// holds every check that failed in the last round, with its answer.
func AwaitDNS(ctx context.Context, in AwaitDNSInput) ([]dns.Answer, time.Duration, error) {
	if err := in.validate(); err != nil {
		return nil, 0, err
	}
	if in.DiagnoseAfter == 0 {
		in.DiagnoseAfter = 2 * time.Second
	}
	start := time.Now()
	var answers []dns.Answer
	diagnosis := ""
	what := fmt.Sprintf("from %s, %s", in.From, in.Checks[0].Query)
	if len(in.Checks) > 1 {
		what += fmt.Sprintf(" and %d other queries", len(in.Checks)-1)
	}
	err := poll.Retry(ctx, poll.Input{What: what, Timeout: in.Timeout, Interval: DNSInterval}, func(ctx context.Context) (bool, string, error) {
		var err error
		if answers, err = askAll(ctx, in.From, in.Checks); err != nil {
			return false, "", err
		}
		var problems []string
		for _, also := range in.Also {
			if err := also(ctx); err != nil {
				problems = append(problems, err.Error())
			}
		}
		for i, c := range in.Checks {
			if err := c.Want(answers[i]); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) == 0 {
			return true, "", nil
		}
		if in.Diagnose != nil && diagnosis == "" && time.Since(start) >= in.DiagnoseAfter {
			diagnosis = "no known cause found"
			if err := in.Diagnose(ctx); err != nil {
				if poll.IsStop(err) {
					return false, "", poll.Stop(fmt.Errorf("%w\n  while waiting, DNS answered: %s", err, strings.Join(problems, "\n  ")))
				}
				diagnosis = err.Error()
			}
		}
		state := strings.Join(problems, "\n  ")
		if diagnosis != "" {
			state += "\n  diagnosis: " + diagnosis
		}
		return false, state, nil
	})
	return answers, time.Since(start), err
}

// askAll asks the queries at once, each its own exec.
func askAll(ctx context.Context, from From, checks []DNSCheck) ([]dns.Answer, error) {
	answers := make([]dns.Answer, len(checks))
	err := parallel.Do(len(checks), 0, func(i int) error {
		var err error
		answers[i], err = from.Ask(ctx, checks[i].Query)
		return err
	})
	return answers, err
}

// AwaitAnswer is AwaitDNS for one query: it returns its passing answer.
func AwaitAnswer(ctx context.Context, from From, q dns.Query, want dns.Want, timeout time.Duration) (dns.Answer, time.Duration, error) {
	answers, took, err := AwaitDNS(ctx, AwaitDNSInput{From: from, Checks: []DNSCheck{{Query: q, Want: want}}, Timeout: timeout})
	if len(answers) == 0 {
		return dns.Answer{}, took, err
	}
	return answers[0], took, err
}

// Zone reads the cluster DNS zone from the pod's resolv.conf (through the probe, which every
// image DNS is asked from carries), so nothing assumes cluster.local.
func Zone(ctx context.Context, from From) (string, error) {
	text, stderr, err := from.Run(ctx, dns.Probe, "resolv.conf")
	if err != nil {
		return "", fmt.Errorf("reading the resolv.conf of %s: %w: %s", from, err, stderr)
	}
	conf, err := dns.ParseResolvConf(text)
	if err != nil {
		return "", err
	}
	return dns.ClusterZone(conf, from.Namespace)
}

// Walk is the search walk a stub resolver in the pod makes for a relative name: the names it
// asks, in order, and what each must be told.
type Walk []WalkStep

// WalkStep is one name the resolver must ask and what it must be told.
type WalkStep struct {
	Name string
	Want dns.Want
}

// Judge is a dns.Want for a search walk's answer: it asked exactly the steps' names, in order,
// and each answer passed its step's Want.
func (w Walk) Judge(a dns.Answer) error {
	if len(a.Walk) != len(w) {
		return fmt.Errorf("the resolver's walk took %d steps, want %d:\n%s", len(a.Walk), len(w), dns.FormatWalk(a.Walk))
	}
	for i, step := range w {
		if !strings.EqualFold(a.Walk[i].Name, step.Name) {
			return fmt.Errorf("step %d asked %s, want %s:\n%s", i+1, a.Walk[i].Name, step.Name, dns.FormatWalk(a.Walk))
		}
		if err := step.Want(a.Walk[i]); err != nil {
			return fmt.Errorf("step %d: %w:\n%s", i+1, err, dns.FormatWalk(a.Walk))
		}
	}
	return nil
}

// PublishedInput is what a headless Service must publish for a set of endpoints.
type PublishedInput struct {
	Client    kubernetes.Interface
	From      From // a client pod in Namespace
	Namespace string
	Service   string
	Zone      string
	Pods      []PodAddr // exactly the endpoints the Service must publish: hostname (Name) and IP
	Gone      []string  // hostnames that must no longer resolve (NXDOMAIN)
	Port      int32     // the endpoints' port, in the EndpointSlices and the SRV records
	PortName  string    // the Service port's name: its SRV records are checked; "" skips them
	// Families the Service must publish, each in its EndpointSlices and as its record type (A,
	// AAAA) for every name; none: the Service's own spec.ipFamilies, read once.
	Families []corev1.IPFamily
	Timeout  time.Duration
}

func (in PublishedInput) validate() error {
	switch {
	case in.Client == nil:
		return errors.New("PublishedInput.Client is nil")
	case in.Namespace == "" || in.Service == "" || in.Zone == "":
		return fmt.Errorf("PublishedInput needs Namespace, Service and Zone (got %q, %q, %q)", in.Namespace, in.Service, in.Zone)
	case in.Port == 0:
		return errors.New("PublishedInput.Port is 0: give the endpoints' port")
	}
	return in.From.Validate()
}

// AwaitPublished waits until every source agrees with Pods exactly, in each of Families: the
// EndpointSlices list exactly them, ready; the Service name answers exactly their addresses;
// each hostname exactly its pod's; each Gone name NXDOMAIN; the SRV name one record per pod.
// It returns the time until all held. When answers stay wrong it looks once for the usual
// causes (DiagnoseService) and ends at once on one that waiting cannot heal.
func AwaitPublished(ctx context.Context, in PublishedInput) (time.Duration, error) {
	if err := in.validate(); err != nil {
		return 0, err
	}
	if len(in.Families) == 0 {
		svc, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Service, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("reading the families Service %s publishes: %w", in.Service, err)
		}
		in.Families = ServiceFamilies(svc)
	}
	svc := dns.ServiceFQDN(in.Service, in.Namespace, in.Zone)
	checks := AddressChecks(dns.Query{Name: svc}, in.Families, in.Pods...)
	var srv []string
	for _, p := range in.Pods {
		fqdn := dns.HostFQDN(p.Name, in.Service, in.Namespace, in.Zone)
		srv = append(srv, dns.SRVValue(int(in.Port), fqdn))
		checks = append(checks, AddressChecks(dns.Query{Name: fqdn}, in.Families, p)...)
	}
	if in.PortName != "" {
		checks = append(checks, DNSCheck{dns.Query{Name: dns.SRVName(in.PortName, "TCP", in.Service, in.Namespace, in.Zone), Type: "SRV"}, dns.Exactly("SRV", srv...)})
	}
	for _, name := range in.Gone {
		checks = append(checks, DNSCheck{dns.Query{Name: dns.HostFQDN(name, in.Service, in.Namespace, in.Zone)}, dns.Status("NXDOMAIN")})
	}
	slices := func(ctx context.Context) error {
		list, err := in.Client.DiscoveryV1().EndpointSlices(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + in.Service})
		if err != nil {
			return err
		}
		return CheckEndpointSlices(list.Items, in.Pods, in.Port, in.Families...)
	}
	_, took, err := AwaitDNS(ctx, AwaitDNSInput{From: in.From, Checks: checks, Timeout: in.Timeout, Also: []func(context.Context) error{slices},
		Diagnose: func(ctx context.Context) error {
			return DiagnoseService(ctx, DiagnoseInput{Client: in.Client, Namespace: in.Namespace, Service: in.Service,
				Port: in.Port, PortName: in.PortName, PodNames: len(in.Pods) > 0, Families: in.Families})
		}})
	return took, err
}
