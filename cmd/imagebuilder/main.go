// Command imagebuilder builds what the offline kind cluster runs, from Debian packages and Go
// modules only: the kind node image, the workload images, and the pinned kubectl. Every stage
// is cached by the hash of its inputs, so a second run with nothing changed only checks keys.
//
//	imagebuilder prepare cluster|lab|test  what make cluster, make lab or make test needs,
//	                         offline built here, online pulled (no root): see prepare.go
//	imagebuilder node        the kind node image (docker image NODE_IMAGE_REPO:KUBERNETES_VERSION)
//	imagebuilder workloads   the hello, client, resolvers and probe images (HELLO_IMAGE, CLIENT_IMAGE, RESOLVERS_IMAGE, PROBE_IMAGE)
//	imagebuilder probe       the probe image alone (PROBE_IMAGE): a static binary, no root needed
//	imagebuilder kubectl DIR  kubectl at KUBERNETES_VERSION, into DIR
//	imagebuilder keys        the key of every stage, and whether it is cached; builds nothing
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/headless-e2e/headless-e2e/internal/build"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

func main() {
	cache := flag.String("cache", versions.CacheDir(), "cache directory for build stages (env HEADLESS_E2E_CACHE)")
	rebuild := flag.Bool("rebuild", false, "rebuild images even when docker has them with the current inputs (to time a cold build, with an empty -cache and GOCACHE)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: imagebuilder [-cache DIR] prepare cluster|lab|test | node | workloads | probe | kubectl DIR | keys")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *cache, *rebuild, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuilder:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cache string, rebuild bool, args []string) error {
	if len(args) == 0 {
		flag.Usage()
		return errors.New("no target given")
	}
	start := time.Now()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	v, err := versions.Load()
	if err != nil {
		return err
	}
	kind, err := build.FindKindModule(ctx, root)
	if err != nil {
		return err
	}
	r := build.NewRunner(cache, os.Stdout)
	r.Rebuild = rebuild
	report := func(stage, msg string) { fmt.Printf("==> %-22s ...     %s\n", stage, msg) }
	p, err := build.NewPlan(v, root, cache, kind, report)
	if err != nil {
		return err
	}

	switch args[0] {
	case "prepare":
		if len(args) != 2 {
			return errors.New("usage: imagebuilder prepare cluster|lab|test")
		}
		if err := prepare(ctx, p, r, v, root, args[1]); err != nil {
			return err
		}
		fmt.Printf("ready for make %s after %s\n", args[1], time.Since(start).Round(time.Second/10))
	case "node":
		t := p.NodeTarget()
		if err := t.Ensure(ctx, r); err != nil {
			return err
		}
		fmt.Printf("node image %s ready (inputs %s) after %s\n", t.Image, t.Stage.Key(), time.Since(start).Round(time.Second/10))
	case "workloads":
		for _, t := range p.WorkloadTargets() {
			if err := t.Ensure(ctx, r); err != nil {
				return err
			}
		}
		fmt.Printf("workload images %s, %s, %s, %s ready after %s\n", v.HelloImage, v.ClientImage, v.ResolversImage, v.ProbeImage, time.Since(start).Round(time.Second/10))
	case "probe":
		t := p.ProbeTarget()
		if err := t.Ensure(ctx, r); err != nil {
			return err
		}
		fmt.Printf("probe image %s ready after %s\n", v.ProbeImage, time.Since(start).Round(time.Second/10))
	case "kubectl":
		if len(args) != 2 {
			return errors.New("usage: imagebuilder kubectl DIR")
		}
		if found, why := usableKubectl(ctx, v.Kubernetes, args[1]); found != "" {
			fmt.Printf("kubectl: using %s (%s)\n", found, why)
			return linkExecutable(found, filepath.Join(args[1], "kubectl"))
		} else if why != "" {
			fmt.Printf("kubectl: building %s from source: %s\n", v.Kubernetes, why)
		}
		if err := r.Build(ctx, p.Kubectl); err != nil {
			return err
		}
		return copyExecutable(filepath.Join(r.Dir(p.Kubectl), "kubectl"), filepath.Join(args[1], "kubectl"))
	case "keys":
		for _, s := range p.All() {
			state := "missing"
			if r.Cached(s) {
				state = "cached"
			}
			fmt.Printf("%-22s %s %s\n", s.Name, s.Key(), state)
		}
	default:
		flag.Usage()
		return fmt.Errorf("unknown target %q", args[0])
	}
	return nil
}

func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
