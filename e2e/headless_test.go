package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// The course's steps, in its order. Each feature is labelled area=course and step=<name>, so
// `make e2e ARGS='--labels step=dns'` runs one.

func TestServiceIsHeadless(t *testing.T) {
	f := features.New(suite.Named("a. the Service is headless")).WithLabel("area", "course").WithLabel("step", "service").
		Assess("spec.clusterIP is None and no cluster IP is allocated", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := harness.Must(suite.Client().CoreV1().Services(suite.Namespace()).Get(ctx, course.CourseService, metav1.GetOptions{}))(t)
			NewWithT(t).Expect(headless.CheckHeadless(svc)).To(Succeed())
			return ctx
		}).
		Assess("its selector matches exactly the StatefulSet's 3 pods", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := harness.Must(suite.Client().CoreV1().Services(suite.Namespace()).Get(ctx, course.CourseService, metav1.GetOptions{}))(t)
			NewWithT(t).Expect(headless.CheckSelects(ctx, suite.Client(), svc, harness.Must(suite.Course.AwaitReadyPods(ctx))(t))).To(Succeed())
			return ctx
		}).
		Assess("port 80 targets 8080", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := harness.Must(suite.Client().CoreV1().Services(suite.Namespace()).Get(ctx, course.CourseService, metav1.GetOptions{}))(t)
			NewWithT(t).Expect(headless.CheckPort(svc, course.CoursePort, course.CourseTargetPort)).To(Succeed())
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// The checks above must be able to fail, and say why: run them against broken copies of the
// Service (one with a cluster IP, one whose selector matches nothing, one with another port).
func TestChecksCatchBrokenServices(t *testing.T) {
	broken := map[string]func(*corev1.Service){
		"broken-clusterip": func(s *corev1.Service) { s.Spec.ClusterIP = "" },
		"broken-selector":  func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "nothing"} },
	}
	f := features.New("a. negative controls: broken Services are reported with their cause").WithLabel("area", "course").WithLabel("step", "service").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for name, mutate := range broken {
				err := kube.Deploy(ctx, kube.DeployInput{
					Resources: cfg.Client().Resources(suite.Namespace()), Namespace: suite.Namespace(),
					Manifests: manifests.Headless, Pattern: "headless/service.yaml",
					Mutate: func(o k8s.Object) { svc := o.(*corev1.Service); svc.Name = name; mutate(svc) },
				})
				if err != nil {
					t.Error(err) // not Fatal: a failing Setup would skip the Teardown
				}
			}
			return ctx
		}).
		Assess("a Service with a cluster IP fails the headless check and the diagnosis, naming clusterIP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			svc := harness.Must(suite.Client().CoreV1().Services(suite.Namespace()).Get(ctx, "broken-clusterip", metav1.GetOptions{}))(t)
			err := headless.CheckHeadless(svc)
			g.Expect(err).To(MatchError(ContainSubstring("is not headless: spec.clusterIP is")))
			t.Logf("reported as: %v", err)
			err = headless.DiagnoseService(ctx, headless.DiagnoseInput{Client: suite.Client(), Namespace: suite.Namespace(), Service: "broken-clusterip"})
			g.Expect(err).To(MatchError(ContainSubstring("cause: Service broken-clusterip is not headless")))
			return ctx
		}).
		Assess("a selector matching nothing fails the selector, Endpoints and diagnosis checks, naming the selector", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			svc := harness.Must(suite.Client().CoreV1().Services(suite.Namespace()).Get(ctx, "broken-selector", metav1.GetOptions{}))(t)
			err := headless.CheckSelects(ctx, suite.Client(), svc, pods)
			g.Expect(err).To(MatchError(ContainSubstring("selector app=nothing matches no pod")))
			t.Logf("reported as: %v", err)
			// The Endpoints object of a Service that selects nothing exists but is empty.
			ep := harness.Must(kube.AwaitObject(ctx, "Endpoints broken-selector", suite.DNSTimeout(), func(ctx context.Context) (*corev1.Endpoints, error) {
				return suite.Client().CoreV1().Endpoints(suite.Namespace()).Get(ctx, "broken-selector", metav1.GetOptions{})
			}))(t)
			g.Expect(headless.CheckEndpoints(ep, pods, course.CourseTargetPort)).To(MatchError(ContainSubstring("does the Service's selector match the pods?")))
			err = headless.DiagnoseService(ctx, headless.DiagnoseInput{Client: suite.Client(), Namespace: suite.Namespace(), Service: "broken-selector"})
			g.Expect(err).To(MatchError(ContainSubstring("cause: Service broken-selector's selector app=nothing matches no pod")))
			t.Logf("diagnosed as: %v", err)
			return ctx
		}).
		Assess("a wrong target port is printed as a user writes it", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := harness.Must(suite.Client().CoreV1().Services(suite.Namespace()).Get(ctx, course.CourseService, metav1.GetOptions{}))(t)
			err := headless.CheckPort(svc, course.CoursePort, 8081)
			NewWithT(t).Expect(err).To(MatchError("Service headless-demo maps port 80 -> 8080/TCP (http); want port 80 -> 8081/TCP"))
			return ctx
		}).
		Teardown(suite.Course.DeleteServicesStep("broken-clusterip", "broken-selector")).Feature()
	testenv.Test(t, f)
}

