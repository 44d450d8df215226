package headless

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

const (
	// DNSTimeout is how long a name may take to follow a change (CoreDNS's watch, no cache
	// for the cluster zone): seconds in practice.
	DNSTimeout = 30 * time.Second
	// ClientContainer is the container DNS is asked from in a client pod, by default.
	ClientContainer = "client"
)

// HeadlessFeatureInput is a headless Service to assert with HeadlessServiceFeature, in the
// namespace of the e2e-framework config (cfg.Namespace()).
type HeadlessFeatureInput struct {
	Service  string // the headless Service
	Selector string // its pods, e.g. "app=kafka"
	Replicas int    // how many Ready pods it must publish
	Port     int32  // the endpoints' (container) port
	PortName string // the Service port's name, whose SRV records are checked; "" skips SRV
	// ClientPod is a running pod in the same namespace that carries dns.Probe (headless-e2e's
	// client or probe image); ClientContainer is its container, "client" by default. Empty:
	// the feature starts a probe pod of ProbeImage itself (StartProbePod) and deletes it at
	// the end.
	ClientPod       string
	ClientContainer string
	ProbeImage      string        // the probe pod's image; DefaultProbeImage() by default
	Timeout         time.Duration // per wait; DNSTimeout by default
}

func (in HeadlessFeatureInput) validate() error {
	switch {
	case in.Service == "" || in.Selector == "":
		return fmt.Errorf("HeadlessFeatureInput needs Service and Selector (got %q, %q)", in.Service, in.Selector)
	case in.Replicas < 1 || in.Port == 0:
		return fmt.Errorf("HeadlessFeatureInput needs Replicas >= 1 and Port (got %d, %d)", in.Replicas, in.Port)
	}
	return nil
}

// HeadlessServiceFeature is a feature that asserts a headless Service the way headless-e2e
// asserts the course's: the Service has no cluster IP, exactly Replicas pods are Ready, and
// the EndpointSlices, the Service name, each pod's own name and the SRV records publish
// exactly those pods. A failure names its cause (DiagnoseService). Add labels or assessments
// to the builder it returns, then run it with testenv.Test.
func HeadlessServiceFeature(name string, in HeadlessFeatureInput) *features.FeatureBuilder {
	type key struct{}
	type state struct {
		client kubernetes.Interface
		from   From
		pods   []PodAddr
		probe  string // the probe pod this feature started, if any
	}
	get := func(ctx context.Context) *state { return ctx.Value(key{}).(*state) }
	fatal := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if in.Timeout == 0 {
		in.Timeout = DNSTimeout
	}
	if in.ClientContainer == "" {
		in.ClientContainer = ClientContainer
	}
	return features.New(name).
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			fatal(t, in.validate())
			client, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
			fatal(t, err)
			s := &state{client: client}
			ctx = context.WithValue(ctx, key{}, s)
			pod, container := in.ClientPod, in.ClientContainer
			if pod == "" {
				container = ClientContainer
				s.probe, err = StartProbePod(ctx, ProbePodInput{Client: client, Namespace: cfg.Namespace(), Image: in.ProbeImage, Timeout: in.Timeout})
				fatal(t, err)
				pod = s.probe
				t.Logf("asking DNS from probe pod %s", pod)
			}
			s.from = From{Exec: PodExec{Resources: cfg.Client().Resources(), Container: container}, Namespace: cfg.Namespace(), Pod: pod}
			return ctx
		}).
		Assess(in.Service+" is headless: no cluster IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s := get(ctx)
			svc, err := s.client.CoreV1().Services(cfg.Namespace()).Get(ctx, in.Service, metav1.GetOptions{})
			fatal(t, err)
			fatal(t, CheckHeadless(svc))
			return ctx
		}).
		Assess(fmt.Sprintf("exactly %d pods %s are Ready", in.Replicas, in.Selector), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s := get(ctx)
			_, err := WaitPodsReady(ctx, WaitPodsInput{Client: s.client, Namespace: cfg.Namespace(), Selector: in.Selector, Count: in.Replicas, Timeout: in.Timeout})
			fatal(t, err)
			s.pods, err = ListReadyPods(ctx, s.client, cfg.Namespace(), in.Selector)
			fatal(t, err)
			return ctx
		}).
		Assess("its EndpointSlices, its name, each pod's name and its SRV records publish exactly those pods", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s := get(ctx)
			zone, err := Zone(ctx, s.from)
			fatal(t, err)
			took, err := AwaitPublished(ctx, PublishedInput{Client: s.client, From: s.from, Namespace: cfg.Namespace(), Service: in.Service, Zone: zone,
				Pods: s.pods, Port: in.Port, PortName: in.PortName, Timeout: in.Timeout})
			fatal(t, err)
			t.Logf("%s publishes %v exactly (after %s)", in.Service, s.pods, took.Round(time.Millisecond))
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if s, ok := ctx.Value(key{}).(*state); ok && s.probe != "" {
				if err := DeleteProbePod(context.WithoutCancel(ctx), s.client, cfg.Namespace(), s.probe); err != nil {
					t.Error(err)
				}
			}
			return ctx
		})
}
