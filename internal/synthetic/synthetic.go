package synthetic

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
)

// MaxSyntheticEndpoints is how many addresses SyntheticAddress can give: 198.18.0.0/15 less
// its first and last address.
const MaxSyntheticEndpoints = 1<<17 - 2

// SyntheticAddress is endpoint i's address, from 198.18.0.0/15 (RFC 2544: reserved for
// benchmarking). The addresses are written into EndpointSlices and answered by DNS; nothing
// ever sends a packet to them.
func SyntheticAddress(i int) string {
	n := i + 1 // skip 198.18.0.0
	return fmt.Sprintf("198.%d.%d.%d", 18+n>>16, n>>8&255, n&255)
}

// SyntheticHostname is endpoint i's hostname: its DNS name is <hostname>.<service>.
func SyntheticHostname(i int) string { return fmt.Sprintf("ep-%d", i) }

// SyntheticInput is a headless Service without a selector whose EndpointSlices the suite
// writes itself: CoreDNS and the control plane only read EndpointSlices, so the DNS code paths
// of a Service of any size run without a pod per endpoint.
type SyntheticInput struct {
	Client    kubernetes.Interface
	Namespace string
	Service   string
	Endpoints int
	PerSlice  int // at most this many endpoints a slice; 0 is 100, the controller's default
}

func (in SyntheticInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.Service == "" {
		return fmt.Errorf("SyntheticInput needs Client, Namespace and Service (got %q, %q)", in.Namespace, in.Service)
	}
	return nil
}

// Synthetic is such a Service, as written.
type Synthetic struct {
	SyntheticInput
	mu     sync.Mutex
	slices []*discoveryv1.EndpointSlice
}

// SyntheticPort is the endpoints' port (named http, like the course's).
const SyntheticPort = 8080

