package course

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// The course's workload, as manifests/headless declares it. These names live here once; the
// suite, the bench and the lab read them from here.
const (
	CourseService     = "headless-demo"
	CourseStatefulSet = "hello-kubernetes"
	CourseSelector    = "app=hello-kubernetes"
	CourseReplicas    = 3
	CoursePort        = 80
	CourseTargetPort  = 8080
	CoursePortName    = "http"
	ClientSelector    = "app=client"
)

// Timeouts shared by every caller, each sized on this project's 2-core machine.
const (
	// PodTimeout is long enough for a pod to be scheduled, started and probed.
	PodTimeout = 2 * time.Minute
)

// Course is the course's workload in one namespace: the hello StatefulSet behind the headless
// Service, and the client pod DNS is asked from.
type Course struct {
	Client    kubernetes.Interface
	Exec      headless.Executor
	Namespace string
	Zone      string
	// Families are the cluster's IP families, every one of which the course's Service
	// publishes (manifests/headless/service.yaml asks PreferDualStack): A records for IPv4,
	// AAAA for IPv6, an EndpointSlice each.
	Families []corev1.IPFamily
	// AskFrom, when set, is the pod DNS is asked from instead of the client (the lab's probe
	// pod: its checks must not depend on what the client image carries).
	AskFrom string
}

// DeployCourseInput is where to deploy the course and with which images.
type DeployCourseInput struct {
	Client    kubernetes.Interface
	Resources *resources.Resources
	Namespace string
	// Images maps an image the manifests name to the one to run instead; the client image
	// must carry dns.Probe.
	Images map[string]string
	// Manifests defaults to the course's own (manifests.Headless, headless/*.yaml).
	Manifests fs.FS
	Pattern   string
	// Families the Service must publish; none: the cluster's (every family all nodes have an
	// address of, kube.NodeFamilies).
	Families []corev1.IPFamily
}

// DeployCourse creates the course's objects in the namespace, waits for its pods, reads the
// DNS zone from the client, and waits until the Service publishes exactly the 3 pods. That
// last wait is the precondition of every DNS feature: when it fails it names the cause
// (DiagnoseService), so a broken Service stops the run at its start instead of failing a
// dozen features at their deadlines.
func DeployCourse(ctx context.Context, in DeployCourseInput) (Course, error) {
	if in.Client == nil || in.Resources == nil || in.Namespace == "" {
		return Course{}, fmt.Errorf("DeployCourseInput needs Client, Resources and Namespace")
	}
	if in.Manifests == nil {
		in.Manifests, in.Pattern = manifests.Headless, "headless/*.yaml"
	}
	c := Course{Client: in.Client, Exec: headless.PodExec{Resources: in.Resources, Container: headless.ClientContainer}, Namespace: in.Namespace, Families: in.Families}
	if len(c.Families) == 0 {
		families, err := kube.NodeFamilies(ctx, in.Client)
		if err != nil {
			return c, fmt.Errorf("reading the cluster's IP families: %w", err)
		}
		c.Families = families
	}
	if err := kube.Deploy(ctx, kube.DeployInput{Resources: in.Resources, Namespace: in.Namespace, Manifests: in.Manifests, Pattern: in.Pattern, Images: in.Images}); err != nil {
		return c, err
	}
	for _, w := range []headless.WaitPodsInput{{Selector: CourseSelector, Count: CourseReplicas}, {Selector: ClientSelector, Count: 1}} {
		w.Client, w.Namespace, w.Timeout = in.Client, in.Namespace, PodTimeout
		if _, err := headless.WaitPodsReady(ctx, w); err != nil {
			return c, err
		}
	}
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return c, err
	}
	if c.Zone, err = headless.Zone(ctx, from); err != nil {
		return c, err
	}
	pods, err := c.AwaitReadyPods(ctx)
	if err != nil {
		return c, err
	}
	if _, err := headless.AwaitPublished(ctx, c.Published(from, pods, nil)); err != nil {
		return c, fmt.Errorf("the course's Service does not publish its pods: %w", err)
	}
	return c, nil
}

