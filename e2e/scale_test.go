package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/internal/synthetic"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// Headless Services at the sizes production fleets run, by simulation: a Service without a
// selector whose EndpointSlices the suite writes, each endpoint with a hostname and an address
// from 198.18.0.0/15 (reserved for benchmarking, never contacted). CoreDNS serves them like a
// StatefulSet's. Labelled area=scale; SCALE_ENDPOINTS sets the size (default 1,000; make bench
// measures 100 to 10,000).

func scaleEndpoints(t *testing.T) int {
	n := 1000
	if v := os.Getenv("SCALE_ENDPOINTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			t.Fatalf("SCALE_ENDPOINTS=%q: want a count of at least 2", v)
		}
	}
	return n
}

func TestScaleNames(t *testing.T) {
	t.Parallel()
	n := scaleEndpoints(t)
	const service = "scale-demo"
	var s *synthetic.Synthetic
	ask := func(ctx context.Context, t *testing.T, checks ...headless.DNSCheck) {
		t.Helper()
		answers, took, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: harness.Must(suite.Course.ClientFrom(ctx))(t), Checks: checks, Timeout: suite.DNSTimeout()})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		t.Logf("%s: %d records, %d bytes (after %s)", answers[0].Query, len(answers[0].Records), answers[0].Size, took.Round(time.Millisecond))
	}
	f := features.New(fmt.Sprintf("scale: a headless Service of %d endpoints, written as EndpointSlices", n)).WithLabel("area", "scale").WithLabel("scale", "names").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var err error
			s, err = synthetic.CreateSynthetic(ctx, synthetic.SyntheticInput{Client: suite.Client(), Namespace: suite.Namespace(), Service: service, Endpoints: n})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess(fmt.Sprintf("%d endpoints in %d slices of at most 100, as the EndpointSlice controller would write them", n, (n+99)/100), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			list := harness.Must(suite.Client().DiscoveryV1().EndpointSlices(suite.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service}))(t)
			total := 0
			for _, es := range list.Items {
				NewWithT(t).Expect(len(es.Endpoints)).To(BeNumerically("<=", 100), es.Name)
				total += len(es.Endpoints)
			}
			NewWithT(t).Expect(list.Items).To(HaveLen((n + 99) / 100))
			NewWithT(t).Expect(total).To(Equal(n))
			return ctx
		}).
		Assess("each sampled endpoint's name answers exactly its address, the first and the last slice included", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			sample := s.Sample(n / 10)
			took := harness.Must(s.AwaitHostnames(ctx, harness.Must(suite.Course.ClientFrom(ctx))(t), suite.Course.Zone, sample, suite.DNSTimeout()))(t)
			t.Logf("%d names answered exactly, the last endpoint's among them, %s after the slices were written", len(sample), took.Round(time.Millisecond))
			return ctx
		}).
		Assess(fmt.Sprintf("over TCP the Service name answers exactly the %d addresses while they fit in a 65,535-byte message (past that, the boundary feature's truncated set)", n), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ask(ctx, t, headless.DNSCheck{Query: dns.Query{Name: s.FQDN(suite.Course.Zone), TCP: true, NoEDNS: true}, Want: dns.AWithin(65535, s.Addresses()...)})
			return ctx
		}).
		Assess("over UDP without EDNS: exactly as many records as fit in 512 bytes for this name, with TC set", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			fqdn := s.FQDN(suite.Course.Zone)
			fit := dns.FitA(fqdn, 512)
			t.Logf("%s: %d A records fit in 512 bytes (12-byte header, %d-byte question, 16 bytes a record)", fqdn, fit, len(fqdn)+1+4)
			ask(ctx, t, headless.DNSCheck{Query: dns.Query{Name: fqdn, NoEDNS: true, NoTCPRetry: true}, Want: dns.TruncatedTo("A", fit, s.Addresses()...)})
			return ctx
		}).
		Assess("an endpoint turned not ready leaves the answer and its name answers NXDOMAIN; ready again, both are back", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			fqdn := s.FQDN(suite.Course.Zone)
			victim := n / 2
			tcp := func() dns.Query { return dns.Query{Name: fqdn, TCP: true, NoEDNS: true} }
			NewWithT(t).Expect(s.SetReady(ctx, victim, false)).To(Succeed())
			ask(ctx, t,
				headless.DNSCheck{Query: s.HostQuery(victim, suite.Course.Zone), Want: dns.Status("NXDOMAIN")},
				headless.DNSCheck{Query: tcp(), Want: dns.AWithin(65535, s.Addresses()...)})
			NewWithT(t).Expect(s.SetReady(ctx, victim, true)).To(Succeed())
			ask(ctx, t,
				headless.DNSCheck{Query: s.HostQuery(victim, suite.Course.Zone), Want: dns.Exactly("A", s.Address(victim))},
				headless.DNSCheck{Query: tcp(), Want: dns.AWithin(65535, s.Addresses()...)})
			return ctx
		}).
		Teardown(suite.Course.DeleteServicesStep(service)).Feature()
	testenv.Test(t, f)
}

