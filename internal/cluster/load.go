package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/headless-e2e/headless-e2e/pkg/parallel"
)

// LoadImages makes every node hold the images docker has under the given names, loading only
// to nodes whose copy differs (same check as `kind load docker-image`), all nodes at once.
func (c *Cluster) LoadImages(ctx context.Context, out io.Writer, images ...string) error {
	nodeList, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return err
	}
	// Every image onto every node at once: each load is a docker save piped into the node's
	// containerd, mostly waiting on I/O, and the client image alone took 21 s on a fresh machine.
	var mu sync.Mutex
	return parallel.Do(len(images), 0, func(i int) error {
		msg, err := loadImage(ctx, images[i], nodeList)
		if err == nil {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(out, msg)
		}
		return err
	})
}

// loadImage puts image on the nodes that do not hold that very image (by ID) yet.
func loadImage(ctx context.Context, image string, nodeList []nodes.Node) (string, error) {
	start := time.Now()
	id, err := dockerImageID(image)
	if err != nil {
		return "", err
	}
	// Each node is asked at once (a docker exec each, about 100 ms).
	missing := make([]bool, len(nodeList))
	_ = parallel.Do(len(nodeList), 0, func(i int) error {
		have, err := nodeutils.ImageID(nodeList[i], image)
		missing[i] = err != nil || have != id // not there, or another image under that name
		return nil
	})
	var todo []nodes.Node
	for i, n := range nodeList {
		if missing[i] {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return fmt.Sprintf("image %s already on all %d nodes", image, len(nodeList)), nil
	}
	if err := loadToNodes(ctx, image, todo); err != nil {
		return "", err
	}
	return fmt.Sprintf("image %s loaded onto %d node(s) in %s", image, len(todo), time.Since(start).Round(100*time.Millisecond)), nil
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
	return parallel.Do(len(targets), 0, func(i int) error {
		f, err := os.Open(archive.Name())
		if err != nil {
			return err
		}
		defer f.Close()
		if err := nodeutils.LoadImageArchive(targets[i], f); err != nil {
			return fmt.Errorf("loading %s onto node %s: %w", image, targets[i], err)
		}
		return nil
	})
}
