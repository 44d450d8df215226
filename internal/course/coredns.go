package course

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// CoreDNSSelector selects the cluster DNS pods (kubeadm and kind label them so).
const CoreDNSSelector = "k8s-app=kube-dns"

// ReplaceCoreDNS deletes every CoreDNS pod and waits until none of them is left and as many new
// ones are Ready. It returns the old pods and the new ones, so a fault test can show that the
// answers after the fault come from new pods, not from old ones that were still terminating.
func ReplaceCoreDNS(ctx context.Context, client kubernetes.Interface, timeout time.Duration) (old, replacements []headless.PodAddr, err error) {
	if client == nil {
		return nil, nil, errors.New("ReplaceCoreDNS: client is nil")
	}
	const ns = "kube-system"
	if old, err = headless.ListPodsWithIP(ctx, client, ns, CoreDNSSelector); err != nil {
		return nil, nil, err
	}
	if len(old) == 0 {
		return nil, nil, fmt.Errorf("no CoreDNS pods (%s) in %s", CoreDNSSelector, ns)
	}
	oldUIDs := map[string]bool{}
	for _, p := range old {
		oldUIDs[p.UID] = true
		if err := client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			return old, nil, fmt.Errorf("deleting CoreDNS pod %s: %w", p.Name, err)
		}
	}
	err = poll.Retry(ctx, poll.Input{What: fmt.Sprintf("the %d CoreDNS pods %v gone and as many new ones Ready", len(old), headless.Names(old)), Timeout: timeout, Interval: 200 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: CoreDNSSelector})
			if err != nil {
				return false, "", err
			}
			var states []string
			var ready []corev1.Pod
			oldLeft := 0
			for _, p := range list.Items {
				if oldUIDs[string(p.UID)] {
					oldLeft++
					states = append(states, p.Name+" (old, terminating)")
					continue
				}
				if reason := headless.StuckReason(p); reason != "" {
					return false, "", poll.Stop(fmt.Errorf("new CoreDNS pod %s is stuck in %s:\n%s", p.Name, reason, headless.PodReport(ctx, client, p)))
				}
				states = append(states, fmt.Sprintf("%s (new, Ready %v)", p.Name, headless.PodReady(p)))
				if headless.PodReady(p) && p.DeletionTimestamp == nil {
					ready = append(ready, p)
				}
			}
			replacements = headless.Addrs(ready)
			return oldLeft == 0 && len(replacements) == len(old), strings.Join(states, ", "), nil
		})
	return old, replacements, err
}

// CoreDNSMemory is the resident memory of every CoreDNS pod, in bytes, read from its metrics
// endpoint (the kubeadm Corefile's prometheus :9153) through the client pod, as a scrape would.
func CoreDNSMemory(ctx context.Context, client kubernetes.Interface, from headless.From) (map[string]int64, error) {
	pods, err := headless.ListReadyPods(ctx, client, "kube-system", CoreDNSSelector)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, p := range pods {
		metrics, stderr, err := from.Run(ctx, "curl", "-sS", "--max-time", "5", "http://"+net.JoinHostPort(p.IP, "9153")+"/metrics")
		if err != nil {
			return out, fmt.Errorf("CoreDNS metrics of %s: %w: %s", p.Name, err, stderr)
		}
		rss, err := metricValue(metrics, "process_resident_memory_bytes")
		if err != nil {
			return out, fmt.Errorf("CoreDNS metrics of %s: %w", p.Name, err)
		}
		out[p.Name] = int64(rss)
	}
	return out, nil
}

// metricValue reads one unlabelled sample from Prometheus text exposition.
func metricValue(exposition, name string) (float64, error) {
	for _, line := range strings.Split(exposition, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("no sample %s", name)
}
