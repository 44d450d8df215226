// Command cluster brings the course's 3-node kind cluster up or down (make cluster,
// make cluster-down), with the same code and knobs as the e2e suite and the lab.
//
//	cluster up      create (or reuse) the cluster and wait until it is ready
//	cluster down    delete it if this project created it (else refuse, naming kind delete), and
//	                lower the egress guard once no kind cluster is left
//	cluster kubeconfig   print the private kubeconfig path
//	cluster exists  exit 0 if kind has the cluster, 1 if not (2: docker does not answer)
//	cluster profiles     the DNS setups DNS_PROFILE takes, one a line
//	cluster published-node-version  the Kubernetes version of kind's published node image
//	cluster flag NAME    print true or false for the boolean knob NAME (1/true/yes, 0/false/no
//	                or unset), or exit 2 naming the values it takes: the scripts read booleans
//	                as the Go commands do
//	cluster finish EXISTED EXIT_CODE
//	                apply KEEP_CLUSTER (never | on-failure | always) to the cluster at the end
//	                of `make test`, as the suite applies it: a cluster that EXISTED (true)
//	                before the run is never deleted
//
// Knobs: KIND_CLUSTER_NAME, OFFLINE, KIND_NODE_IMAGE, EGRESS_GUARD (see README).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/knobs"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "flag" {
		on, err := knobs.Bool(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		fmt.Println(on)
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "published-node-version" {
		fmt.Println(cluster.PublishedNodeVersion())
		return
	}
	if len(os.Args) != 2 && !(len(os.Args) == 4 && os.Args[1] == "finish") {
		fmt.Fprintln(os.Stderr, "usage: cluster up | down | kubeconfig | exists | profiles | flag NAME | finish EXISTED EXIT_CODE")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	s, err := cluster.SettingsFromEnv()
	if err != nil {
		fail(err)
	}
	opts := s.Options(root, versions.MustLoad())
	switch os.Args[1] {
	case "up":
		c, err := cluster.Up(ctx, opts...)
		if err != nil {
			fail(err)
		}
		fmt.Printf("kubectl: export KUBECONFIG=%s\n", c.Kubeconfig)
	case "down":
		if err := cluster.Down(ctx, opts...); err != nil {
			fail(err)
		}
	case "finish":
		keep := cluster.Keep(os.Getenv("KEEP_CLUSTER"))
		if keep == "" {
			keep = cluster.KeepNever
		}
		if os.Args[2] == "true" {
			return
		}
		if _, err := cluster.Finish(ctx, keep, os.Args[3] != "0", os.Stdout, opts...); err != nil {
			fail(err)
		}
	case "kubeconfig":
		fmt.Println(cluster.DefaultKubeconfig(s.Name))
	case "profiles":
		for _, p := range dnsprofile.All() {
			fmt.Println(p)
		}
	case "exists":
		exists, err := cluster.Exists(s.Name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		if !exists {
			os.Exit(1)
		}
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}