func TestScaleAnswerBoundary(t *testing.T) {
	t.Parallel()
	const service = "scale-boundary"
	var s *synthetic.Synthetic
	var fit int
	f := features.New("scale: where a Service's answer stops fitting in one TCP message (65,535 bytes)").WithLabel("area", "scale").WithLabel("scale", "boundary").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			fit = dns.FitA(dns.ServiceFQDN(service, suite.Namespace(), suite.Course.Zone), 65535)
			var err error
			s, err = synthetic.CreateSynthetic(ctx, synthetic.SyntheticInput{Client: suite.Client(), Namespace: suite.Namespace(), Service: service, Endpoints: fit + 1})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			t.Logf("%d A records fit in 65,535 bytes for %s: %d endpoints written", fit, s.FQDN(suite.Course.Zone), fit+1)
			return ctx
		}).
		Assess("one endpoint more than fits: CoreDNS answers over TCP the records that fit, with TC set", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// CoreDNS trims every response to what the transport allows (miekg/dns's
			// Msg.Truncate), over TCP too, and sets TC. Over TCP a client has no bigger
			// transport to retry on: past this size no client can learn every member from the
			// Service name; each member's own name still answers. Observed here: 4,092 records in
			// 65,526 bytes for a 38-byte name; no SERVFAIL, no error.
			from := harness.Must(suite.Course.ClientFrom(ctx))(t)
			harness.Must(s.AwaitHostnames(ctx, from, suite.Course.Zone, []int{0, fit}, suite.DNSTimeout()))(t)
			a, _, err := headless.AwaitAnswer(ctx, from, dns.Query{Name: s.FQDN(suite.Course.Zone), TCP: true, NoEDNS: true}, dns.TruncatedTo("A", fit, s.Addresses()...), suite.DNSTimeout())
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			t.Logf("%d endpoints: %s answered %d records in %d bytes, TC set", fit+1, a.Name, len(a.Records), a.Size)
			return ctx
		}).
		Assess("one endpoint turned not ready, exactly as many as fit: every address, without TC", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			NewWithT(t).Expect(s.SetReady(ctx, 0, false)).To(Succeed())
			a, _, err := headless.AwaitAnswer(ctx, harness.Must(suite.Course.ClientFrom(ctx))(t), dns.Query{Name: s.FQDN(suite.Course.Zone), TCP: true, NoEDNS: true}, dns.Exactly("A", s.Addresses()...), suite.DNSTimeout())
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			t.Logf("%d ready endpoints: %d records in %d bytes", fit, len(a.Records), a.Size)
			return ctx
		}).
		Teardown(suite.Course.DeleteServicesStep(service)).Feature()
	testenv.Test(t, f)
}

