// Command routecni is the offline kind node image's stand-in for kindnetd,
// which is not available as a Go module. It runs as a hostNetwork DaemonSet on
// every node and does two things: writes this node's CNI config (ptp +
// host-local + portmap over spec.podCIDRs) once kube-proxy has synced, and
// keeps one route per other node, `<podCIDR> via <InternalIP>`, removing the
// ones it no longer needs. No overlay, no masquerade, no network policy.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const (
	// The informer's periodic resync re-runs reconcile even when nothing
	// changed, which repairs routes someone deleted behind our back.
	informerResync = 5 * time.Minute
	// Delay before retrying after a failed reconcile (e.g. a gateway not yet
	// reachable while a node's interface comes up).
	retryDelay = 5 * time.Second
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	if err := run(); err != nil {
		log.Printf("routecni: %v", err)
		os.Exit(1)
	}
}

func run() error {
	self := os.Getenv("NODE_NAME")
	if self == "" {
		return errors.New("NODE_NAME is empty; set it from the downward API (fieldRef spec.nodeName)")
	}

	// SIGTERM is what the kubelet sends on pod deletion; finishing promptly
	// keeps DaemonSet rollouts fast. Routes and the conflist are left in
	// place on exit on purpose: removing them would cut cross-node traffic
	// and flip the node NotReady for the length of a restart.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	// The in-cluster host is the kubernetes Service VIP, which only works
	// once kube-proxy has programmed it, and kube-proxy waits on node
	// readiness that this very program provides. kind injects the real
	// control-plane endpoint to break that cycle.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = apiServerURL(ep)
	}
	log.Printf("node %s, API server %s", self, cfg.Host)

	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()

	c := &controller{
		self:         self,
		table:        netlinkTable{h: h},
		conflistPath: conflistPath,
		proxyReady:   make(chan struct{}),
	}
	kick := make(chan struct{}, 1)
	poke := func() {
		// Non-blocking and buffered by one: a burst of node events collapses
		// into a single reconcile, which reads the whole store anyway.
		select {
		case kick <- struct{}{}:
		default:
		}
	}

	factory := informers.NewSharedInformerFactory(cs, informerResync)
	nodes := factory.Core().V1().Nodes()
	informer := nodes.Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}); err != nil {
		return fmt.Errorf("node event handler: %w", err)
	}
	factory.StartWithContext(ctx)
	defer factory.Shutdown()

	go func() {
		hc := &http.Client{Timeout: 2 * time.Second}
		fetch := func(ctx context.Context) (string, error) { return fetchKubeProxyMetrics(ctx, hc) }
		synced := waitForKubeProxy(ctx, fetch, kubeProxyPollInterval, kubeProxyWaitTimeout)
		if ctx.Err() != nil {
			return
		}
		if synced {
			log.Printf("kube-proxy has synced its rules; CNI config may be written")
		} else {
			log.Printf("kube-proxy reported no rule sync within %s; writing CNI config anyway", kubeProxyWaitTimeout)
		}
		close(c.proxyReady)
		poke()
	}()

	// Reconciling from a partial cache would delete the routes of every
	// node not listed yet, so nothing happens before the first full list.
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return nil // only on shutdown
	}
	log.Printf("node cache synced")
	poke()

	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			log.Printf("shutting down")
			return nil
		case <-kick:
		case <-retry:
		}
		all, err := nodes.Lister().List(labels.Everything())
		if err == nil {
			err = c.reconcile(all)
		}
		retry = nil
		if err != nil {
			log.Printf("reconcile failed, retrying in %s: %v", retryDelay, err)
			retry = time.After(retryDelay)
		}
	}
}

// apiServerURL turns kind's CONTROL_PLANE_ENDPOINT (host:port) into a URL.
func apiServerURL(endpoint string) string {
	if strings.Contains(endpoint, "://") {
		return endpoint
	}
	return "https://" + endpoint
}

// controller holds what must survive between reconciles; everything else is
// recomputed from the node list each time.
type controller struct {
	self         string
	table        routeTable
	conflistPath string
	// proxyReady is closed once kube-proxy has synced (or the wait gave up);
	// until then the conflist is withheld so the node stays NotReady.
	proxyReady chan struct{}
	// noCIDRLogged keeps the "no podCIDR yet" message to one line instead of
	// one per node event.
	noCIDRLogged bool
}

// reconcile brings routes and this node's conflist in line with nodes, the
// complete current node list.
func (c *controller) reconcile(nodes []*corev1.Node) error {
	changes, routeErr := syncRoutes(c.table, desiredRoutes(nodes, c.self))
	for _, ch := range changes {
		log.Print(ch)
	}

	select {
	case <-c.proxyReady:
	default:
		return routeErr
	}
	var me *corev1.Node
	for _, n := range nodes {
		if n.Name == c.self {
			me = n
			break
		}
	}
	if me == nil {
		return errors.Join(routeErr, fmt.Errorf("node %q not found", c.self))
	}
	cidrs := nodePodCIDRs(me)
	if len(cidrs) == 0 {
		// Normal right after the node registers: the node IPAM controller
		// assigns the CIDR a moment later and we get an update event then.
		if !c.noCIDRLogged {
			log.Printf("node %s has no podCIDR yet; waiting", c.self)
			c.noCIDRLogged = true
		}
		return routeErr
	}
	content, err := Conflist(cidrs)
	if err != nil {
		return errors.Join(routeErr, fmt.Errorf("CNI config: %w", err))
	}
	wrote, err := writeFileIfChanged(c.conflistPath, content)
	if err != nil {
		return errors.Join(routeErr, fmt.Errorf("write %s: %w", c.conflistPath, err))
	}
	if wrote {
		log.Printf("wrote %s for pod CIDRs %s", c.conflistPath, strings.Join(cidrs, ","))
	}
	return routeErr
}
