package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/headless-e2e/headless-e2e/internal/build"
	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/knobs"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

// prepare puts in docker what `make cluster`, `make lab` or `make test` (purpose) needs, on
// one of two paths, OFFLINE the switch:
//   - offline, as before: the host's Debian packages (root), then the node image and every
//     workload image built here from Debian packages and Go modules;
//   - online: nothing built as root. kind's published node image and the images registries
//     hold (the course's own for the lab) are pulled when missing, with docker's progress;
//     the images that are static binaries on no base (the probe, and the hello server for the
//     suite) are built here without root.
func prepare(ctx context.Context, p *build.Plan, r *build.Runner, v versions.Versions, root, purpose string) error {
	if purpose != "cluster" && purpose != "lab" && purpose != "test" {
		return fmt.Errorf("prepare %q: want cluster, lab or test", purpose)
	}
	s, err := cluster.SettingsFromEnv()
	if err != nil {
		return err
	}
	if s.Offline {
		if err := streamed(ctx, root, filepath.Join(root, "scripts", "host-deps.sh")); err != nil {
			return err
		}
		if err := p.NodeTarget().Ensure(ctx, r); err != nil {
			return err
		}
	} else if s.NodeImage == "" && !present(ctx, cluster.PublishedNodeImage) {
		fmt.Printf("==> pulling kind's published node image %s\n", cluster.PublishedNodeImage)
		if err := streamed(ctx, root, "docker", "pull", cluster.PublishedNodeImage); err != nil {
			fmt.Printf("==> could not pull it (%v): the cluster is made from the node image built here, if there is one (OFFLINE=1 make node-image builds it, as root)\n", err)
		}
	}
	// What is built here: offline every workload image (as root), online the static ones.
	built := map[string]build.Target{v.ProbeImage: p.ProbeTarget(), v.HelloImage: p.HelloTarget()}
	if s.Offline {
		for _, t := range p.WorkloadTargets() {
			built[t.Image] = t
		}
	}
	if purpose == "cluster" {
		return nil
	}
	// The lab's images; make test runs the lab too (lab-check), beside the suite's.
	l, err := harness.LoadLabImages(v)
	if err != nil {
		return err
	}
	images := []string{l.Hello, l.Client, l.Probe}
	if on, err := knobs.Bool("LAB_RESOLVERS"); err != nil {
		return err
	} else if on {
		images = append(images, l.Resolvers)
	}
	if purpose == "test" {
		st, err := harness.LoadSettings(root, v)
		if err != nil {
			return err
		}
		images = append(images, st.HelloImage, st.ClientImage, st.ProbeImage, st.ResolversImage)
	}
	seen := map[string]bool{}
	for _, img := range images {
		if seen[img] {
			continue
		}
		seen[img] = true
		if t, ok := built[img]; ok {
			if err := t.Ensure(ctx, r); err != nil {
				return err
			}
			continue
		}
		if present(ctx, img) {
			fmt.Printf("==> %-22s present in docker\n", img)
			continue
		}
		if s.Offline {
			return fmt.Errorf("image %s is not in docker, and OFFLINE forbids pulling it: load or tag it into docker (docker load, docker tag), or unset the knob that names it", img)
		}
		fmt.Printf("==> pulling %s\n", img)
		if err := streamed(ctx, root, "docker", "pull", img); err != nil {
			return fmt.Errorf("image %s is not in docker and could not be pulled (%v): %s", img, err, howToGet(v, img))
		}
	}
	return nil
}

// howToGet is the fix for an image no registry gave.
func howToGet(v versions.Versions, img string) string {
	switch img {
	case v.ClientImage, v.ResolversImage:
		return "it is this project's, built from Debian packages as root: run OFFLINE=1 make images once (sudo), or name another image with CLIENT_IMAGE / RESOLVERS_IMAGE"
	}
	return "check the name, docker login if the registry needs it, or load it into docker (docker load, docker tag)"
}

func present(ctx context.Context, image string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", image).Run() == nil
}

// streamed runs a command with its output on the terminal: docker pull's progress, the host
// package installer's.
func streamed(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
	return cmd.Run()
}