// The v1 Endpoints API past 1,000 addresses. Kubernetes documentation, Services, "Over-capacity
// endpoints" (concepts/services-networking/service): the endpoints controller stores at most
// 1,000 addresses for a Service with a selector and annotates the object
// endpoints.kubernetes.io/over-capacity: truncated; EndpointSlices, "EndpointSlice mirroring"
// (concepts/services-networking/endpoint-slices): an Endpoints object a user writes for a
// Service without a selector is mirrored to EndpointSlices, at most 1,000 addresses a subset.
// A selector Service of 1,001 pods is out of reach here; the user-written path is what a
// headless Service of external members (databases outside the cluster) takes.
func TestScaleEndpointsAPI(t *testing.T) {
	t.Parallel()
	const service, addresses = "scale-legacy", 1001
	f := features.New("scale: a v1 Endpoints object of 1,001 addresses, written by hand for a Service without a selector").WithLabel("area", "scale").WithLabel("scale", "endpoints-api").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: service}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
				Ports: []corev1.ServicePort{{Name: course.CoursePortName, Port: course.CoursePort}}}}
			_, err := suite.Client().CoreV1().Services(suite.Namespace()).Create(ctx, svc, metav1.CreateOptions{})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess("the API server stores all 1,001 addresses as written, without the over-capacity annotation (the endpoints controller sets it, for Services with a selector)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			subset := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: course.CoursePortName, Port: course.CourseTargetPort}}}
			for i := range addresses {
				subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: synthetic.SyntheticAddress(i)})
			}
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: service}, Subsets: []corev1.EndpointSubset{subset}}
			_, err := suite.Client().CoreV1().Endpoints(suite.Namespace()).Create(ctx, ep, metav1.CreateOptions{})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			stored := harness.Must(suite.Client().CoreV1().Endpoints(suite.Namespace()).Get(ctx, service, metav1.GetOptions{}))(t)
			NewWithT(t).Expect(stored.Subsets).To(HaveLen(1))
			NewWithT(t).Expect(stored.Subsets[0].Addresses).To(HaveLen(addresses))
			NewWithT(t).Expect(stored.Annotations).NotTo(HaveKey("endpoints.kubernetes.io/over-capacity"))
			return ctx
		}).
		Assess("the mirroring controller mirrors 1,000 of them to EndpointSlices and says, in a Warning event, that 1 was skipped", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			_, err := kube.AwaitObject(ctx, "EndpointSlices mirrored from Endpoints "+service, suite.DNSTimeout(), func(ctx context.Context) (int, error) {
				list, err := suite.Client().DiscoveryV1().EndpointSlices(suite.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
				if err != nil {
					return 0, err
				}
				total := 0
				for _, es := range list.Items {
					if es.Labels[discoveryv1.LabelManagedBy] != "endpointslicemirroring-controller.k8s.io" {
						return 0, fmt.Errorf("EndpointSlice %s managed by %q", es.Name, es.Labels[discoveryv1.LabelManagedBy])
					}
					total += len(es.Endpoints)
				}
				if total != 1000 {
					return total, fmt.Errorf("%d addresses mirrored in %d slices, want 1000", total, len(list.Items))
				}
				return total, nil
			})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			event, err := kube.AwaitObject(ctx, "a TooManyAddressesToMirror event", suite.DNSTimeout(), func(ctx context.Context) (corev1.Event, error) {
				events, err := suite.Client().CoreV1().Events(suite.Namespace()).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + service + ",reason=TooManyAddressesToMirror"})
				if err != nil || len(events.Items) == 0 {
					return corev1.Event{}, fmt.Errorf("no such event yet (%v)", err)
				}
				return events.Items[0], nil
			})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			NewWithT(t).Expect(event.Type).To(Equal(corev1.EventTypeWarning))
			NewWithT(t).Expect(event.Message).To(ContainSubstring("1 addresses were skipped"))
			t.Logf("event %s: %s", event.Reason, event.Message)
			return ctx
		}).
		Assess("DNS answers exactly the 1,000 mirrored addresses", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			list := harness.Must(suite.Client().DiscoveryV1().EndpointSlices(suite.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service}))(t)
			var mirrored []string
			for _, es := range list.Items {
				for _, e := range es.Endpoints {
					mirrored = append(mirrored, e.Addresses...)
				}
			}
			_, _, err := headless.AwaitAnswer(ctx, harness.Must(suite.Course.ClientFrom(ctx))(t), dns.Query{Name: suite.Course.FQDN(service), TCP: true}, dns.Exactly("A", mirrored...), suite.DNSTimeout())
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// A hand-written Endpoints object is the writer's to delete, not the Service's.
			if err := suite.Client().CoreV1().Endpoints(suite.Namespace()).Delete(ctx, service, metav1.DeleteOptions{}); err != nil {
				t.Error(err)
			}
			return ctx
		}).
		Teardown(suite.Course.DeleteServicesStep(service)).Feature()
	testenv.Test(t, f)
}
