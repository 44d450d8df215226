package headless

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// PodAddr is what the DNS and Endpoints checks compare against: a pod's name (its hostname
// under the headless Service), addresses and node.
type PodAddr struct {
	Name string
	IP   string   // the primary address (status.podIP)
	IPs  []string // every address, one per family, the primary first (status.podIPs); may be unset
	Node string
	UID  string
}

func (p PodAddr) String() string {
	return fmt.Sprintf("%s=%s@%s", p.Name, strings.Join(p.addresses(), ","), p.Node)
}

// IPs returns the pods' primary IPs, sorted; IPsOf gives one family's.
func IPs(pods []PodAddr) []string {
	var ips []string
	for _, p := range pods {
		ips = append(ips, p.IP)
	}
	sort.Strings(ips)
	return ips
}

// ListReadyPods lists the Ready, not terminating pods matching selector, sorted by name.
func ListReadyPods(ctx context.Context, c kubernetes.Interface, namespace, selector string) ([]PodAddr, error) {
	return listPods(ctx, c, namespace, selector, func(p corev1.Pod) bool { return PodReady(p) && p.DeletionTimestamp == nil })
}

// ListPodsWithIP lists the pods matching selector that have an IP and are not terminating,
// whether Ready or not, sorted by name (to restore pods that a test left unready).
func ListPodsWithIP(ctx context.Context, c kubernetes.Interface, namespace, selector string) ([]PodAddr, error) {
	return listPods(ctx, c, namespace, selector, func(p corev1.Pod) bool { return p.DeletionTimestamp == nil && p.Status.PodIP != "" })
}

func listPods(ctx context.Context, c kubernetes.Interface, namespace, selector string, keep func(corev1.Pod) bool) ([]PodAddr, error) {
	list, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var kept []corev1.Pod
	for _, p := range list.Items {
		if keep(p) {
			kept = append(kept, p)
		}
	}
	return Addrs(kept), nil
}

