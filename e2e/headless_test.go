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

	"github.com/headless-e2e/headless-e2e/e2e/framework"
	"github.com/headless-e2e/headless-e2e/manifests"
)

// The course's steps, in its order. Each feature is labelled area=course and step=<name>, so
// `make e2e ARGS='--labels step=dns'` runs one.

const (
	service    = "headless-demo"
	helloPods  = "app=hello-kubernetes"
	targetPort = 8080
)

func TestServiceIsHeadless(t *testing.T) {
	f := features.New("a. the Service is headless").WithLabel("area", "course").WithLabel("step", "service").
		Assess("spec.clusterIP is None and no cluster IP is allocated", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			NewWithT(t).Expect(framework.CheckHeadless(getService(ctx, t, service))).To(Succeed())
			return ctx
		}).
		Assess("its selector matches exactly the StatefulSet's 3 pods", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			NewWithT(t).Expect(framework.CheckSelects(ctx, suite.Client, getService(ctx, t, service), readyHelloPods(ctx, t))).To(Succeed())
			return ctx
		}).
		Assess("port 80 targets 8080", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			NewWithT(t).Expect(framework.CheckPort(getService(ctx, t, service), 80, targetPort)).To(Succeed())
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// The checks above must be able to fail, and say why: run them against broken copies of the
// Service (one with a cluster IP, one whose selector matches nothing).
func TestChecksCatchBrokenServices(t *testing.T) {
	broken := func(name string, mutate func(*corev1.Service)) func(context.Context, *testing.T, *envconf.Config) context.Context {
		return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			err := framework.Deploy(ctx, framework.DeployInput{
				Resources: cfg.Client().Resources(suite.Namespace), Namespace: suite.Namespace,
				Manifests: manifests.Headless, Pattern: "headless/service.yaml",
				Mutate: func(o k8s.Object) {
					svc := o.(*corev1.Service)
					svc.Name = name
					mutate(svc)
				},
			})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}
	}
	f := features.New("a. negative controls: broken Services are reported with their cause").WithLabel("area", "course").WithLabel("step", "service").
		Setup(broken("broken-clusterip", func(s *corev1.Service) { s.Spec.ClusterIP = "" })).
		Setup(broken("broken-selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "nothing"} })).
		Assess("a Service with a cluster IP fails the headless check, naming clusterIP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			err := framework.CheckHeadless(getService(ctx, t, "broken-clusterip"))
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring("is not headless: spec.clusterIP is")))
			t.Logf("reported as: %v", err)
			return ctx
		}).
		Assess("a selector matching nothing fails the selector and Endpoints checks, naming the selector", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			svc := getService(ctx, t, "broken-selector")
			err := framework.CheckSelects(ctx, suite.Client, svc, readyHelloPods(ctx, t))
			g.Expect(err).To(MatchError(ContainSubstring("selector app=nothing matches no pod")))
			t.Logf("reported as: %v", err)
			// The Endpoints object of a Service that selects nothing exists but is empty.
			var ep *corev1.Endpoints
			g.Eventually(ctx, func() error {
				var err error
				ep, err = suite.Client.CoreV1().Endpoints(suite.Namespace).Get(ctx, "broken-selector", metav1.GetOptions{})
				return err
			}).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
			err = framework.CheckEndpoints(ep, readyHelloPods(ctx, t), targetPort)
			g.Expect(err).To(MatchError(ContainSubstring("does the Service's selector match the pods?")))
			t.Logf("reported as: %v", err)
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for _, name := range []string{"broken-clusterip", "broken-selector"} {
				_ = suite.Client.CoreV1().Services(suite.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestEndpointsListEveryReadyPod(t *testing.T) {
	f := features.New("b. Endpoints and EndpointSlices list exactly the 3 ready pods").WithLabel("area", "course").WithLabel("step", "endpoints").
		Assess("v1 Endpoints: podIP:8080 with hostname and node for each pod", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := readyHelloPods(ctx, t)
			eventually(ctx, t, "Endpoints "+service, func() error {
				ep, err := suite.Client.CoreV1().Endpoints(suite.Namespace).Get(ctx, service, metav1.GetOptions{})
				if err != nil {
					return err
				}
				return framework.CheckEndpoints(ep, pods, targetPort)
			})
			return ctx
		}).
		Assess("EndpointSlices (the source of truth since v1 Endpoints' deprecation): the same, all ready", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := readyHelloPods(ctx, t)
			eventually(ctx, t, "EndpointSlices of "+service, func() error {
				list, err := suite.Client.DiscoveryV1().EndpointSlices(suite.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + service})
				if err != nil {
					return err
				}
				return framework.CheckEndpointSlices(list.Items, pods, targetPort)
			})
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestServiceNameAnswersEveryPod(t *testing.T) {
	f := features.New("c. nslookup headless-demo answers exactly the 3 pod IPs").WithLabel("area", "course").WithLabel("step", "dns").
		Assess("short name headless-demo", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectResolves(ctx, t, service, framework.IPs(readyHelloPods(ctx, t)))
			return ctx
		}).
		Assess("FQDN headless-demo.<namespace>.svc.<zone>.", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectResolves(ctx, t, fqdn(service), framework.IPs(readyHelloPods(ctx, t)))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestPodNamesAnswerTheirPod(t *testing.T) {
	b := features.New("d. nslookup hello-kubernetes-N.headless-demo answers exactly pod N's IP").WithLabel("area", "course").WithLabel("step", "dns")
	for i := range 3 {
		name := fmt.Sprintf("hello-kubernetes-%d", i)
		b = b.Assess(name+": short name and FQDN", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ip := podIP(ctx, t, name)
			// Independent lookups: ask both at once.
			t.Run("short", func(t *testing.T) { t.Parallel(); expectResolves(ctx, t, name+"."+service, []string{ip}) })
			t.Run("fqdn", func(t *testing.T) { t.Parallel(); expectResolves(ctx, t, fqdn(name+"."+service), []string{ip}) })
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}

func TestDeletedPodsKeepTheirNames(t *testing.T) {
	var before, after []framework.PodAddr
	f := features.New("e. delete the 3 pods: new IPs, same names").WithLabel("area", "course").WithLabel("step", "replace").
		Assess("each pod comes back with a new IP, and its name answers exactly that IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			before = readyHelloPods(ctx, t)
			client := clientPod(ctx, t)
			results, err := framework.ReplacePods(ctx, framework.ReplaceInput{
				Client: suite.Client, Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: client,
				Service: service, Pods: before, Timeout: 90 * time.Second,
			})
			for _, r := range results {
				t.Log(r)
				suite.Logf("convergence %s", r)
			}
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			after = readyHelloPods(ctx, t)
			return ctx
		}).
		Assess("the service name answers exactly the new set of IPs", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectResolves(ctx, t, service, framework.IPs(after))
			return ctx
		}).
		Assess("then, for a hold window, no answer contains an old IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			report, err := framework.HoldAnswers(ctx, framework.HoldInput{
				Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: clientPod(ctx, t), Service: service,
				Before: before, After: after, Window: 3 * time.Second,
			})
			t.Log(report)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// --- helpers shared by the features ---

func getService(ctx context.Context, t *testing.T, name string) *corev1.Service {
	t.Helper()
	svc, err := suite.Client.CoreV1().Services(suite.Namespace).Get(ctx, name, metav1.GetOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred(), "getting Service %s", name)
	return svc
}

func readyHelloPods(ctx context.Context, t *testing.T) []framework.PodAddr {
	t.Helper()
	var pods []framework.PodAddr
	eventually(ctx, t, "3 Ready hello pods", func() error {
		var err error
		if pods, err = framework.ReadyPods(ctx, suite.Client, suite.Namespace, helloPods); err != nil {
			return err
		}
		if len(pods) != 3 {
			return fmt.Errorf("%d Ready: %v", len(pods), pods)
		}
		return nil
	})
	return pods
}

func podIP(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	for _, p := range readyHelloPods(ctx, t) {
		if p.Name == name {
			return p.IP
		}
	}
	t.Fatalf("no Ready pod %s", name)
	return ""
}

func clientPod(ctx context.Context, t *testing.T) string {
	t.Helper()
	name, err := suite.ClientPod(ctx)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return name
}

// fqdn is the absolute name in the discovered zone (trailing dot: no search list involved).
func fqdn(name string) string {
	return fmt.Sprintf("%s.%s.svc.%s.", name, suite.Namespace, suite.Zone)
}

// eventually polls check until it returns nil; on timeout the failure is its last error.
func eventually(ctx context.Context, t *testing.T, what string, check func() error) {
	t.Helper()
	NewWithT(t).Eventually(ctx, check).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).
		Should(Succeed(), "waiting for %s", what)
}

// expectResolves polls nslookup from the client until the answer is exactly want (a set).
func expectResolves(ctx context.Context, t *testing.T, name string, want []string) {
	t.Helper()
	client := clientPod(ctx, t)
	eventually(ctx, t, "nslookup "+name, func() error {
		a, err := framework.Lookup(ctx, framework.LookupInput{Exec: suite.Exec(), Namespace: suite.Namespace, Pod: client, Name: name})
		if err != nil {
			return err
		}
		return framework.ExactAnswer(a, want)
	})
}
