package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
)

// ServiceFQDN is a Service's absolute name (trailing dot: no search list involved).
func ServiceFQDN(service, namespace, zone string) string {
	return fmt.Sprintf("%s.%s.svc.%s.", service, namespace, zone)
}

// PodFQDN is the absolute name of a pod whose hostname and subdomain put it under service.
func PodFQDN(pod, service, namespace, zone string) string {
	return pod + "." + ServiceFQDN(service, namespace, zone)
}

// Names are the pods' names, in their order.
func Names(pods []PodAddr) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

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
	Client    kubernetes.Interface
	Exec      Executor
	Namespace string
	ClientPod string
	Pods      []PodAddr
	Ready     bool
	Port      int // the server's port
	Timeout   time.Duration
}

// SetReadiness posts /admin/ready or /admin/unready to each pod, then waits until the
// kubelet's readiness probe has set each pod's Ready condition to match. The pods keep their
// UID and IP: readiness is flipped, nothing restarts, so DNS changes for that reason alone.
func SetReadiness(ctx context.Context, in ReadinessInput) error {
	action := "unready"
	if in.Ready {
		action = "ready"
	}
	for _, p := range in.Pods {
		url := fmt.Sprintf("http://%s:%d/admin/%s", p.IP, in.Port, action)
		out, stderr, err := in.Exec.Exec(ctx, in.Namespace, in.ClientPod, []string{"curl", "-sS", "--fail", "--max-time", "5", "-X", "POST", url})
		if err != nil {
			return fmt.Errorf("POST %s (pod %s): %w: %s%s", url, p.Name, err, out, stderr)
		}
	}
	return cluster.Poll(ctx, fmt.Sprintf("pods %v to turn Ready=%v", Names(in.Pods), in.Ready), in.Timeout, 100*time.Millisecond,
		func(ctx context.Context) (bool, string, error) {
			var states []string
			done := true
			for _, want := range in.Pods {
				p, err := in.Client.CoreV1().Pods(in.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
				if err != nil {
					return false, err.Error(), nil
				}
				if want.UID != "" && string(p.UID) != want.UID || p.Status.PodIP != want.IP {
					return false, "", fmt.Errorf("pod %s was replaced (UID %s, IP %s; was %s, %s) while its readiness was flipped", p.Name, p.UID, p.Status.PodIP, want.UID, want.IP)
				}
				done = done && PodReady(*p) == in.Ready
				states = append(states, fmt.Sprintf("%s Ready=%v", p.Name, PodReady(*p)))
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

// Scale sets the replicas and waits until exactly that many pods exist, all Ready (scaling
// down: until the removed pods are gone, not merely terminating). It returns the Ready pods
// and the time from the scale call.
func Scale(ctx context.Context, in ScaleInput) ([]PodAddr, time.Duration, error) {
	start := time.Now()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, in.Replicas)
	if _, err := in.Client.AppsV1().StatefulSets(in.Namespace).Patch(ctx, in.StatefulSet, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return nil, 0, fmt.Errorf("scaling StatefulSet %s to %d: %w", in.StatefulSet, in.Replicas, err)
	}
	if _, err := WaitPodsReady(ctx, WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: in.Selector, Count: in.Replicas, Timeout: in.Timeout}); err != nil {
		return nil, time.Since(start), err
	}
	pods, err := ReadyPods(ctx, in.Client, in.Namespace, in.Selector)
	return pods, time.Since(start), err
}

// PublishedInput is what a headless Service must publish for a set of pods.
type PublishedInput struct {
	Client     kubernetes.Interface
	Exec       Executor
	Namespace  string
	ClientPod  string
	Service    string
	Zone       string
	Pods       []PodAddr // exactly the pods the Service must publish
	Gone       []string  // pod names that must no longer resolve (NXDOMAIN)
	TargetPort int32     // the endpoints' port, in the EndpointSlices and the SRV records
	PortName   string    // the Service port's name: its SRV records are checked
	Timeout    time.Duration
}

// AwaitPublished polls until every source agrees with Pods exactly: the EndpointSlices list
// exactly them, ready; the Service name answers exactly their IPs; each pod's name exactly
// its IP; each Gone name NXDOMAIN; the SRV name exactly one record per pod. It returns the
// time until all held; on timeout, every disagreement of the last round.
func AwaitPublished(ctx context.Context, in PublishedInput) (time.Duration, error) {
	start := time.Now()
	svc := ServiceFQDN(in.Service, in.Namespace, in.Zone)
	q := func(name, qtype string) DigInput {
		return DigInput{Exec: in.Exec, Namespace: in.Namespace, Pod: in.ClientPod, Name: name, Type: qtype}
	}
	queries := []DigInput{q(svc, "A"), q("_"+in.PortName+"._tcp."+svc, "SRV")}
	checks := []func(DigResult) error{WantRecords("A", IPs(in.Pods)...), nil}
	var targets []string
	for _, p := range in.Pods {
		fqdn := PodFQDN(p.Name, in.Service, in.Namespace, in.Zone)
		targets = append(targets, fqdn)
		queries = append(queries, q(fqdn, "A"))
		checks = append(checks, WantRecords("A", p.IP))
	}
	checks[1] = func(r DigResult) error {
		if r.Rcode != "NOERROR" {
			return fmt.Errorf("%s; want %d SRV records", r, len(targets))
		}
		_, err := CheckSRV(r.Data("SRV"), targets, int(in.TargetPort))
		return err
	}
	for _, name := range in.Gone {
		queries = append(queries, q(PodFQDN(name, in.Service, in.Namespace, in.Zone), "A"))
		checks = append(checks, WantRcode("NXDOMAIN"))
	}
	err := cluster.Poll(ctx, fmt.Sprintf("Service %s to publish exactly %v", in.Service, in.Pods), in.Timeout, 200*time.Millisecond,
		func(ctx context.Context) (bool, string, error) {
			var problems []string
			slices, err := in.Client.DiscoveryV1().EndpointSlices(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + in.Service})
			if err != nil {
				problems = append(problems, err.Error())
			} else if err := CheckEndpointSlices(slices.Items, in.Pods, in.TargetPort); err != nil {
				problems = append(problems, err.Error())
			}
			results, err := ParallelDig(ctx, queries)
			if err != nil {
				problems = append(problems, err.Error())
			} else {
				for i, r := range results {
					if err := checks[i](r); err != nil {
						problems = append(problems, err.Error())
					}
				}
			}
			return len(problems) == 0, strings.Join(problems, "; "), nil
		})
	return time.Since(start), err
}

// ServiceLikeInput makes a Service from an existing one: same selector and ports, another
// name, changed by Mutate (a ClusterIP copy, a publishNotReadyAddresses copy).
type ServiceLikeInput struct {
	Client    kubernetes.Interface
	Namespace string
	From      string
	Name      string
	Mutate    func(*corev1.Service)
}

// CreateServiceLike creates the copy; its cluster IP fields start empty, so the API server
// allocates one unless Mutate says None.
func CreateServiceLike(ctx context.Context, in ServiceLikeInput) (*corev1.Service, error) {
	from, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.From, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: map[string]string{"app.kubernetes.io/created-by": "headless-e2e"}},
		Spec: corev1.ServiceSpec{
			Selector: from.Spec.Selector,
			Ports:    from.Spec.Ports,
			Type:     corev1.ServiceTypeClusterIP,
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
	err := in.Client.CoreV1().Services(in.Namespace).Delete(ctx, in.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Service %s: %w", in.Name, err)
	}
	return cluster.Poll(ctx, "Service "+in.Name+" and its EndpointSlices to be gone", in.Timeout, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		_, err := in.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
		if err == nil {
			return false, "Service still there", nil
		}
		if !apierrors.IsNotFound(err) {
			return false, err.Error(), nil
		}
		list, err := in.Client.DiscoveryV1().EndpointSlices(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + in.Name})
		if err != nil {
			return false, err.Error(), nil
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

// CreateRestrictedNamespace creates a namespace enforcing Pod Security "restricted", as the
// suite's own is.
func CreateRestrictedNamespace(ctx context.Context, in NamespaceInput) error {
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

// DeleteNamespace deletes the namespace (absent is fine) and waits until it is gone. Pods go
// first without grace: the namespace controller otherwise waits out the longest grace
// period, and nothing in a test namespace needs a graceful end. Their controllers go before
// them, orphaning: a StatefulSet would recreate every pod deleted under it, and the namespace
// controller, finding pods again, backs off for a minute or more.
func DeleteNamespace(ctx context.Context, in NamespaceInput) error {
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
	zero := int64(0)
	err := in.Client.CoreV1().Pods(in.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	err = in.Client.CoreV1().Namespaces().Delete(ctx, in.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return cluster.Poll(ctx, "namespace "+in.Name+" to be gone", in.Timeout, 200*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		ns, err := in.Client.CoreV1().Namespaces().Get(ctx, in.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		return false, "phase " + string(ns.Status.Phase), nil
	})
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

// RunClientPod creates the pod and waits until it is the one Ready pod its labels select.
func RunClientPod(ctx context.Context, in ClientPodInput) error {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: in.Template.Labels}, Spec: *in.Template.Spec.DeepCopy()}
	if len(p.Labels) == 0 {
		return errors.New("client pod template has no labels to find the pod by")
	}
	if _, err := in.Client.CoreV1().Pods(in.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating pod %s/%s: %w", in.Namespace, in.Name, err)
	}
	_, err := WaitPodsReady(ctx, WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: labels.SelectorFromSet(p.Labels).String(), Count: 1, Timeout: in.Timeout})
	return err
}
