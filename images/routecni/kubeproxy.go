package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// kube-proxy's metrics endpoints: routecni runs with hostNetwork, so the node's loopback is
// kube-proxy's loopback too (kubeadm binds it there, in the primary family's).
var kubeProxyMetricsURLs = []string{"http://127.0.0.1:10249/metrics", "http://[::1]:10249/metrics"}

const (
	// kube-proxy sets this gauge at the end of every successful rule sync; it
	// is absent (or 0) until the first one. Its /healthz turns 200 before
	// that, which is why the metric is read instead.
	kubeProxySyncMetric = "kubeproxy_sync_proxy_rules_last_timestamp_seconds"

	kubeProxyPollInterval = 500 * time.Millisecond
	// Long enough for a cold kube-proxy image start on a loaded 2-core host;
	// short enough that a broken kube-proxy only delays, never strands, a node.
	kubeProxyWaitTimeout = 2 * time.Minute
)

// kubeProxySynced reports whether kube-proxy's metrics show at least one
// completed rule sync. With dual-stack there is one sample per ip_family, and
// every sample present must be non-zero.
func kubeProxySynced(metricsText string) bool {
	found := false
	for line := range strings.Lines(metricsText) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, kubeProxySyncMetric) {
			continue
		}
		rest := line[len(kubeProxySyncMetric):]
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "), strings.HasPrefix(rest, "\t"):
		default:
			// A longer metric name sharing our prefix.
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || v == 0 || math.IsNaN(v) {
			return false
		}
		found = true
	}
	return found
}

// fetchKubeProxyMetrics is the production source for waitForKubeProxy. kube-proxy serves its
// metrics on the loopback of the cluster's primary family: 127.0.0.1 on IPv4 and dual-stack
// clusters, [::1] on IPv6 ones (seen on kind: without the second, an IPv6 cluster's nodes waited
// out the whole timeout). The first address that answers is used.
func fetchKubeProxyMetrics(ctx context.Context, c *http.Client) (string, error) {
	var errs []error
	for _, url := range kubeProxyMetricsURLs {
		text, err := fetchMetrics(ctx, c, url)
		if err == nil {
			return text, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

func fetchMetrics(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	// The bound keeps a misbehaving endpoint from eating the pod's small
	// memory request; real kube-proxy metrics are a few hundred KiB at most.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return string(b), err
}

// waitForKubeProxy polls fetch until kube-proxy reports a rule sync, the
// timeout passes, or ctx ends. It returns true only in the first case; the
// caller proceeds either way, because a node that never becomes Ready is worse
// than one whose first pods may stall for a while.
//
// The wait matters because writing the CNI config is what makes the node
// Ready: if that happens before kube-proxy's first sync, CoreDNS's first
// connections to the kubernetes Service VIP are not NATed, get a conntrack
// entry towards the default gateway, and CoreDNS stalls for ~30 s.
func waitForKubeProxy(ctx context.Context, fetch func(context.Context) (string, error), interval, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if text, err := fetch(ctx); err == nil && kubeProxySynced(text) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
