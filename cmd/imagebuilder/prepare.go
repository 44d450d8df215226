package main

import (
	"context"
	"fmt"
	"maps"
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
//   - online: kind's published node image and the images registries hold (the course's own,
//     for the lab) are pulled when missing, with docker's progress; this project's static
//     images (the probe, the hello server) are built without root. make lab needs no more;
//     make test also needs this project's Debian-root images (client, resolvers), which no
//     registry publishes: built when run as root, else it says how to get them.
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
	// This project's images: the static ones are built on either path, without root; the
	// Debian roots (the client, the resolvers: debootstrap) offline, and online by root, as no
	// registry publishes them. Online without root, one docker lacks is an error with the fix.
	built := map[string]build.Target{v.ProbeImage: p.ProbeTarget(), v.HelloImage: p.HelloTarget()}
	roots := map[string]build.Target{}
	for _, t := range p.WorkloadTargets() {
		if _, static := built[t.Image]; !static {
			roots[t.Image] = t
		}
	}
	if s.Offline || os.Geteuid() == 0 {
		maps.Copy(built, roots)
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
		if _, ok := roots[img]; ok {
			return fmt.Errorf("image %s is not in docker: it is this project's, a Debian root built with debootstrap, which needs root, and no registry publishes it: run sudo env \"PATH=$PATH\" OFFLINE=1 make images once (then make test as you), or name another image with CLIENT_IMAGE / RESOLVERS_IMAGE", img)
		}
		if s.Offline {
			return fmt.Errorf("image %s is not in docker, and OFFLINE forbids pulling it: load or tag it into docker (docker load, docker tag), or unset the knob that names it", img)
		}
		fmt.Printf("==> pulling %s\n", img)
		if err := streamed(ctx, root, "docker", "pull", img); err != nil {
			return fmt.Errorf("image %s is not in docker and could not be pulled (%v): check the name, docker login if its registry needs it, or load it into docker (docker load, docker tag)", img, err)
		}
	}
	return nil
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
