package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestKubeProxySynced(t *testing.T) {
	const help = "# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds [ALPHA] The last time proxy rules were successfully synced\n" +
		"# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge\n"
	for _, tc := range []struct {
		name, text string
		want       bool
	}{
		{"empty", "", false},
		{"absent", help + "kubeproxy_sync_proxy_rules_duration_seconds_count 0\nprocess_start_time_seconds 1.7e+09\n", false},
		{"zero", help + "kubeproxy_sync_proxy_rules_last_timestamp_seconds 0\n", false},
		{"zero scientific", help + "kubeproxy_sync_proxy_rules_last_timestamp_seconds 0e+00\n", false},
		{"labelled zero", help + `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 0` + "\n", false},
		{"labelled non-zero", help + `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 1.7876543210123e+09` + "\n", true},
		{"unlabelled non-zero", help + "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1787654321.0123\n", true},
		{"scientific non-zero", "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.787654321e+09\n", true},
		{"with timestamp", "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7e+09 1787654321000\n", true},
		{"CRLF", "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7e+09\r\n", true},
		{"dual-stack both synced", `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 1.7e+09` + "\n" +
			`kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"} 1.7e+09` + "\n", true},
		{"dual-stack one zero", `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 1.7e+09` + "\n" +
			`kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"} 0` + "\n", false},
		{"longer name only", "kubeproxy_sync_proxy_rules_last_timestamp_seconds_total 5\n", false},
		{"only in HELP", help, false},
		{"NaN", "kubeproxy_sync_proxy_rules_last_timestamp_seconds NaN\n", false},
		{"garbage value", "kubeproxy_sync_proxy_rules_last_timestamp_seconds soon\n", false},
		{"no value", "kubeproxy_sync_proxy_rules_last_timestamp_seconds\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kubeProxySynced(tc.text); got != tc.want {
				t.Errorf("kubeProxySynced(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestWaitForKubeProxySyncs(t *testing.T) {
	polls := 0
	fetch := func(context.Context) (string, error) {
		polls++
		switch {
		case polls == 1:
			return "", errors.New("connection refused")
		case polls < 4:
			return "kubeproxy_sync_proxy_rules_last_timestamp_seconds 0\n", nil
		}
		return "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7e+09\n", nil
	}
	if !waitForKubeProxy(context.Background(), fetch, time.Millisecond, time.Minute) {
		t.Fatal("want synced")
	}
	if polls != 4 {
		t.Errorf("polls = %d, want 4", polls)
	}
}

func TestWaitForKubeProxyGivesUp(t *testing.T) {
	fetch := func(context.Context) (string, error) { return "", nil }
	start := time.Now()
	if waitForKubeProxy(context.Background(), fetch, time.Millisecond, 50*time.Millisecond) {
		t.Fatal("want not synced")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to give up", d)
	}
}

func TestWaitForKubeProxyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	fetch := func(context.Context) (string, error) { cancel(); return "", nil }
	done := make(chan bool)
	go func() { done <- waitForKubeProxy(ctx, fetch, time.Hour, time.Hour) }()
	select {
	case got := <-done:
		if got {
			t.Error("want false on cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not return on cancel")
	}
}

// kube-proxy serves its metrics on the primary family's loopback: an IPv6 cluster's nodes
// must be read at [::1] once 127.0.0.1 does not answer.
func TestFetchKubeProxyMetricsTriesEachLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7e+09")
	}))
	defer srv.Close()
	saved := kubeProxyMetricsURLs
	defer func() { kubeProxyMetricsURLs = saved }()
	kubeProxyMetricsURLs = []string{"http://127.0.0.1:1/metrics", srv.URL + "/metrics"}
	text, err := fetchKubeProxyMetrics(context.Background(), srv.Client())
	if err != nil || !kubeProxySynced(text) {
		t.Fatalf("text %q, err %v: want the second address's metrics", text, err)
	}
	kubeProxyMetricsURLs = []string{"http://127.0.0.1:1/metrics"}
	if _, err := fetchKubeProxyMetrics(context.Background(), srv.Client()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("nothing answering: err %v, want it named", err)
	}
}
