package headless

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// DiagnoseInput names the headless Service whose names do not answer as expected.
type DiagnoseInput struct {
	Client    kubernetes.Interface
	Namespace string
	Service   string
}

// DiagnoseService looks once for the usual reasons a headless Service's names are wrong, in
// the order a user would check them, and returns the first that holds, or nil:
//   - the Service does not exist, or has a cluster IP (it is not headless);
//   - CoreDNS is scaled to zero, or not Available;
//   - the selector matches no pod;
//   - a StatefulSet whose pods the selector matches names another Service as serviceName (its
//     pods then get no hostname under this one: <pod>.<service> is NXDOMAIN);
//   - a matched pod is stuck (CrashLoopBackOff, ImagePullBackOff...), or none is Ready.
//
// A cause that waiting cannot heal is returned as a poll.Stop error, so a wait that consults
// it ends at once with the cause instead of at its deadline with the symptom.
func DiagnoseService(ctx context.Context, in DiagnoseInput) error {
	if in.Client == nil || in.Namespace == "" || in.Service == "" {
		return fmt.Errorf("DiagnoseInput needs Client, Namespace and Service (got %q, %q)", in.Namespace, in.Service)
	}
	svc, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return poll.Stop(fmt.Errorf("cause: Service %s/%s does not exist", in.Namespace, in.Service))
	}
	if err != nil {
		return err
	}
	if err := CheckHeadless(svc); err != nil {
		return poll.Stop(fmt.Errorf("cause: %w", err))
	}
	if err := coreDNSHealthy(ctx, in.Client); err != nil {
		return err
	}
	if len(svc.Spec.Selector) == 0 {
		return nil // selectorless: whoever writes its EndpointSlices is the one to ask
	}
	selector := labels.SelectorFromSet(svc.Spec.Selector)
	pods, err := in.Client.CoreV1().Pods(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return poll.Stop(fmt.Errorf("cause: Service %s's selector %s matches no pod in %s%s", svc.Name, selector, in.Namespace, podLabelsHint(ctx, in.Client, in.Namespace)))
	}
	sets, err := in.Client.AppsV1().StatefulSets(in.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, s := range sets.Items {
		if selector.Matches(labels.Set(s.Spec.Template.Labels)) && s.Spec.ServiceName != svc.Name {
			return poll.Stop(fmt.Errorf("cause: StatefulSet %s has serviceName %q, not %q: its pods' hostnames are published under %q, so <pod>.%s does not exist (set the StatefulSet's spec.serviceName: %s)",
				s.Name, s.Spec.ServiceName, svc.Name, s.Spec.ServiceName, svc.Name, svc.Name))
		}
	}
	var notReady []string
	for _, p := range pods.Items {
		if reason := StuckReason(p); reason != "" {
			return poll.Stop(fmt.Errorf("cause: pod %s is stuck in %s:\n%s", p.Name, reason, PodReport(ctx, in.Client, p)))
		}
		if !PodReady(p) || p.DeletionTimestamp != nil {
			notReady = append(notReady, fmt.Sprintf("%s (%s)", p.Name, p.Status.Phase))
		}
	}
	if len(notReady) == len(pods.Items) && !svc.Spec.PublishNotReadyAddresses {
		sort.Strings(notReady)
		return fmt.Errorf("cause: no ready endpoint: the pods %s selects are not Ready: %s", selector, strings.Join(notReady, ", "))
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