// ClientPod is the name of the client Deployment's Ready pod (it changes when a fault
// restarts it, so callers ask again rather than keep it).
func (c Course) ClientPod(ctx context.Context) (string, error) {
	pods, err := c.Client.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ClientSelector})
	if err != nil {
		return "", err
	}
	for _, p := range pods.Items {
		if headless.PodReady(p) && p.DeletionTimestamp == nil {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no Ready client pod (%s) in %s", ClientSelector, c.Namespace)
}

// ClientFrom is the pod to ask DNS from: AskFrom when set, else the course's client pod.
func (c Course) ClientFrom(ctx context.Context) (headless.From, error) {
	if c.AskFrom != "" {
		return headless.From{Exec: c.Exec, Namespace: c.Namespace, Pod: c.AskFrom}, nil
	}
	pod, err := c.ClientPod(ctx)
	return headless.From{Exec: c.Exec, Namespace: c.Namespace, Pod: pod}, err
}

// AwaitReadyPods waits until exactly the course's 3 hello pods are Ready, and returns them.
func (c Course) AwaitReadyPods(ctx context.Context) ([]headless.PodAddr, error) {
	return c.AwaitReadyPodsN(ctx, CourseReplicas)
}

// AwaitReadyPodsN waits until exactly n hello pods are Ready (none stuck), and returns them.
func (c Course) AwaitReadyPodsN(ctx context.Context, n int) ([]headless.PodAddr, error) {
	pods, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: c.Client, Namespace: c.Namespace, Selector: CourseSelector, Count: n, Timeout: headless.DNSTimeout})
	return headless.Addrs(pods), err
}

// Pod is one Ready hello pod by name.
func (c Course) Pod(ctx context.Context, name string) (headless.PodAddr, error) {
	pods, err := c.AwaitReadyPods(ctx)
	if err != nil {
		return headless.PodAddr{}, err
	}
	for _, p := range pods {
		if p.Name == name {
			return p, nil
		}
	}
	return headless.PodAddr{}, fmt.Errorf("no Ready pod %s among %v", name, pods)
}

// FQDN is name's absolute form in the course's namespace: headless-demo ->
// headless-demo.<ns>.svc.<zone>.
func (c Course) FQDN(name string) string { return dns.ServiceFQDN(name, c.Namespace, c.Zone) }

// HostFQDN is a pod's absolute name under a Service (by default the course's).
func (c Course) HostFQDN(pod string, service ...string) string {
	svc := CourseService
	if len(service) > 0 {
		svc = service[0]
	}
	return dns.HostFQDN(pod, svc, c.Namespace, c.Zone)
}

// SRVName is the SRV name of the course Service's named port.
func (c Course) SRVName(service string) string {
	return dns.SRVName(CoursePortName, "TCP", service, c.Namespace, c.Zone)
}

// Expect asks q from the client until want passes; when a positive answer is awaited and
// does not come, the course's Service is diagnosed (DiagnoseService).
func (c Course) Expect(ctx context.Context, q dns.Query, want dns.Want, timeout time.Duration) (dns.Answer, time.Duration, error) {
	answers, took, err := c.ExpectAll(ctx, []headless.DNSCheck{{Query: q, Want: want}}, timeout)
	if len(answers) == 0 {
		return dns.Answer{}, took, err
	}
	return answers[0], took, err
}

// ExpectAll is Expect for several checks at once: they must all pass at the same time.
func (c Course) ExpectAll(ctx context.Context, checks []headless.DNSCheck, timeout time.Duration) ([]dns.Answer, time.Duration, error) {
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return nil, 0, err
	}
	return headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: from, Checks: checks, Timeout: timeout, Diagnose: c.diagnose})
}

// PrimaryType is the record type of the cluster's first family (A; AAAA on ipv6): what a
// check that needs one family asks, as the caches and the search list treat every type alike.
func (c Course) PrimaryType() string { return headless.RecordType(c.Families[0]) }