func TestEndpointsListEveryReadyPod(t *testing.T) {
	f := features.New(suite.Named("b. Endpoints and EndpointSlices list exactly the 3 ready pods")).WithLabel("area", "course").WithLabel("step", "endpoints").
		Assess("v1 Endpoints: podIP:8080 with hostname and node for each pod (the primary family only: v1 Endpoints carry one)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			_, err := kube.AwaitObject(ctx, "Endpoints "+course.CourseService+" to list exactly "+fmt.Sprint(pods), suite.DNSTimeout(), func(ctx context.Context) (*corev1.Endpoints, error) {
				ep, err := suite.Client().CoreV1().Endpoints(suite.Namespace()).Get(ctx, course.CourseService, metav1.GetOptions{})
				if err != nil {
					return nil, err
				}
				return ep, headless.CheckEndpoints(ep, pods, course.CourseTargetPort)
			})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess("EndpointSlices (the source of truth since v1 Endpoints' deprecation): the same, all ready, one slice per IP family of the cluster", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			_, err := kube.AwaitObject(ctx, "EndpointSlices of "+course.CourseService+" to list exactly "+fmt.Sprint(pods), suite.DNSTimeout(), func(ctx context.Context) (any, error) {
				list, err := suite.Client().DiscoveryV1().EndpointSlices(suite.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + course.CourseService})
				if err != nil {
					return nil, err
				}
				return list, headless.CheckEndpointSlices(list.Items, pods, course.CourseTargetPort, suite.Course.Families...)
			})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestServiceNameAnswersEveryPod(t *testing.T) {
	service := func(q dns.Query) func(context.Context, *testing.T, *envconf.Config) context.Context {
		return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			answers, took, err := suite.Course.ExpectAll(ctx, suite.Course.Addresses(q, pods...), suite.DNSTimeout())
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			for _, a := range answers {
				t.Logf("%s (after %s)", a, took.Round(time.Millisecond))
			}
			return ctx
		}
	}
	f := features.New(suite.Named("c. nslookup headless-demo answers exactly the 3 pod IPs")).WithLabel("area", "course").WithLabel("step", "dns").
		Assess("short name headless-demo, through the search list", service(dns.Query{Name: course.CourseService, Search: true})).
		Assess("FQDN headless-demo.<namespace>.svc.<zone>.", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			return service(dns.Query{Name: suite.Course.FQDN(course.CourseService)})(ctx, t, cfg)
		}).Feature()
	testenv.Test(t, f)
}

