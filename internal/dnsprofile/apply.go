package dnsprofile

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// The NodeLocal DNSCache names, as the upstream addon has them.
const (
	NodeLocalName     = "node-local-dns"
	NodeLocalAddress  = "169.254.20.10" // the addon's documented link-local address
	upstreamService   = "kube-dns-upstream"
	nodeLocalHealth   = 8080 // `health <address>:8080`
	nodeLocalMetrics  = 9253
	coreDNSDeployment = "coredns"
)

// NodeExec runs a command in a node's container (docker exec), for what only the node can
// change: an interface, kubelet's configuration.
type NodeExec func(ctx context.Context, node string, cmd ...string) error

// ApplyInput is the cluster a profile is applied to, right after it was created.
type ApplyInput struct {
	Client kubernetes.Interface
	Nodes  []string // the node containers
	Exec   NodeExec
	Zone   string // the cluster zone, "cluster.local"
}

func (in ApplyInput) validate() error {
	if in.Client == nil || len(in.Nodes) == 0 || in.Exec == nil || in.Zone == "" {
		return fmt.Errorf("ApplyInput needs Client, Nodes, Exec and Zone (got %v, %q)", in.Nodes, in.Zone)
	}
	return nil
}

// Apply turns the cluster's DNS into profile p. kubeadm is what kind makes: nothing to do.
// The caller waits for the nodes and CoreDNS afterwards, as after any creation.
func Apply(ctx context.Context, p Profile, in ApplyInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	switch p {
	case Cache30:
		return applyCache30(ctx, in)
	case NodeLocal:
		return applyNodeLocal(ctx, in)
	}
	return nil
}

// noClusterCache is kubeadm 1.32+'s block that keeps the cluster zone out of CoreDNS's cache.
var noClusterCache = regexp.MustCompile(`(?m)^(\s*)cache 30 \{\s*\n\s*disable success (\S+)\s*\n\s*disable denial (\S+)\s*\n\s*\}\s*\n`)

// WithClusterCache is kubeadm 1.31's Corefile from 1.32's: the `disable` lines removed, so
// `cache 30` holds the cluster zone too.
func WithClusterCache(corefile string) (string, error) {
	if !noClusterCache.MatchString(corefile) {
		return "", fmt.Errorf("the CoreDNS Corefile has no `cache 30 { disable success ...; disable denial ... }` block to turn into kubeadm 1.31's `cache 30`:\n%s", corefile)
	}
	return noClusterCache.ReplaceAllString(corefile, "${1}# DNS_PROFILE=cache30 (headless-e2e): kubeadm 1.31's cache, the cluster zone included\n${1}cache 30\n"), nil
}

func applyCache30(ctx context.Context, in ApplyInput) error {
	two := fmt.Sprintf(`{"spec":{"replicas":%d}}`, Documented(Cache30).Caches)
	if _, err := in.Client.AppsV1().Deployments("kube-system").Patch(ctx, coreDNSDeployment, "application/merge-patch+json", []byte(two), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scaling CoreDNS to 2 replicas: %w", err)
	}
	return RewriteCorefile(ctx, in.Client, WithClusterCache)
}

// RewriteCorefile changes CoreDNS's Corefile (kube-system/coredns) with edit and restarts
// CoreDNS's pods, which read it at start (the reload plugin would take up to a minute).
func RewriteCorefile(ctx context.Context, client kubernetes.Interface, edit func(corefile string) (string, error)) error {
	cms := client.CoreV1().ConfigMaps("kube-system")
	cm, err := cms.Get(ctx, coreDNSDeployment, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the CoreDNS config: %w", err)
	}
	if cm.Data["Corefile"], err = edit(cm.Data["Corefile"]); err != nil {
		return err
	}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating the CoreDNS config: %w", err)
	}
	return client.CoreV1().Pods("kube-system").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
}

// NodeLocalCorefile is the addon's Corefile for the cluster zone and the reverse zones, each
// asking CoreDNS over TCP through kube-dns-upstream (upstream). Other names go the same way
// (the addon sends them to the node's resolv.conf, which a pod here never uses): CoreDNS
// answers them as it would anyway.
func NodeLocalCorefile(zone, upstream string) string {
	block := func(name, cache string) string {
		return fmt.Sprintf(`%s:53 {
    errors
    cache %s
    reload
    loop
    bind %s
    forward . %s {
        force_tcp
    }
    prometheus :%d
}
`, name, cache, NodeLocalAddress, upstream, nodeLocalMetrics)
	}
	clusterZone := strings.Replace(block(zone, "{\n        success 9984 30\n        denial 9984 5\n    }"),
		"    prometheus", fmt.Sprintf("    health %s:%d\n    prometheus", NodeLocalAddress, nodeLocalHealth), 1)
	return clusterZone + block("in-addr.arpa", "30") + block("ip6.arpa", "30") + block(".", "30")
}

