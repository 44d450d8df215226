// Command bench measures the course's headless Service on a real cluster: how soon DNS follows
// a replaced pod, and how long and how big the answer gets as the StatefulSet grows. It is a
// benchmark, not a test: it asserts nothing, prints tables, and writes the numbers as JSON to
// $ARTIFACTS/bench-<timestamp>.json (`make bench`, K=10).
//
//	go run ./cmd/bench [-k 10] [-scale 30,100]
//
// Every step is a framework call the suite's features make too (Connect, DeployCourse,
// ReplacePods, AwaitPublished, Scale, AwaitAnswer); this file only drives and times them. The
// cluster is the kind cluster KIND_CLUSTER_NAME (reused, or created as `make cluster` does),
// or with USE_EXISTING_CLUSTER=1 the one at KUBECONFIG. Everything runs in a namespace of its
// own, deleted at the end, also after Ctrl-C; one left by an earlier, killed run is deleted at
// the start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

const namespacePrefix = "headless-bench"

func main() { os.Exit(run()) }

func run() int {
	k := flag.Int("k", 10, "rounds of deleting the 3 pods")
	scaleTo := flag.String("scale", "30,100", "replica counts to scale up to, in order")
	endpoints := flag.String("endpoints", "100,1000,5000,10000", "sizes of the synthetic headless Service, in order")
	flag.Parse()
	steps, err := parseCounts(*scaleTo)
	sizes, err2 := parseCounts(*endpoints)
	if err != nil || err2 != nil || *k < 1 {
		fmt.Fprintf(os.Stderr, "bench: -k must be >= 1, -scale and -endpoints lists of counts (%v)\n", errors.Join(err, err2))
		return 2
	}
	ctx := harness.InterruptContext() // the first Ctrl-C cancels ctx; the deferred cleanup still runs
	root, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	v := versions.MustLoad()
	s, err := harness.LoadSettings(root, v)
	if err != nil {
		return fail(err)
	}
	conn, err := harness.Connect(ctx, s, v, os.Stderr)
	if err != nil {
		return fail(err)
	}
	if err := conn.LoadImages(ctx, os.Stderr, s.HelloImage, s.ClientImage); err != nil {
		return fail(err)
	}
	// A bench run has the cluster to itself (two at once would time each other): a namespace
	// of an earlier run still here was left by a killed process.
	if err := kube.SweepNamespaces(ctx, conn.Client, namespacePrefix+"-", 3*time.Minute, os.Stderr); err != nil {
		return fail(err)
	}
	ns := envconf.RandomName(namespacePrefix, 18)
	if err := kube.CreateRestrictedNamespace(ctx, kube.NamespaceInput{Client: conn.Client, Name: ns}); err != nil {
		return fail(err)
	}
	defer cleanup(ctx, conn, ns)

	r := &Report{Started: time.Now(), Cluster: clusterName(conn), Namespace: ns, K: *k}
	course, err := course.DeployCourse(ctx, course.DeployCourseInput{Client: conn.Client, Resources: conn.Klient.Resources(ns), Namespace: ns, Images: s.Images(v)})
	if err != nil {
		return fail(err)
	}
	if err := describe(ctx, course, r); err != nil {
		return fail(err)
	}
	printHeader(os.Stdout, r)
	runErr := replaceRounds(ctx, course, r)
	if runErr == nil {
		runErr = measureEach(ctx, course, steps, scaleUp, &r.Scale)
	}
	if runErr == nil {
		runErr = measureEach(ctx, course, sizes, endpointsAt, &r.Endpoints)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			runErr = fmt.Errorf("interrupted: %w", runErr)
		}
		r.Errors = append(r.Errors, runErr.Error())
	}
	summarize(r)
	printReplace(os.Stdout, r)
	printScale(os.Stdout, r)
	printEndpoints(os.Stdout, r)
	if err := writeJSON(s.Artifacts, r); err != nil {
		return fail(err)
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "bench: stopped early:", runErr)
		return 1
	}
	return 0
}

// measureEach measures each size in order, keeping the results until one fails.
func measureEach[T any](ctx context.Context, c course.Course, sizes []int, measure func(context.Context, course.Course, int) (T, error), into *[]T) error {
	for _, n := range sizes {
		res, err := measure(ctx, c, n)
		if err != nil {
			return err
		}
		*into = append(*into, res)
	}
	return nil
}

// replaceRounds deletes the 3 pods at once, K times, times each pod's way back, and starts the
// next round from a settled Service: every new IP published, no old one.
func replaceRounds(ctx context.Context, c course.Course, r *Report) error {
	for i := range r.K {
		before, err := c.AwaitReadyPods(ctx)
		if err != nil {
			return err
		}
		from, err := c.ClientFrom(ctx)
		if err != nil {
			return err
		}
		results, err := course.ReplacePods(ctx, course.ReplaceInput{Client: c.Client, From: from, Service: course.CourseService, Zone: c.Zone, Pods: before, Families: c.Families, Timeout: 2 * time.Minute})
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		var round []Conv
		for _, cv := range results {
			round = append(round, Conv{Pod: cv.Name, OldIP: cv.OldIP, NewIP: cv.NewIP, DeleteToReady: ms(cv.Ready), DeleteToDNS: ms(cv.Answered), ReadyToDNS: ms(cv.Answered - cv.Ready)})
		}
		r.Rounds = append(r.Rounds, round)
		fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", i+1, r.K, roundLine(round))
		if _, err := c.Restore(ctx, nil); err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
	}
	return nil
}

// cleanup deletes the namespace on a context of its own: ctx may be cancelled by Ctrl-C.
func cleanup(ctx context.Context, conn *harness.Connection, ns string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := kube.DeleteNamespace(ctx, kube.NamespaceInput{Client: conn.Client, Name: ns, Timeout: 2 * time.Minute}); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stderr, "namespace %s deleted in %s\n", ns, time.Since(start).Round(100*time.Millisecond))
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "bench:", err)
	return 1
}
