package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var testID = identity{Pod: "hello-kubernetes-0", Namespace: "default", Node: "kind-worker2", IP: "10.244.1.6"}

func do(t *testing.T, h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestIdentity(t *testing.T) {
	h := newServer(testID, &readiness{})
	const wantText = "hello from hello-kubernetes-0 (10.244.1.6) on kind-worker2 in default\n"
	tests := []struct {
		name     string
		target   string
		header   map[string]string
		wantJSON bool
	}{
		{name: "plain", target: "/"},
		{name: "curl default accept", target: "/", header: map[string]string{"Accept": "*/*"}},
		{name: "html accept", target: "/", header: map[string]string{"Accept": "text/html"}},
		{name: "accept json", target: "/", header: map[string]string{"Accept": "application/json"}, wantJSON: true},
		{name: "accept list with json", target: "/", header: map[string]string{"Accept": "text/html, application/json;q=0.9"}, wantJSON: true},
		{name: "format query", target: "/?format=json", wantJSON: true},
		{name: "other format query", target: "/?format=text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, h, http.MethodGet, tt.target, tt.header)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			ct := rec.Header().Get("Content-Type")
			if !tt.wantJSON {
				if !strings.HasPrefix(ct, "text/plain") || rec.Body.String() != wantText {
					t.Errorf("got %q (%s), want %q", rec.Body.String(), ct, wantText)
				}
				return
			}
			if ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			want := map[string]string{"pod": "hello-kubernetes-0", "namespace": "default", "node": "kind-worker2", "ip": "10.244.1.6"}
			if len(got) != len(want) {
				t.Errorf("got %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	if rec := do(t, h, http.MethodGet, "/nope", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET /nope: status %d, want 404", rec.Code)
	}
}

func TestIdentityFromEnv(t *testing.T) {
	env := map[string]string{"POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n", "POD_IP": "1.2.3.4"}
	host := func() (string, error) { return "host", nil }
	if got := identityFromEnv(func(k string) string { return env[k] }, host); got != (identity{"p", "ns", "n", "1.2.3.4"}) {
		t.Errorf("from env: %+v", got)
	}
	empty := func(string) string { return "" }
	if got := identityFromEnv(empty, host); got != (identity{Pod: "host"}) {
		t.Errorf("fallback: %+v", got)
	}
	if got := identityFromEnv(empty, host).String(); got != "hello from host (unknown) on unknown in unknown" {
		t.Errorf("fallback text: %q", got)
	}
	noHost := func() (string, error) { return "", errors.New("no hostname") }
	if got := identityFromEnv(empty, noHost); got != (identity{}) {
		t.Errorf("no hostname: %+v", got)
	}
}

func TestHealthz(t *testing.T) {
	r := &readiness{}
	h := newServer(testID, r)
	for _, ready := range []bool{true, false} {
		r.SetReady(ready)
		if rec := do(t, h, http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
			t.Errorf("ready=%v: healthz status %d, want 200", ready, rec.Code)
		}
	}
}

func TestReadinessFlip(t *testing.T) {
	r := &readiness{}
	h := newServer(testID, r)
	readyz := func() int {
		code, root := do(t, h, http.MethodGet, "/readyz", nil).Code, do(t, h, http.MethodGet, "/", nil).Code
		if root != code {
			t.Errorf("GET / answered %d where /readyz answered %d: the readiness probe asks /", root, code)
		}
		return code
	}

	if got := readyz(); got != http.StatusOK {
		t.Fatalf("initial readyz %d, want 200", got)
	}
	steps := []struct {
		path string
		want int
	}{
		{"/admin/unready", http.StatusServiceUnavailable},
		{"/admin/unready", http.StatusServiceUnavailable},
		{"/admin/ready", http.StatusOK},
		{"/admin/ready", http.StatusOK},
		{"/admin/unready", http.StatusServiceUnavailable},
	}
	for _, s := range steps {
		if rec := do(t, h, http.MethodPost, s.path, nil); rec.Code != http.StatusOK {
			t.Fatalf("POST %s: status %d", s.path, rec.Code)
		}
		if got := readyz(); got != s.want {
			t.Errorf("after POST %s: readyz %d, want %d", s.path, got, s.want)
		}
	}
}

func TestAdminRejectsOtherMethods(t *testing.T) {
	r := &readiness{}
	h := newServer(testID, r)
	for _, path := range []string{"/admin/ready", "/admin/unready"} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			rec := do(t, h, method, path, nil)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", method, path, rec.Code)
			}
		}
	}
	if !r.Ready() {
		t.Error("a rejected request changed readiness")
	}
	if rec := do(t, h, http.MethodPost, "/readyz", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: status %d, want 405", rec.Code)
	}
}

// TestReadinessConcurrent is meant for -race: flips and probes overlap.
func TestReadinessConcurrent(t *testing.T) {
	r := &readiness{}
	h := newServer(testID, r)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				path := "/admin/ready"
				if (i+j)%2 == 0 {
					path = "/admin/unready"
				}
				do(t, h, http.MethodPost, path, nil)
				if c := do(t, h, http.MethodGet, "/readyz", nil).Code; c != http.StatusOK && c != http.StatusServiceUnavailable {
					t.Errorf("readyz %d", c)
				}
			}
		})
	}
	wg.Wait()
}

func TestServeShutsDownPromptly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, testID, newServer(testID, &readiness{}), log.New(t.Output(), "", 0))
	}()

	// A keep-alive connection left idle must not hold the shutdown up.
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var got identity
	err = json.NewDecoder(resp.Body).Decode(&got)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || got != testID {
		t.Fatalf("identity %+v, %v", got, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil", err)
		}
	case <-time.After(shutdownGrace + 3*time.Second):
		t.Fatal("serve did not return after cancel")
	}
	if _, err := client.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	done := make(chan error, 1)
	go func() {
		done <- serve(context.Background(), ln, testID, newServer(testID, &readiness{}), log.New(io.Discard, "", 0))
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("want error from a closed listener")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return")
	}
}