func TestPodNamesAnswerTheirPod(t *testing.T) {
	b := features.New(suite.Named("d. nslookup hello-kubernetes-N.headless-demo answers exactly pod N's IP")).WithLabel("area", "course").WithLabel("step", "dns")
	for _, name := range kube.Ordinals(course.CourseStatefulSet, course.CourseReplicas) {
		b = b.Assess(name+": short name (search list) and FQDN, each of its addresses", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pod := harness.Must(suite.Course.Pod(ctx, name))(t)
			checks := append(suite.Course.Addresses(dns.Query{Name: name + "." + course.CourseService, Search: true}, pod),
				suite.Course.Addresses(dns.Query{Name: suite.Course.HostFQDN(name)}, pod)...)
			_, took, err := suite.Course.ExpectAll(ctx, checks, suite.DNSTimeout())
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			t.Logf("%s.%s and its FQDN answer exactly %s (after %s)", name, course.CourseService, pod, took.Round(time.Millisecond))
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}

func TestDeletedPodsKeepTheirNames(t *testing.T) {
	var before, after []headless.PodAddr
	var hold *course.Hold
	f := features.New(suite.Named("e. delete the 3 pods: new IPs, same names")).WithLabel("area", "course").WithLabel("step", "replace").
		Assess("each pod comes back with a new IP, and its name answers exactly that IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			before = harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			from := harness.Must(suite.Course.ClientFrom(ctx))(t)
			results, err := course.ReplacePods(ctx, course.ReplaceInput{
				Client: suite.Client(), From: from, Service: course.CourseService, Zone: suite.Course.Zone,
				Pods: before, Families: suite.Course.Families, Timeout: 90 * time.Second,
			})
			for _, r := range results {
				t.Log(r)
				suite.Logf("convergence %s", r)
			}
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			after = harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			// A cache in front of CoreDNS may serve an old IP until its bound after the new pod
			// is Ready (DNS_PROFILE, profiles_test.go measures it): the window starts after it.
			var ready time.Time
			for _, r := range results {
				ready = later(ready, r.Deleted.Add(r.Ready))
			}
			if wait := time.Until(ready.Add(course.Settled(suite.DNS))); wait > 0 {
				t.Logf("%s: waiting %s for the caches to let go of the old IPs before the hold window", suite.DNS, wait.Round(100*time.Millisecond))
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
			// The hold window starts now and runs while the next assessment checks.
			hold = harness.Must(course.StartHold(ctx, course.HoldInput{From: from, Service: course.CourseService, Zone: suite.Course.Zone,
				Before: before, After: after, Families: suite.Course.Families, Window: 3 * time.Second}))(t)
			return ctx
		}).
		Assess("the service name answers exactly the new set of IPs", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			_, _, err := suite.Course.ExpectAll(ctx, suite.Course.Addresses(dns.Query{Name: course.CourseService, Search: true}, after...), suite.DNSTimeout())
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess("then, for a hold window, every answer is exactly the new one: no old IP, no NXDOMAIN, no empty answer", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if hold == nil {
				t.Fatal("no hold window: the pods were not replaced")
			}
			report, err := hold.Verdict(ctx)
			hold = nil
			t.Log(report)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if hold != nil {
				hold.Stop() // an assessment failed before the verdict
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// The framework as another project imports it (see its example): HeadlessServiceFeature run on
// the course's Service, for real.
func TestFrameworkAssertsTheCourseAsALibraryUserWould(t *testing.T) {
	client, err := suite.Course.ClientPod(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := headless.HeadlessServiceFeature("library: HeadlessServiceFeature asserts the course's Service as an operator's suite would", headless.HeadlessFeatureInput{
		Service: course.CourseService, Selector: course.CourseSelector, Replicas: course.CourseReplicas,
		Port: course.CourseTargetPort, PortName: course.CoursePortName, ClientPod: client,
	}).WithLabel("area", "library").Feature()
	testenv.Test(t, f)
}

// A user without a client pod of their own: the feature starts a probe pod in the Service's
// namespace (Pod Security "restricted", as the suite's namespace enforces) and deletes it at
// the end, from the default image (the client image) and from the probe image alone (make
// probe-image: a static binary on no base).
func TestFrameworkStartsAProbePodOfItsOwn(t *testing.T) {
	in := headless.HeadlessFeatureInput{Service: course.CourseService, Selector: course.CourseSelector, Replicas: course.CourseReplicas,
		Port: course.CourseTargetPort, PortName: course.CoursePortName}
	withProbeImage := in
	withProbeImage.ProbeImage = suite.Settings.ProbeImage
	suite.RequireImage(t, "PROBE_IMAGE", suite.Settings.ProbeImage)
	testenv.Test(t,
		headless.HeadlessServiceFeature("library: no ClientPod, a probe pod of the default image", in).WithLabel("area", "library").Feature(),
		headless.HeadlessServiceFeature("library: no ClientPod, a probe pod of the probe image "+suite.Settings.ProbeImage, withProbeImage).WithLabel("area", "library").
			Assess("the probe pods are gone after each feature's teardown, but for this one", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
				pods := harness.Must(suite.Client().CoreV1().Pods(cfg.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: "headless-e2e.io/probe"}))(t)
				var live []string
				for _, p := range pods.Items {
					if p.DeletionTimestamp == nil {
						live = append(live, p.Name)
					}
				}
				NewWithT(t).Expect(live).To(HaveLen(1), "probe pods not being deleted: %v", live)
				return ctx
			}).Feature())
}
