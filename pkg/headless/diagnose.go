package headless

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// DiagnoseInput names the headless Service whose names do not answer as expected, and, when
// known, what its endpoints must offer: the endpoints' Port and the Service port's PortName
// (the SRV name), so that a Service that can never publish them is named too.
type DiagnoseInput struct {
	Client    kubernetes.Interface
	Namespace string
	Service   string
	Port      int32  // the endpoints' (container) port; 0: not checked
	PortName  string // the Service port whose SRV records are asked; "": not checked
	PodNames  bool   // each pod must have a name of its own (<hostname>.<service>)
	// Families the Service must publish (A for IPv4, AAAA for IPv6); none: not checked.
	Families []corev1.IPFamily
}

func (in DiagnoseInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.Service == "" {
		return fmt.Errorf("DiagnoseInput needs Client, Namespace and Service (got %q, %q)", in.Namespace, in.Service)
	}
	return nil
}

// diagnosis is what the causes look at, read once.
type diagnosis struct {
	in       DiagnoseInput
	svc      *corev1.Service
	selector labels.Selector // nil for a selectorless Service
	pods     []corev1.Pod    // the pods the selector matches
}

// A cause looks for one reason the Service's names are wrong. It returns nil when that reason
// does not hold, an error naming it, or a poll.Stop error when waiting cannot heal it. A new
// check is one more entry in causes, in the order a user would look.
type cause func(ctx context.Context, d *diagnosis) error

var causes = []cause{
	serviceIsHeadless,
	servicePublishesFamilies,
	coreDNSIsHealthy,
	servicePortsServe,
	selectorMatchesPods,
	statefulSetNamesTheService,
	podsHaveNames,
	podsAreNotStuck,
	somePodIsReady,
}