// CreateSynthetic creates the Service and its EndpointSlices, every endpoint ready with a
// hostname; the slices are written side by side (a 10,000-endpoint Service is 100 of them).
func CreateSynthetic(ctx context.Context, in SyntheticInput) (*Synthetic, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.PerSlice == 0 {
		in.PerSlice = 100
	}
	switch {
	case in.Client == nil || in.Namespace == "" || in.Service == "":
		return nil, fmt.Errorf("SyntheticInput needs Client, Namespace and Service (got %q, %q)", in.Namespace, in.Service)
	case in.Endpoints < 1 || in.Endpoints > MaxSyntheticEndpoints:
		return nil, fmt.Errorf("SyntheticInput.Endpoints %d: want 1 to %d", in.Endpoints, MaxSyntheticEndpoints)
	case in.PerSlice < 1 || in.PerSlice > 1000:
		return nil, fmt.Errorf("SyntheticInput.PerSlice %d: an EndpointSlice holds 1 to 1000 endpoints", in.PerSlice)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: in.Service, Namespace: in.Namespace, Labels: map[string]string{"app.kubernetes.io/created-by": "headless-e2e"}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
			Ports: []corev1.ServicePort{{Name: course.CoursePortName, Port: course.CoursePort, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := in.Client.CoreV1().Services(in.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", in.Service, err)
	}
	s := &Synthetic{SyntheticInput: in}
	for first := 0; first < in.Endpoints; first += in.PerSlice {
		s.slices = append(s.slices, s.slice(len(s.slices), first, min(first+in.PerSlice, in.Endpoints)))
	}
	err := parallel.Do(len(s.slices), 8, func(k int) error {
		created, err := in.Client.DiscoveryV1().EndpointSlices(in.Namespace).Create(ctx, s.slices[k], metav1.CreateOptions{})
		if err == nil {
			s.slices[k] = created
		}
		return err
	})
	if err != nil {
		return s, fmt.Errorf("writing the EndpointSlices of %s: %w", in.Service, err)
	}
	return s, nil
}

func (s *Synthetic) slice(k, first, end int) *discoveryv1.EndpointSlice {
	port, name, proto, ready := int32(SyntheticPort), course.CoursePortName, corev1.ProtocolTCP, true
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%03d", s.Service, k), Namespace: s.Namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: s.Service,
			discoveryv1.LabelManagedBy:   kube.ManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	for i := first; i < end; i++ {
		hostname := SyntheticHostname(i)
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{SyntheticAddress(i)}, Hostname: &hostname,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return es
}

// Addresses are the addresses of the ready endpoints, in endpoint order.
func (s *Synthetic) Addresses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, es := range s.slices {
		for _, e := range es.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				out = append(out, e.Addresses[0])
			}
		}
	}
	return out
}

// Address is endpoint i's address as written now.
func (s *Synthetic) Address(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slices[i/s.PerSlice].Endpoints[i%s.PerSlice].Addresses[0]
}

// SetReady writes endpoint i's ready condition; its slice is the only object that changes.
func (s *Synthetic) SetReady(ctx context.Context, i int, ready bool) error {
	return s.update(ctx, i, func(e *discoveryv1.Endpoint) { e.Conditions.Ready = &ready })
}

// Readdress gives endpoint i a new address (a pod replaced: same name, new IP).
func (s *Synthetic) Readdress(ctx context.Context, i int, address string) error {
	return s.update(ctx, i, func(e *discoveryv1.Endpoint) { e.Addresses = []string{address} })
}

func (s *Synthetic) update(ctx context.Context, i int, change func(*discoveryv1.Endpoint)) error {
	if i < 0 || i >= s.Endpoints {
		return fmt.Errorf("endpoint %d of %s: want 0 to %d", i, s.Service, s.Endpoints-1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.slices[i/s.PerSlice].DeepCopy()
	change(&next.Endpoints[i%s.PerSlice])
	updated, err := s.Client.DiscoveryV1().EndpointSlices(s.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating EndpointSlice %s: %w", next.Name, err)
	}
	s.slices[i/s.PerSlice] = updated
	return nil
}

// Slices is how many EndpointSlices hold the endpoints.
func (s *Synthetic) Slices() int { return len(s.slices) }

// Delete removes the EndpointSlices with one DeleteCollection call, then the Service, and waits
// until both are gone: one call however many slices (deleting the namespace would make the
// namespace controller delete them one at a time).
func (s *Synthetic) Delete(ctx context.Context, timeout time.Duration) error {
	return kube.DeleteServiceAndSlices(ctx, s.Client, s.Namespace, s.Service, timeout)
}

// AwaitHostnames waits until each sampled endpoint's name answers exactly its address; it
// returns the time it took.
func (s *Synthetic) AwaitHostnames(ctx context.Context, from headless.From, zone string, sample []int, timeout time.Duration) (time.Duration, error) {
	var checks []headless.DNSCheck
	for _, i := range sample {
		checks = append(checks, headless.DNSCheck{Query: s.HostQuery(i, zone), Want: dns.Exactly("A", s.Address(i))})
	}
	_, took, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: from, Checks: checks, Timeout: timeout})
	return took, err
}

// Sample is the endpoints a check asks for: the first and last endpoints of the first and the
// last slice, both sides of the first slice boundary, and every step-th in between, so a bug
// in slice order or at a slice boundary shows.
func (s *Synthetic) Sample(step int) []int {
	seen := map[int]bool{}
	var out []int
	add := func(i int) {
		if i >= 0 && i < s.Endpoints && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for _, i := range []int{0, 1, s.PerSlice - 1, s.PerSlice, s.Endpoints - s.PerSlice, s.Endpoints - 2, s.Endpoints - 1} {
		add(i)
	}
	for i := step; i < s.Endpoints && step > 0; i += step {
		add(i)
	}
	return out
}

// HostQuery asks for endpoint i's own name.
func (s *Synthetic) HostQuery(i int, zone string) dns.Query {
	return dns.Query{Name: dns.HostFQDN(SyntheticHostname(i), s.Service, s.Namespace, zone)}
}

// FQDN is the Service's absolute name.
func (s *Synthetic) FQDN(zone string) string { return dns.ServiceFQDN(s.Service, s.Namespace, zone) }
