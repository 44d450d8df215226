package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/parallel"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// Ordinals are the names a StatefulSet's pods 0..n-1 get.
func Ordinals(statefulSet string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s-%d", statefulSet, i))
	}
	return out
}

// ReadinessInput turns hello pods ready or unready through the server's admin endpoint, called
// from a client pod (the pod network is not reachable from the host).
type ReadinessInput struct {
	Client  kubernetes.Interface
	From    headless.From // a client pod in the pods' namespace
	Pods    []headless.PodAddr
	Ready   bool
	Port    int // the server's port
	Timeout time.Duration
}

func (in ReadinessInput) validate() error {
	if err := in.From.Validate(); err != nil {
		return err
	}
	if in.Client == nil || len(in.Pods) == 0 || in.Port == 0 || in.Timeout <= 0 {
		return fmt.Errorf("ReadinessInput needs Client, Pods, Port and a Timeout > 0 (got %d pods, port %d, %s)", len(in.Pods), in.Port, in.Timeout)
	}
	return nil
}

// SetReadiness posts /admin/ready or /admin/unready to each pod, then waits until the
// kubelet's readiness probe has set each pod's Ready condition to match. The pods keep their
// UID and IP: readiness is flipped, nothing restarts, so DNS changes for that reason alone.
func SetReadiness(ctx context.Context, in ReadinessInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	action := "unready"
	if in.Ready {
		action = "ready"
	}
	if in.Client == nil || len(in.Pods) == 0 || in.Port == 0 {
		return errors.New("ReadinessInput needs Client, Pods and Port")
	}
	ns := in.From.Namespace
	for _, p := range in.Pods {
		url := fmt.Sprintf("http://%s/admin/%s", net.JoinHostPort(p.IP, strconv.Itoa(int(in.Port))), action)
		out, stderr, err := in.From.Run(ctx, "curl", "-sS", "--fail", "--max-time", "5", "-X", "POST", url)
		if err != nil {
			return fmt.Errorf("POST %s (pod %s): %w: %s%s", url, p.Name, err, out, stderr)
		}
	}
	return poll.Retry(ctx, poll.Input{What: fmt.Sprintf("pods %v to turn Ready=%v", headless.Names(in.Pods), in.Ready), Timeout: in.Timeout, Interval: 100 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			var states []string
			done := true
			for _, want := range in.Pods {
				p, err := in.Client.CoreV1().Pods(ns).Get(ctx, want.Name, metav1.GetOptions{})
				if err != nil {
					return false, "", err
				}
				if want.UID != "" && string(p.UID) != want.UID || p.Status.PodIP != want.IP {
					return false, "", poll.Stop(fmt.Errorf("pod %s was replaced (UID %s, IP %s; was %s, %s) while its readiness was flipped", p.Name, p.UID, p.Status.PodIP, want.UID, want.IP))
				}
				done = done && headless.PodReady(*p) == in.Ready
				states = append(states, fmt.Sprintf("%s Ready=%v", p.Name, headless.PodReady(*p)))
			}
			return done, strings.Join(states, ", "), nil
		})
}

// ScaleInput sets a StatefulSet's replicas.
type ScaleInput struct {
	Client      kubernetes.Interface
	Namespace   string
	StatefulSet string
	Selector    string // the StatefulSet's pods
	Replicas    int
	Timeout     time.Duration
}

func (in ScaleInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.StatefulSet == "" || in.Selector == "" || in.Replicas < 0 || in.Timeout <= 0 {
		return fmt.Errorf("ScaleInput needs Client, Namespace, StatefulSet, Selector, Replicas >= 0 and a Timeout > 0 (got %q, %q, %q, %d, %s)", in.Namespace, in.StatefulSet, in.Selector, in.Replicas, in.Timeout)
	}
	return nil
}

// Scale sets the replicas and waits until exactly that many pods exist, all Ready (scaling
// down: until the removed pods are gone, not merely terminating). It returns the Ready pods
// and the time from the scale call.
func Scale(ctx context.Context, in ScaleInput) ([]headless.PodAddr, time.Duration, error) {
	if err := in.validate(); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, in.Replicas)
	if _, err := in.Client.AppsV1().StatefulSets(in.Namespace).Patch(ctx, in.StatefulSet, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return nil, 0, fmt.Errorf("scaling StatefulSet %s to %d: %w", in.StatefulSet, in.Replicas, err)
	}
	pods, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: in.Selector, Count: in.Replicas, Timeout: in.Timeout})
	return headless.Addrs(pods), time.Since(start), err
}

