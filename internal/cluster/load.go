package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// LoadImages makes every node hold the images docker has under the given names, loading only
// to nodes whose copy differs (same check as `kind load docker-image`), all nodes at once.
func (c *Cluster) LoadImages(ctx context.Context, out io.Writer, images ...string) error {
	nodeList, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return err
	}
	for _, image := range images {
		start := time.Now()
		id, err := dockerImageID(image)
		if err != nil {
			return err
		}
		var todo []nodes.Node
		for _, n := range nodeList {
			if have, err := nodeutils.ImageID(n, image); err != nil || have != id {
				todo = append(todo, n)
			}
		}
		if len(todo) == 0 {
			fmt.Fprintf(out, "image %s already on all %d nodes\n", image, len(nodeList))
			continue
		}
		if err := loadToNodes(ctx, image, todo); err != nil {
			return err
		}
		fmt.Fprintf(out, "image %s loaded onto %d node(s) in %s\n", image, len(todo), time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

func dockerImageID(image string) (string, error) {
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("image %s is not in docker (%s): build it with make images, or pull it", image, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

func loadToNodes(ctx context.Context, image string, targets []nodes.Node) error {
	archive, err := os.CreateTemp("", "image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(archive.Name())
	defer archive.Close()
	var stderr strings.Builder
	save := exec.CommandContext(ctx, "docker", "save", image)
	save.Stdout, save.Stderr = archive, &stderr
	if err := save.Run(); err != nil {
		return fmt.Errorf("docker save %s: %w: %s", image, err, stderr.String())
	}
	var wg sync.WaitGroup
	errs := make([]error, len(targets))
	for i, n := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(archive.Name())
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			if err := nodeutils.LoadImageArchive(n, f); err != nil {
				errs[i] = fmt.Errorf("loading %s onto node %s: %w", image, n, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
