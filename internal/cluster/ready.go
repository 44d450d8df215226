package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// RESTConfig loads a kubeconfig file, with client-go's deprecation warnings (v1 Endpoints)
// kept out of the output: the suite reads Endpoints on purpose, as the course does.
// It raises client-go's client-side rate limit (5 requests a second, bursts of 10) to
// kubectl's (50, bursts of 300): under the default, a plain Get of a Service took 200 ms here,
// because the polls before it had spent the burst, and the suite was slower for no reason of
// the cluster's.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	return RESTConfigFor(kubeconfig, "")
}

// RESTConfigFor reads kubeconfig as kubectl reads $KUBECONFIG: a list of files separated by
// the OS's path separator (":" here), merged, the first file to set a value winning; context,
// when not empty, is used instead of the current context (kubectl --context). Configured as
// RESTConfig says.
func RESTConfigFor(kubeconfig, context string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		if context != "" {
			return nil, fmt.Errorf("kubeconfig %s, context %q: %w", kubeconfig, context, err)
		}
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.QPS, cfg.Burst = 50, 300
	return cfg, nil
}

// Clientset is a Kubernetes client for a kubeconfig file, configured as RESTConfig says.
func Clientset(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// WaitReady waits until every node is Ready and kube-system/coredns is Available. kind's own
// --wait covers the control plane only.
func WaitReady(ctx context.Context, kubeconfig string, timeout time.Duration) error {
	cs, err := Clientset(kubeconfig)
	if err != nil {
		return err
	}
	return poll.Retry(ctx, poll.Input{What: "waiting for every node Ready and CoreDNS Available", Timeout: timeout, Interval: 250 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, "", fmt.Errorf("API server: %w", err)
			}
			var states []string
			allReady := len(nodes.Items) > 0
			for _, n := range nodes.Items {
				ready := nodeReady(n)
				allReady = allReady && ready
				states = append(states, fmt.Sprintf("%s Ready=%v", n.Name, ready))
			}
			sort.Strings(states)
			dns, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
			if err != nil {
				return false, strings.Join(states, ", "), fmt.Errorf("kube-system/coredns: %w", err)
			}
			available, state, err := headless.CoreDNSAvailable(dns)
			return allReady && available, strings.Join(append(states, state), ", "), err
		})
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
