package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig loads a kubeconfig file, with client-go's deprecation warnings (v1 Endpoints)
// kept out of the output: the suite reads Endpoints on purpose, as the course does.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.WarningHandler = rest.NoWarnings{}
	return cfg, nil
}

// Poll calls check every interval until it reports done, returns an error, or timeout passes;
// then the error carries the last state check described, which is what one needs to know.
func Poll(ctx context.Context, what string, timeout, interval time.Duration, check func(context.Context) (done bool, state string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not checked yet"
	for {
		done, state, err := check(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if state != "" {
			last = state
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			// An interrupted wait (Ctrl-C) is no timeout: say which it was.
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("%s: interrupted (%w); last seen: %s", what, ctx.Err(), last)
			}
			return fmt.Errorf("%s: not done after %s; last seen: %s", what, timeout, last)
		case <-time.After(interval):
		}
	}
}

// WaitReady waits until every node is Ready and kube-system/coredns is Available. kind's own
// --wait covers the control plane only.
func WaitReady(ctx context.Context, kubeconfig string, timeout time.Duration) error {
	cfg, err := RESTConfig(kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return Poll(ctx, "waiting for every node Ready and CoreDNS Available", timeout, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "API server: " + err.Error(), nil
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
		dnsState := "coredns: not found"
		dnsReady := false
		if err == nil {
			dnsState = fmt.Sprintf("coredns available %d/%d", dns.Status.AvailableReplicas, dns.Status.Replicas)
			dnsReady = dns.Status.Replicas > 0 && dns.Status.AvailableReplicas == dns.Status.Replicas
		}
		return allReady && dnsReady, strings.Join(append(states, dnsState), ", "), nil
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