// DiagnoseService looks once for the usual reasons a headless Service's names are wrong, in
// the order a user would check them, and returns the first that holds, or nil:
//   - the Service does not exist, or has a cluster IP (it is not headless);
//   - its spec.ipFamilies lacks one of Families (a SingleStack Service on a dual-stack
//     cluster: its names never answer the other family's records);
//   - CoreDNS is scaled to zero, or not Available;
//   - no Service port is named PortName (its SRV name never exists), or none targets Port
//     (the EndpointSlices never list that port);
//   - the selector matches no pod;
//   - a StatefulSet whose pods the selector matches names another Service as serviceName (its
//     pods then get no hostname under this one: <pod>.<service> is NXDOMAIN);
//   - with PodNames, a matched pod that no StatefulSet owns has no spec.hostname or a
//     spec.subdomain other than the Service (it gets no name of its own);
//   - a matched pod is stuck (CrashLoopBackOff, ImagePullBackOff...), or none is Ready.
//
// A cause that waiting cannot heal is returned as a poll.Stop error, so a wait that consults
// it ends at once with the cause instead of at its deadline with the symptom.
func DiagnoseService(ctx context.Context, in DiagnoseInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	svc, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return poll.Stop(fmt.Errorf("cause: Service %s/%s does not exist", in.Namespace, in.Service))
	}
	if err != nil {
		return err
	}
	d := &diagnosis{in: in, svc: svc}
	if len(svc.Spec.Selector) > 0 {
		d.selector = labels.SelectorFromSet(svc.Spec.Selector)
		pods, err := in.Client.CoreV1().Pods(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: d.selector.String()})
		if err != nil {
			return err
		}
		d.pods = pods.Items
	}
	for _, c := range causes {
		if err := c(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func serviceIsHeadless(_ context.Context, d *diagnosis) error {
	if err := CheckHeadless(d.svc); err != nil {
		return poll.Stop(fmt.Errorf("cause: %w", err))
	}
	return nil
}

// servicePublishesFamilies: a Service publishes EndpointSlices, so records, only of the
// families in its spec.ipFamilies, which its ipFamilyPolicy fixed when it was created.
func servicePublishesFamilies(_ context.Context, d *diagnosis) error {
	have := ServiceFamilies(d.svc)
	for _, f := range d.in.Families {
		if !slices.Contains(have, f) {
			policy := "unset"
			if p := d.svc.Spec.IPFamilyPolicy; p != nil {
				policy = string(*p)
			}
			return poll.Stop(fmt.Errorf("cause: Service %s publishes only %v (spec.ipFamilies; ipFamilyPolicy %s), so its names answer no %s record: ask for ipFamilyPolicy PreferDualStack or RequireDualStack (a headless Service with a selector is SingleStack unless it asks)",
				d.svc.Name, have, policy, RecordType(f)))
		}
	}
	return nil
}

func coreDNSIsHealthy(ctx context.Context, d *diagnosis) error {
	return coreDNSHealthy(ctx, d.in.Client)
}

// servicePortsServe: the SRV name is _<port name>._tcp.<service>, and the EndpointSlices list
// each Service port's targetPort, so a Service without that name or that target never
// publishes them, however long one waits.
func servicePortsServe(_ context.Context, d *diagnosis) error {
	var names, targets []string
	namedOK, targetOK := d.in.PortName == "", d.in.Port == 0
	for _, p := range d.svc.Spec.Ports {
		names = append(names, p.Name)
		targets = append(targets, p.TargetPort.String())
		namedOK = namedOK || p.Name == d.in.PortName
		// A named targetPort resolves per pod: only a number can be held to Port here.
		targetOK = targetOK || p.TargetPort.Type == intstr.String || p.TargetPort.IntValue() == int(d.in.Port)
	}
	if !namedOK {
		return poll.Stop(fmt.Errorf("cause: Service %s has no port named %q (its ports are named %q), so _%s._tcp.%s has no SRV record", d.svc.Name, d.in.PortName, names, d.in.PortName, d.svc.Name))
	}
	if !targetOK {
		return poll.Stop(fmt.Errorf("cause: no port of Service %s targets port %d (its targetPorts are %v), so its EndpointSlices never list port %d", d.svc.Name, d.in.Port, targets, d.in.Port))
	}
	return nil
}

func selectorMatchesPods(ctx context.Context, d *diagnosis) error {
	if d.selector != nil && len(d.pods) == 0 {
		return poll.Stop(fmt.Errorf("cause: Service %s's selector %s matches no pod in %s%s", d.svc.Name, d.selector, d.in.Namespace, podLabelsHint(ctx, d.in.Client, d.in.Namespace)))
	}
	return nil
}

func statefulSetNamesTheService(ctx context.Context, d *diagnosis) error {
	if d.selector == nil {
		return nil // selectorless: whoever writes its EndpointSlices is the one to ask
	}
	sets, err := d.in.Client.AppsV1().StatefulSets(d.in.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, s := range sets.Items {
		if d.selector.Matches(labels.Set(s.Spec.Template.Labels)) && s.Spec.ServiceName != d.svc.Name {
			return poll.Stop(fmt.Errorf("cause: StatefulSet %s has serviceName %q, not %q: its pods' hostnames are published under %q, so <pod>.%s does not exist (set the StatefulSet's spec.serviceName: %s)",
				s.Name, s.Spec.ServiceName, d.svc.Name, s.Spec.ServiceName, d.svc.Name, d.svc.Name))
		}
	}
	return nil
}

// podsHaveNames: a pod is published under <hostname>.<service> only when its spec.hostname is
// set and its spec.subdomain is the Service's name (a StatefulSet sets both from serviceName).
func podsHaveNames(_ context.Context, d *diagnosis) error {
	if !d.in.PodNames {
		return nil
	}
	for _, p := range d.pods {
		if ownedByStatefulSet(p) {
			continue // statefulSetNamesTheService holds those
		}
		if p.Spec.Hostname == "" || p.Spec.Subdomain != d.svc.Name {
			return poll.Stop(fmt.Errorf("cause: pod %s has spec.hostname %q and spec.subdomain %q: it gets a name of its own under Service %s only with a hostname and subdomain %q",
				p.Name, p.Spec.Hostname, p.Spec.Subdomain, d.svc.Name, d.svc.Name))
		}
	}
	return nil
}

func ownedByStatefulSet(p corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "StatefulSet" {
			return true
		}
	}
	return false
}

func podsAreNotStuck(ctx context.Context, d *diagnosis) error {
	for _, p := range d.pods {
		if reason := StuckReason(p); reason != "" {
			return poll.Stop(fmt.Errorf("cause: pod %s is stuck in %s:\n%s", p.Name, reason, PodReport(ctx, d.in.Client, p)))
		}
	}
	return nil
}

func somePodIsReady(_ context.Context, d *diagnosis) error {
	if d.selector == nil || d.svc.Spec.PublishNotReadyAddresses {
		return nil
	}
	var notReady []string
	for _, p := range d.pods {
		if !PodReady(p) || p.DeletionTimestamp != nil {
			notReady = append(notReady, fmt.Sprintf("%s (%s)", p.Name, p.Status.Phase))
		}
	}
	if len(notReady) == len(d.pods) {
		sort.Strings(notReady)
		return fmt.Errorf("cause: no ready endpoint: the pods %s selects are not Ready: %s", d.selector, strings.Join(notReady, ", "))
	}
	return nil
}

// coreDNSHealthy is nil when kube-system/coredns is Available; scaled to zero is a Stop.
func coreDNSHealthy(ctx context.Context, c kubernetes.Interface) error {
	d, err := c.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // not every cluster names its DNS deployment coredns
	}
	if err != nil {
		return err
	}
	available, state, err := CoreDNSAvailable(d)
	if err != nil {
		return poll.Stop(fmt.Errorf("cause: %w", err))
	}
	if !available {
		return errors.New("cause: CoreDNS is not Available (" + state + ")")
	}
	return nil
}

// podLabelsHint lists the label sets the namespace's pods do carry, for a selector that
// matches none of them.
func podLabelsHint(ctx context.Context, c kubernetes.Interface, namespace string) string {
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) == 0 {
		return " (the namespace has no pods)"
	}
	seen := map[string]bool{}
	for _, p := range pods.Items {
		seen[labels.Set(p.Labels).String()] = true
	}
	var sets []string
	for s := range seen {
		sets = append(sets, "{"+s+"}")
	}
	sort.Strings(sets)
	return "; its pods carry " + strings.Join(sets, " ")
}

// CoreDNSAvailable reads the coredns Deployment: available when every replica is. A
// Deployment scaled to zero never becomes available by waiting, so that is a poll.Stop error
// with the command that heals it.
func CoreDNSAvailable(d *appsv1.Deployment) (bool, string, error) {
	state := fmt.Sprintf("coredns available %d/%d", d.Status.AvailableReplicas, d.Status.Replicas)
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		return false, state, poll.Stop(fmt.Errorf("CoreDNS is scaled to zero (kube-system/coredns spec.replicas 0), so no name in the cluster resolves: kubectl -n kube-system scale deployment coredns --replicas=2"))
	}
	return d.Status.Replicas > 0 && d.Status.AvailableReplicas == d.Status.Replicas && d.Status.UpdatedReplicas == d.Status.Replicas, state, nil
}