// ServiceLikeInput makes a Service from an existing one: same selector and ports, another
// name, changed by Mutate (a ClusterIP copy, a publishNotReadyAddresses copy).
type ServiceLikeInput struct {
	Client    kubernetes.Interface
	Namespace string
	Like      string // the Service to copy
	Name      string // the copy's name
	Mutate    func(*corev1.Service)
}

func (in ServiceLikeInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.Like == "" || in.Name == "" {
		return fmt.Errorf("ServiceLikeInput needs Client, Namespace, Like and Name (got %q, %q, %q)", in.Namespace, in.Like, in.Name)
	}
	return nil
}

// CreateServiceLike creates the copy, with the same selector, ports and ipFamilyPolicy; its
// cluster IP fields start empty, so the API server allocates them unless Mutate says None.
func CreateServiceLike(ctx context.Context, in ServiceLikeInput) (*corev1.Service, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	from, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Like, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: map[string]string{"app.kubernetes.io/created-by": "headless-e2e"}},
		Spec: corev1.ServiceSpec{
			Selector: from.Spec.Selector,
			Ports:    from.Spec.Ports,
			Type:     corev1.ServiceTypeClusterIP,
			// The same families: a copy would otherwise get its own default (SingleStack).
			IPFamilyPolicy: from.Spec.IPFamilyPolicy,
		},
	}
	if in.Mutate != nil {
		in.Mutate(svc)
	}
	created, err := in.Client.CoreV1().Services(in.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", in.Name, err)
	}
	return created, nil
}

// DeleteServiceInput names a Service to remove.
type DeleteServiceInput struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Timeout   time.Duration
}

// DeleteService deletes the Service (absent is fine) and waits until it and its EndpointSlices
// are gone: CoreDNS serves records (PTRs among them) from the slices, so a later feature sees
// the course's Services alone only once they are gone.
func DeleteService(ctx context.Context, in DeleteServiceInput) error {
	if in.Client == nil || in.Namespace == "" || in.Name == "" || in.Timeout <= 0 {
		return fmt.Errorf("DeleteServiceInput needs Client, Namespace, Name and a Timeout > 0 (got %q, %q, %s)", in.Namespace, in.Name, in.Timeout)
	}
	err := in.Client.CoreV1().Services(in.Namespace).Delete(ctx, in.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Service %s: %w", in.Name, err)
	}
	return poll.Retry(ctx, poll.Input{What: "Service " + in.Name + " and its EndpointSlices to be gone", Timeout: in.Timeout, Interval: 100 * time.Millisecond}, func(ctx context.Context) (bool, string, error) {
		_, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
		if err == nil {
			return false, "Service still there", nil
		}
		if !apierrors.IsNotFound(err) {
			return false, "", err
		}
		list, err := in.Client.DiscoveryV1().EndpointSlices(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + in.Name})
		if err != nil {
			return false, "", err
		}
		return len(list.Items) == 0, fmt.Sprintf("Service gone, %d EndpointSlices left", len(list.Items)), nil
	})
}

// NamespaceInput names a namespace of the suite's own.
type NamespaceInput struct {
	Client  kubernetes.Interface
	Name    string
	Timeout time.Duration // for deletion
}

func (in NamespaceInput) validate() error {
	if in.Client == nil || in.Name == "" {
		return fmt.Errorf("NamespaceInput needs Client and Name (got %q)", in.Name)
	}
	return nil
}

// CreateRestrictedNamespace creates a namespace enforcing Pod Security "restricted", as the
// suite's own is.
func CreateRestrictedNamespace(ctx context.Context, in NamespaceInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
		"app.kubernetes.io/created-by":       "headless-e2e",
	}}}
	if _, err := in.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", in.Name, err)
	}
	return nil
}

