// Package e2e is the headless-Service lab asserted step by step on a real kind cluster: real
// kubelet, real CoreDNS, real kube-proxy; nothing is faked. See README.md for the knobs.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

var (
	testenv env.Environment
	suite   *harness.Suite
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		return fail(err)
	}
	v, err := versions.Load()
	if err != nil {
		return fail(err)
	}
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		return fail(err)
	}
	settings, err := harness.LoadSettings(root, v)
	if err != nil {
		return fail(err)
	}
	settings.Context = cfg.KubeContext() // --context, as kubectl's
	suite = harness.NewSuite(settings, v)
	testenv, err = env.NewWithContext(harness.InterruptContext(), cfg)
	if err != nil {
		return fail(err)
	}
	// A failing setup step is a failed run: mark it so Finish collects artifacts. (e2e-framework
	// prints the error itself, as "Setup failure: ...".)
	step := func(f func(context.Context, *envconf.Config) (context.Context, error)) env.Func {
		return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
			ctx, err := f(ctx, c)
			if err != nil {
				suite.MarkFailed()
			}
			return ctx, err
		}
	}
	testenv.Setup(step(suite.Preflight), step(suite.ProvisionCluster), step(suite.LoadImages), step(suite.CreateNamespace), step(suite.CheckImages), step(suite.CheckEarlierRuns), step(suite.DeployCourse))
	testenv.AfterEachFeature(suite.RecordFailure)
	testenv.Finish(writeMatrix, writeProfiles, suite.Finish)
	return testenv.Run(m)
}

// writeMatrix saves the resolver matrix (resolvers_test.go) into ARTIFACTS and prints it,
// when any resolver feature ran.
func writeMatrix(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if len(matrix.Cells) == 0 {
		return ctx, nil
	}
	matrix.DNS, matrix.Family = suite.DNS.String(), string(suite.Settings.Cluster.Family)
	fmt.Println(matrix.Markdown())
	return ctx, matrix.Write(suite.Settings.Artifacts, suite.Variant())
}

// writeProfiles merges the DNS setups' figures (profiles_test.go) into ARTIFACTS and prints
// the table, when any profile feature ran.
func writeProfiles(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if profiles.Empty() {
		return ctx, nil
	}
	md, err := profiles.Write(suite.Settings.Artifacts)
	fmt.Println(md)
	return ctx, err
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "e2e:", err)
	return 1
}
