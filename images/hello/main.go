// Command hello is the workload behind the hello-kubernetes headless Service:
// each replica answers with its own identity, so a client can tell which pod
// a DNS name or a connection reached. It replaces paulbouwer/hello-kubernetes
// with something that runs under Pod Security "restricted" (it needs no root
// and writes nothing to disk) and whose readiness a test can flip at run time:
//
//	GET  /              identity as text, or JSON with "Accept: application/json" or ?format=json
//	GET  /healthz       liveness, 200 while serving
//	GET  /readyz        readiness, 200 when ready, 503 when not
//	POST /admin/ready   become ready
//	POST /admin/unready become unready, taking the pod out of the Service's DNS
//	                    records without restarting it
//
// Identity comes from the downward API variables POD_NAME, POD_NAMESPACE,
// NODE_NAME and POD_IP.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// shutdownGrace is short because a StatefulSet cannot create the replacement
// of the same name until the old pod is gone: every second spent lingering
// delays the new pod, and the moment its name answers again. (The old IP
// leaves the Service's records as soon as the pod starts terminating.)
const shutdownGrace = 2 * time.Second

type identity struct {
	Pod       string `json:"pod"`
	Namespace string `json:"namespace"`
	Node      string `json:"node"`
	IP        string `json:"ip"`
}

func identityFromEnv(getenv func(string) string, hostname func() (string, error)) identity {
	id := identity{
		Pod:       getenv("POD_NAME"),
		Namespace: getenv("POD_NAMESPACE"),
		Node:      getenv("NODE_NAME"),
		IP:        getenv("POD_IP"),
	}
	if id.Pod == "" {
		// A pod's hostname is its name, so this still identifies the
		// replica when the manifest forgot the downward API.
		if h, err := hostname(); err == nil {
			id.Pod = h
		}
	}
	return id
}

func (id identity) String() string {
	return fmt.Sprintf("hello from %s (%s) on %s in %s",
		orUnknown(id.Pod), orUnknown(id.IP), orUnknown(id.Node), orUnknown(id.Namespace))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// readiness is ready in its zero value, since the pod should join the
// Service as soon as it serves unless a test says otherwise.
type readiness struct {
	unready atomic.Bool
}

func (r *readiness) Ready() bool     { return !r.unready.Load() }
func (r *readiness) SetReady(b bool) { r.unready.Store(!b) }

func newServer(id identity, ready *readiness) http.Handler {
	mux := http.NewServeMux()
	// "{$}" keeps stray paths from looking like a valid identity answer.
	// "/" follows the readiness switch too: the manifests' readiness probe asks "/", the one
	// path the course's own image (paulbouwer/hello-kubernetes) serves, so that one manifest
	// runs either image.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Ready() {
			text(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(id)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, id)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready.Ready() {
			text(w, http.StatusOK, "ready")
			return
		}
		text(w, http.StatusServiceUnavailable, "not ready")
	})
	// State changes are POST only, so that a stray GET (a browser, a probe
	// pointed at the wrong path) cannot take the pod out of rotation; the mux
	// answers other methods with 405.
	mux.HandleFunc("POST /admin/ready", func(w http.ResponseWriter, r *http.Request) {
		ready.SetReady(true)
		text(w, http.StatusOK, "ready")
	})
	mux.HandleFunc("POST /admin/unready", func(w http.ResponseWriter, r *http.Request) {
		ready.SetReady(false)
		text(w, http.StatusOK, "not ready")
	})
	return mux
}

func wantsJSON(r *http.Request) bool {
	if r.URL.Query().Get("format") == "json" {
		return true
	}
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") {
			return true
		}
	}
	return false
}

func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// serve answers on ln until ctx ends, then drains for at most shutdownGrace.
// It returns nil only after a clean shutdown.
func serve(ctx context.Context, ln net.Listener, id identity, h http.Handler, logger *log.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Printf("serving %s (%s) on %s", id.Pod, id.IP, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("shutdown: %w", err)
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	logger.Printf("shut down %s", id.Pod)
	return err
}

func main() {
	listen := flag.String("listen", ":8080", "address to serve on")
	flag.Parse()
	logger := log.New(os.Stderr, "hello: ", log.LstdFlags)
	if err := run(*listen, logger); err != nil {
		logger.Print(err)
		os.Exit(1)
	}
}

func run(listen string, logger *log.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	id := identityFromEnv(os.Getenv, os.Hostname)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return serve(ctx, ln, id, newServer(id, &readiness{}), logger)
}