// DeleteNamespace deletes the namespace (absent is fine) and waits until it is gone.
func DeleteNamespace(ctx context.Context, in NamespaceInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	if err := StartNamespaceDeletion(ctx, in.Client, in.Name); err != nil {
		return err
	}
	return AwaitNamespacesGone(ctx, in.Client, []string{in.Name}, in.Timeout)
}

// StartNamespaceDeletion deletes the namespace without waiting for the namespace controller
// to finish (5 to 7 s here): what a run need not wait for, the next run checks
// (AwaitNamespacesGone). Pods go first without grace: the namespace controller otherwise
// waits out the longest grace period, and nothing in a test namespace needs a graceful end.
// Their controllers go before them, orphaning: a StatefulSet would recreate every pod deleted
// under it, and the namespace controller, finding pods again, backs off for a minute or more.
func StartNamespaceDeletion(ctx context.Context, client kubernetes.Interface, name string) error {
	in := NamespaceInput{Client: client, Name: name}
	orphan := metav1.DeletePropagationOrphan
	byOrphaning := metav1.DeleteOptions{PropagationPolicy: &orphan}
	apps := in.Client.AppsV1()
	type collection interface {
		DeleteCollection(context.Context, metav1.DeleteOptions, metav1.ListOptions) error
	}
	for _, c := range []collection{apps.Deployments(in.Name), apps.ReplicaSets(in.Name), apps.StatefulSets(in.Name)} {
		if err := c.DeleteCollection(ctx, byOrphaning, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	// EndpointSlices the suite wrote (synthetic Services of thousands of endpoints) go in one
	// call; the namespace controller would delete them one at a time.
	err := in.Client.DiscoveryV1().EndpointSlices(in.Name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: discoveryv1.LabelManagedBy + "=" + ManagedBy})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	zero := int64(0)
	err = in.Client.CoreV1().Pods(in.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	err = in.Client.CoreV1().Namespaces().Delete(ctx, in.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// AwaitNamespacesGone waits until none of the namespaces exists.
func AwaitNamespacesGone(ctx context.Context, client kubernetes.Interface, names []string, timeout time.Duration) error {
	return poll.Retry(ctx, poll.Input{What: fmt.Sprintf("namespaces %v to be gone", names), Timeout: timeout, Interval: 200 * time.Millisecond}, func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, name := range names {
			ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return false, "", err
			}
			left = append(left, name+" ("+string(ns.Status.Phase)+")")
		}
		return len(left) == 0, "still there: " + strings.Join(left, ", "), nil
	})
}

// EarlierRuns are the namespaces an earlier run of the suite left: those being deleted (the
// run did not wait) and those still active (the run was killed before its cleanup).
func EarlierRuns(ctx context.Context, client kubernetes.Interface, except string) (terminating, active []string, err error) {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/created-by=headless-e2e"})
	if err != nil {
		return nil, nil, err
	}
	for _, ns := range list.Items {
		switch {
		case ns.Name == except || strings.HasPrefix(ns.Name, except+"-"):
		case ns.Status.Phase == corev1.NamespaceTerminating:
			terminating = append(terminating, ns.Name)
		default:
			active = append(active, ns.Name)
		}
	}
	return terminating, active, nil
}

// ClientPodInput is a client pod to run from a pod template (the course's client Deployment's,
// so it runs the same image with the same security context).
type ClientPodInput struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Template  corev1.PodTemplateSpec
	Timeout   time.Duration
}

func (in ClientPodInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.Name == "" || in.Timeout <= 0 {
		return fmt.Errorf("ClientPodInput needs Client, Namespace, Name and a Timeout > 0 (got %q, %q, %s)", in.Namespace, in.Name, in.Timeout)
	}
	return nil
}

// RunClientPod creates the pod and waits until it is the one Ready pod its labels select.
func RunClientPod(ctx context.Context, in ClientPodInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: in.Template.Labels}, Spec: *in.Template.Spec.DeepCopy()}
	if len(p.Labels) == 0 {
		return errors.New("client pod template has no labels to find the pod by")
	}
	if _, err := in.Client.CoreV1().Pods(in.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating pod %s/%s: %w", in.Namespace, in.Name, err)
	}
	_, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: labels.SelectorFromSet(p.Labels).String(), Count: 1, Timeout: in.Timeout})
	return err
}