// Addrs are the pods as the checks compare them, sorted by name.
func Addrs(pods []corev1.Pod) []PodAddr {
	var out []PodAddr
	for _, p := range pods {
		a := PodAddr{Name: p.Name, IP: p.Status.PodIP, Node: p.Spec.NodeName, UID: string(p.UID)}
		for _, ip := range p.Status.PodIPs {
			a.IPs = append(a.IPs, ip.IP)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CheckHeadless fails unless the Service is headless: spec.clusterIP None and no cluster IP
// allocated in spec.clusterIPs either.
func CheckHeadless(svc *corev1.Service) error {
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		return fmt.Errorf("Service %s is not headless: spec.clusterIP is %q, want None (with a cluster IP, DNS answers that one virtual IP instead of the pods, and kube-proxy load-balances)",
			svc.Name, svc.Spec.ClusterIP)
	}
	if !slices.Equal(svc.Spec.ClusterIPs, []string{corev1.ClusterIPNone}) {
		return fmt.Errorf("Service %s has spec.clusterIPs %v, want [None]", svc.Name, svc.Spec.ClusterIPs)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		return fmt.Errorf("Service %s has type %s; a headless Service is type ClusterIP with clusterIP None", svc.Name, svc.Spec.Type)
	}
	return nil
}

// CheckSelects fails unless the Service's selector matches exactly the given pods.
func CheckSelects(ctx context.Context, c kubernetes.Interface, svc *corev1.Service, want []PodAddr) error {
	sel := labels.SelectorFromSet(svc.Spec.Selector).String()
	if len(svc.Spec.Selector) == 0 {
		return fmt.Errorf("Service %s has no selector: nothing publishes its endpoints", svc.Name)
	}
	list, err := c.CoreV1().Pods(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err
	}
	var got, wantNames []string
	for _, p := range list.Items {
		got = append(got, p.Name)
	}
	for _, p := range want {
		wantNames = append(wantNames, p.Name)
	}
	sort.Strings(got)
	if !slices.Equal(got, wantNames) {
		if len(got) == 0 {
			return fmt.Errorf("Service %s selector %s matches no pod; the StatefulSet's pods are %v", svc.Name, sel, wantNames)
		}
		return fmt.Errorf("Service %s selector %s matches pods %v, want exactly %v", svc.Name, sel, got, wantNames)
	}
	return nil
}

// CheckPort fails unless the Service maps port to targetPort over TCP.
func CheckPort(svc *corev1.Service, port, targetPort int32) error {
	for _, p := range svc.Spec.Ports {
		if p.Port == port && p.TargetPort.IntValue() == int(targetPort) && p.Protocol == corev1.ProtocolTCP {
			return nil
		}
	}
	var have []string
	for _, p := range svc.Spec.Ports {
		have = append(have, FormatPort(p))
	}
	return fmt.Errorf("Service %s maps %s; want port %d -> %d/TCP", svc.Name, strings.Join(have, ", "), port, targetPort)
}

// FormatPort is a Service port as a user writes it: "port 80 -> 8080/TCP", with its name.
func FormatPort(p corev1.ServicePort) string {
	s := fmt.Sprintf("port %d -> %s/%s", p.Port, p.TargetPort.String(), p.Protocol)
	if p.Name != "" {
		s += fmt.Sprintf(" (%s)", p.Name)
	}
	return s
}

// CheckEndpoints fails unless the v1 Endpoints list exactly the pods, ready, with their
// hostnames and nodes, on port. v1 Endpoints carry one family, the Service's first
// (spec.ipFamilies[0], the pods' primary on a cluster's default Service): the pods' IP.
func CheckEndpoints(ep *corev1.Endpoints, want []PodAddr, port int32) error {
	var got []string
	for _, s := range ep.Subsets {
		if len(s.NotReadyAddresses) > 0 {
			return fmt.Errorf("Endpoints %s list not-ready addresses %v", ep.Name, s.NotReadyAddresses)
		}
		for _, a := range s.Addresses {
			for _, p := range s.Ports {
				got = append(got, publishedEndpoint(a.Hostname, a.IP, p.Port, deref(a.NodeName)))
			}
		}
	}
	return compareSets("Endpoints "+ep.Name, got, expected(want, port))
}

// CheckEndpointSlices fails unless the Service's EndpointSlices together list exactly the
// pods as ready endpoints, with hostnames and nodes, on port: for each family, in slices of
// that address type, the pods' addresses of it; no family: the pods' primary one (IP).
func CheckEndpointSlices(slices []discoveryv1.EndpointSlice, want []PodAddr, port int32, families ...corev1.IPFamily) error {
	var got []string
	types := map[corev1.IPFamily]bool{}
	for _, s := range slices {
		types[corev1.IPFamily(s.AddressType)] = true
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || !*e.Conditions.Ready {
				if e.Conditions.Terminating != nil && *e.Conditions.Terminating {
					continue // a terminating endpoint is on its way out, not published
				}
				return fmt.Errorf("EndpointSlice %s lists endpoint %v not ready", s.Name, e.Addresses)
			}
			for _, a := range e.Addresses {
				for _, p := range s.Ports {
					got = append(got, publishedEndpoint(deref(e.Hostname), a, deref(p.Port), deref(e.NodeName)))
				}
			}
		}
	}
	var wantEntries []string
	for _, p := range want {
		if len(families) == 0 {
			wantEntries = append(wantEntries, publishedEndpoint(p.Name, p.IP, port, p.Node))
		}
		for _, f := range families {
			wantEntries = append(wantEntries, publishedEndpoint(p.Name, p.IPOf(f), port, p.Node))
		}
	}
	err := compareSets("EndpointSlices", got, wantEntries)
	for _, f := range families {
		if err != nil && !types[f] {
			return fmt.Errorf("%w: no EndpointSlice has address type %s (a Service publishes only the families in its spec.ipFamilies: is it SingleStack?)", err, f)
		}
	}
	return err
}

func expected(pods []PodAddr, port int32) []string {
	var out []string
	for _, p := range pods {
		out = append(out, publishedEndpoint(p.Name, p.IP, port, p.Node))
	}
	return out
}

// publishedEndpoint is one published endpoint as the checks compare it: hostname=ip:port@node, an IPv6
// address in brackets.
func publishedEndpoint(hostname, ip string, port int32, node string) string {
	return fmt.Sprintf("%s=%s@%s", hostname, net.JoinHostPort(ip, fmt.Sprint(port)), node)
}

func compareSets(what string, got, want []string) error {
	sort.Strings(got)
	sort.Strings(want)
	if slices.Equal(got, want) {
		return nil
	}
	if len(got) == 0 {
		return fmt.Errorf("%s list no ready address; want %s (does the Service's selector match the pods?)", what, strings.Join(want, " "))
	}
	return fmt.Errorf("%s list %s; want exactly %s", what, strings.Join(got, " "), strings.Join(want, " "))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