func applyNodeLocal(ctx context.Context, in ApplyInput) error {
	coredns, err := in.Client.AppsV1().Deployments("kube-system").Get(ctx, coreDNSDeployment, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the CoreDNS Deployment (its image runs the cache): %w", err)
	}
	upstream, err := createUpstreamService(ctx, in.Client)
	if err != nil {
		return err
	}
	// What the addon's binary does at start: the link-local address local to the node. It puts
	// it on a dummy interface; this host's kernel has no dummy driver (no modules), and an
	// address on lo is local the same way.
	for _, node := range in.Nodes {
		if err := in.Exec(ctx, node, "ip", "addr", "replace", NodeLocalAddress+"/32", "dev", "lo"); err != nil {
			return fmt.Errorf("node %s: the link-local address %s: %w", node, NodeLocalAddress, err)
		}
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: NodeLocalName, Namespace: "kube-system"},
		Data: map[string]string{"Corefile": NodeLocalCorefile(in.Zone, upstream)}}
	if _, err := in.Client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating ConfigMap %s: %w", NodeLocalName, err)
	}
	if _, err := in.Client.AppsV1().DaemonSets("kube-system").Create(ctx, nodeLocalDaemonSet(coredns.Spec.Template.Spec.Containers[0]), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating DaemonSet %s: %w", NodeLocalName, err)
	}
	if err := waitDaemonSet(ctx, in.Client, len(in.Nodes)); err != nil {
		return err
	}
	// kubelet's clusterDNS: the cache, for every pod created from now on.
	for _, node := range in.Nodes {
		if err := in.Exec(ctx, node, "sh", "-c", `sed -i '/^clusterDNS:/{n;s/^- .*/- `+NodeLocalAddress+`/}' /var/lib/kubelet/config.yaml && systemctl restart kubelet`); err != nil {
			return fmt.Errorf("node %s: kubelet's clusterDNS: %w", node, err)
		}
	}
	return nil
}

// createUpstreamService is the addon's kube-dns-upstream: CoreDNS's pods behind a Service IP
// of their own, which the cache forwards to. It returns that IP.
func createUpstreamService(ctx context.Context, client kubernetes.Interface) (string, error) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: upstreamService, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"k8s-app": "kube-dns"}, Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)}}}}
	created, err := client.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating Service %s: %w", upstreamService, err)
	}
	return created.Spec.ClusterIP, nil
}

// nodeLocalDaemonSet runs the cache on every node's network, with the CoreDNS container's
// image and security context (the same binary, binding port 53 the same way).
func nodeLocalDaemonSet(coredns corev1.Container) *appsv1.DaemonSet {
	labels := map[string]string{"k8s-app": NodeLocalName}
	no := false
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: NodeLocalName, Namespace: "kube-system", Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostNetwork:                  true,
					PriorityClassName:            "system-node-critical",
					AutomountServiceAccountToken: &no,
					// Never the node's resolver: the cache resolves nothing itself, it forwards to
					// an IP.
					DNSPolicy:   corev1.DNSNone,
					DNSConfig:   &corev1.PodDNSConfig{Nameservers: []string{NodeLocalAddress}},
					Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					Containers: []corev1.Container{{
						Name: NodeLocalName, Image: coredns.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            []string{"-conf", "/etc/coredns/Corefile"},
						SecurityContext: coredns.SecurityContext,
						Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
							{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
							Host: NodeLocalAddress, Path: "/health", Port: intstr.FromInt32(nodeLocalHealth)}}, PeriodSeconds: 2},
						Resources:    coredns.Resources,
						VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/coredns"}},
					}},
					Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: NodeLocalName}}}}},
				},
			},
		},
	}
}

// waitDaemonSet waits until the cache is Ready on every node.
func waitDaemonSet(ctx context.Context, client kubernetes.Interface, nodes int) error {
	_, err := headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: client, Namespace: "kube-system", Selector: "k8s-app=" + NodeLocalName,
		Count: nodes, Timeout: 2 * time.Minute})
	if err != nil {
		return fmt.Errorf("NodeLocal DNSCache: %w", err)
	}
	return nil
}

// nodeLocalCorefile reads the running cache's Corefile, or "" when there is no cache.
func nodeLocalCorefile(ctx context.Context, client kubernetes.Interface) (string, error) {
	if _, err := client.AppsV1().DaemonSets("kube-system").Get(ctx, NodeLocalName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, NodeLocalName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("DaemonSet kube-system/%s runs, but its ConfigMap: %w", NodeLocalName, err)
	}
	return cm.Data["Corefile"], nil
}