// AwaitObject polls get until it returns no error, and returns what it got: for a check on an
// object that follows the pods, where the check's error is the state to report.
func AwaitObject[T any](ctx context.Context, what string, timeout time.Duration, get func(context.Context) (T, error)) (T, error) {
	var obj T
	err := poll.Retry(ctx, poll.Input{What: what, Timeout: timeout, Interval: 100 * time.Millisecond}, func(ctx context.Context) (bool, string, error) {
		var err error
		if obj, err = get(ctx); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	return obj, err
}

// PodFromTemplate is a bare pod made from a template (the course's hello or client template,
// so it passes Pod Security "restricted" like theirs), with labels to find it by.
func PodFromTemplate(name string, podLabels map[string]string, tmpl corev1.PodTemplateSpec) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: podLabels}, Spec: *tmpl.Spec.DeepCopy()}
}

// NodeNames lists the nodes matching selector ("" for all), sorted. The course's pods run on
// the workers: WorkerSelector.
func NodeNames(ctx context.Context, client kubernetes.Interface, selector string) ([]string, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range nodes.Items {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return names, nil
}

// WorkerSelector selects the nodes without the control-plane role.
const WorkerSelector = "!node-role.kubernetes.io/control-plane"

// SweepNamespaces deletes, side by side, every namespace the suite created (label
// app.kubernetes.io/created-by=headless-e2e) whose name starts with prefix, and waits until
// they are gone: what a killed run (no deferred cleanup, no Finish) leaves behind. Only for
// callers that own every such namespace on the cluster, as one bench run does.
func SweepNamespaces(ctx context.Context, client kubernetes.Interface, prefix string, timeout time.Duration, out io.Writer) error {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/created-by=headless-e2e"})
	if err != nil {
		return err
	}
	var names []string
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, prefix) {
			names = append(names, ns.Name)
		}
	}
	return parallel.Do(len(names), 0, func(i int) error {
		start := time.Now()
		err := DeleteNamespace(ctx, NamespaceInput{Client: client, Name: names[i], Timeout: timeout})
		if err == nil {
			fmt.Fprintf(out, "namespace %s deleted in %s\n", names[i], time.Since(start).Round(100*time.Millisecond))
		}
		return err
	})
}

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the EndpointSlices the
// suite writes: the EndpointSlice controller leaves slices of other managers alone.
const ManagedBy = "headless-e2e"

// DeleteServiceAndSlices deletes the EndpointSlices this suite wrote for a selectorless Service
// (managed-by ManagedBy, in one DeleteCollection call however many), then the Service, and
// waits until both are gone. For a Service whose slices the controller writes, DeleteService.
func DeleteServiceAndSlices(ctx context.Context, client kubernetes.Interface, namespace, service string, timeout time.Duration) error {
	selector := discoveryv1.LabelServiceName + "=" + service + "," + discoveryv1.LabelManagedBy + "=" + ManagedBy
	err := client.DiscoveryV1().EndpointSlices(namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the EndpointSlices of %s: %w", service, err)
	}
	return DeleteService(ctx, DeleteServiceInput{Client: client, Namespace: namespace, Name: service, Timeout: timeout})
}

// NodeFamilies are the IP families every node has an InternalIP of: the cluster's, IPv4
// first.
func NodeFamilies(ctx context.Context, client kubernetes.Interface) ([]corev1.IPFamily, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	count := map[corev1.IPFamily]int{}
	for _, n := range nodes.Items {
		seen := map[corev1.IPFamily]bool{}
		for _, a := range n.Status.Addresses {
			ip, err := netip.ParseAddr(a.Address)
			switch {
			case err != nil || a.Type != corev1.NodeInternalIP:
			case ip.Unmap().Is4():
				seen[corev1.IPv4Protocol] = true
			default:
				seen[corev1.IPv6Protocol] = true
			}
		}
		for f := range seen {
			count[f]++
		}
	}
	var out []corev1.IPFamily
	for _, f := range []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol} {
		if count[f] == len(nodes.Items) && len(nodes.Items) > 0 {
			out = append(out, f)
		}
	}
	return out, nil
}
