package headless

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// Each usual cause is named, and those that waiting cannot heal stop the wait.
func TestDiagnoseServiceNamesTheRootCause(t *testing.T) {
	const ns = "lab"
	two, zero := int32(2), int32(0)
	coredns := func(replicas *int32, available int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Spec: appsv1.DeploymentSpec{Replicas: replicas},
			Status: appsv1.DeploymentStatus{Replicas: *replicas, AvailableReplicas: available, UpdatedReplicas: *replicas}}
	}
	service := func(clusterIP string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "headless-demo", Namespace: ns},
			Spec: corev1.ServiceSpec{ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}, Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app": "hello"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	}
	ports := func(name string, target int32) *corev1.Service {
		s := service("None")
		s.Spec.Ports = []corev1.ServicePort{{Name: name, Port: 80, TargetPort: intstr.FromInt32(target)}}
		return s
	}
	pod := func(name string, ready bool) *corev1.Pod {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "hello"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: "hello"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
	}
	sts := func(serviceName string) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns},
			Spec: appsv1.StatefulSetSpec{ServiceName: serviceName, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "hello"}}}}}
	}
	bare := func(name string) *corev1.Pod { // a Deployment's pod: no hostname, no subdomain
		p := pod(name, true)
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web"}}
		return p
	}
	dualStack := []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	withFamilies := func(policy corev1.IPFamilyPolicy, families ...corev1.IPFamily) *corev1.Service {
		s := service("None")
		s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &policy, families
		return s
	}
	singleStack, requireDual := withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv4Protocol), withFamilies(corev1.IPFamilyPolicyRequireDualStack, dualStack...)
	cases := []struct {
		name    string
		objects []runtime.Object
		want    string // "" means no cause
		stop    bool
		// families the Service must publish; nil: IPv4, the fakes' default (no spec.ipFamilies)
		families []corev1.IPFamily
	}{
		{"healthy", []runtime.Object{coredns(&two, 2), service("None"), sts("headless-demo"), pod("hello-0", true)}, "", false, nil},
		{"no Service", []runtime.Object{coredns(&two, 2)}, "Service lab/headless-demo does not exist", true, nil},
		{"cluster IP", []runtime.Object{coredns(&two, 2), service("10.96.0.7")}, "is not headless: spec.clusterIP is \"10.96.0.7\"", true, nil},
		{"CoreDNS scaled to zero", []runtime.Object{coredns(&zero, 0), service("None")}, "CoreDNS is scaled to zero", true, nil},
		{"CoreDNS not available", []runtime.Object{coredns(&two, 0), service("None")}, "CoreDNS is not Available (coredns available 0/2)", false, nil},
		{"selector matches nothing", []runtime.Object{coredns(&two, 2), service("None"), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: ns, Labels: map[string]string{"app": "other"}}}},
			"selector app=hello matches no pod in lab; its pods carry {app=other}", true, nil},
		{"serviceName points elsewhere", []runtime.Object{coredns(&two, 2), service("None"), sts("other"), pod("hello-0", true)},
			`StatefulSet hello has serviceName "other", not "headless-demo"`, true, nil},
		{"no pod ready", []runtime.Object{coredns(&two, 2), service("None"), sts("headless-demo"), pod("hello-0", false)}, "no ready endpoint", false, nil},
		{"no port of the SRV name", []runtime.Object{coredns(&two, 2), ports("web", 8080), sts("headless-demo"), pod("hello-0", true)},
			`Service headless-demo has no port named "http" (its ports are named ["web"]), so _http._tcp.headless-demo has no SRV record`, true, nil},
		{"no port targets the endpoints' port", []runtime.Object{coredns(&two, 2), ports("http", 9090), sts("headless-demo"), pod("hello-0", true)},
			"no port of Service headless-demo targets port 8080 (its targetPorts are [9090])", true, nil},
		{"a pod of no StatefulSet without a hostname", []runtime.Object{coredns(&two, 2), service("None"), bare("web-abc12")},
			`pod web-abc12 has spec.hostname "" and spec.subdomain "": it gets a name of its own under Service headless-demo only with a hostname and subdomain "headless-demo"`, true, nil},
		{"SingleStack where both families are asked", []runtime.Object{coredns(&two, 2), singleStack, sts("headless-demo"), pod("hello-0", true)},
			"cause: Service headless-demo publishes only [IPv4] (spec.ipFamilies; ipFamilyPolicy SingleStack), so its names answer no AAAA record", true, dualStack},
		{"dual-stack where both families are asked", []runtime.Object{coredns(&two, 2), requireDual, sts("headless-demo"), pod("hello-0", true)}, "", false, dualStack},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := DiagnoseService(context.Background(), DiagnoseInput{Client: fake.NewSimpleClientset(c.objects...), Namespace: ns, Service: "headless-demo",
				Port: 8080, PortName: "http", PodNames: true, Families: c.families})
			if c.want == "" {
				if err != nil {
					t.Fatalf("want no cause, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || poll.IsStop(err) != c.stop {
				t.Fatalf("want %q (stop %v), got %v (stop %v)", c.want, c.stop, err, poll.IsStop(err))
			}
		})
	}
}

// CoreDNS scaled to zero cannot heal by waiting: the wait must end at once, saying so.
func TestCoreDNSScaledToZeroStopsTheWait(t *testing.T) {
	zero, two := int32(0), int32(2)
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &zero}}
	_, state, err := CoreDNSAvailable(d)
	if err == nil || !strings.Contains(err.Error(), "CoreDNS is scaled to zero") || state != "coredns available 0/0" {
		t.Fatalf("state %q, err %v", state, err)
	}
	d = &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &two}, Status: appsv1.DeploymentStatus{Replicas: 2, AvailableReplicas: 1, UpdatedReplicas: 2}}
	if ok, state, err := CoreDNSAvailable(d); ok || err != nil || state != "coredns available 1/2" {
		t.Fatalf("1/2: %v %q %v", ok, state, err)
	}
	d.Status.AvailableReplicas = 2
	if ok, _, err := CoreDNSAvailable(d); !ok || err != nil {
		t.Fatalf("2/2: %v %v", ok, err)
	}
}