// Addresses are the checks that the name q asks answers exactly the pods' addresses, in each
// of the course's families: A the IPv4 ones, AAAA the IPv6 ones.
func (c Course) Addresses(q dns.Query, pods ...headless.PodAddr) []headless.DNSCheck {
	return headless.AddressChecks(q, c.Families, pods...)
}

func (c Course) diagnose(ctx context.Context) error {
	return headless.DiagnoseService(ctx, headless.DiagnoseInput{Client: c.Client, Namespace: c.Namespace, Service: CourseService, Families: c.Families})
}

// Published is what the course's Service must publish for pods, asked from from.
func (c Course) Published(from headless.From, pods []headless.PodAddr, gone []string) headless.PublishedInput {
	return headless.PublishedInput{Client: c.Client, From: from, Namespace: c.Namespace, Service: CourseService, Zone: c.Zone,
		Pods: pods, Gone: gone, Port: CourseTargetPort, PortName: CoursePortName, Families: c.Families, Timeout: time.Minute}
}

// Restore waits until the course is as every feature expects it: exactly its 3 pods Ready and
// published everywhere, and the gone names NXDOMAIN. Features that change the workload call it
// in their Teardown.
func (c Course) Restore(ctx context.Context, gone []string) (string, error) {
	ready, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: c.Client, Namespace: c.Namespace, Selector: CourseSelector, Count: CourseReplicas, Timeout: PodTimeout})
	if err != nil {
		return "", fmt.Errorf("restoring the course: %w", err)
	}
	pods := headless.Addrs(ready)
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return "", err
	}
	took, err := headless.AwaitPublished(ctx, c.Published(from, pods, gone))
	if err != nil {
		return "", fmt.Errorf("restoring the course: %w", err)
	}
	return fmt.Sprintf("course restored: %v published exactly (%s)", pods, took.Round(time.Millisecond)), nil
}

// SRVValues are the SRV records a headless Service publishes for pods: one per pod, its
// hostname under the Service, on the endpoints' port.
func (c Course) SRVValues(service string, pods []headless.PodAddr) []string {
	var out []string
	for _, p := range pods {
		out = append(out, dns.SRVValue(CourseTargetPort, c.HostFQDN(p.Name, service)))
	}
	return out
}

// SetReadiness flips the hello pods' readiness through their admin endpoint, from the client,
// and waits until their Ready condition follows.
func (c Course) SetReadiness(ctx context.Context, pods []headless.PodAddr, ready bool) error {
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return err
	}
	return kube.SetReadiness(ctx, kube.ReadinessInput{Client: c.Client, From: from, Pods: pods, Ready: ready, Port: CourseTargetPort, Timeout: headless.DNSTimeout})
}

// Scale sets the StatefulSet's replicas and waits for exactly that many Ready pods.
func (c Course) Scale(ctx context.Context, replicas int) ([]headless.PodAddr, time.Duration, error) {
	return kube.Scale(ctx, kube.ScaleInput{Client: c.Client, Namespace: c.Namespace, StatefulSet: CourseStatefulSet, Selector: CourseSelector, Replicas: replicas, Timeout: PodTimeout})
}

// DeleteServicesStep is the Teardown of a feature that made Services of its own: each is
// deleted and waited for with its EndpointSlices (those the suite wrote, in one call), so no
// later feature sees its records.
func (c Course) DeleteServicesStep(names ...string) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		for _, name := range names {
			if err := kube.DeleteServiceAndSlices(ctx, c.Client, c.Namespace, name, headless.DNSTimeout); err != nil {
				t.Error(err)
			}
		}
		return ctx
	}
}

// DeleteNamespaceStep is the Teardown of a feature that deployed a course of its own
// (Suite.DeployCourseIn): its namespace is deleted, not waited for.
func (c *Course) DeleteNamespaceStep() features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		if c.Namespace == "" {
			return ctx // the Setup did not get as far as a namespace
		}
		if err := kube.StartNamespaceDeletion(context.WithoutCancel(ctx), c.Client, c.Namespace); err != nil {
			t.Errorf("deleting namespace %s: %v", c.Namespace, err)
		}
		return ctx
	}
}
