package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// nodeEntrypoint is kind's: its entrypoint fixes up the container, then execs systemd.
var nodeEntrypoint = []string{"/usr/local/bin/entrypoint", "/sbin/init"}

// nodeSetup runs inside a throwaway container of the assembled node image, because some of
// kind's RUN steps need the image's own tools: enable the units, generate containerd's base
// OCI spec, and preload the images (read from stdin) into containerd the way `kind build
// node-image` does: namespace k8s.io, pinned so kubelet never garbage-collects them, not
// unpacked (containerd unpacks on first use). The workload images (/tmp/workload-*.tar, copied
// in) are preloaded too, so a new cluster's nodes hold them from the start: loading them took
// 15 s of every fresh `make test`.
const nodeSetup = `set -o errexit -o nounset -o pipefail
systemctl enable kubelet.service containerd.service undo-mount-hacks.service headless-e2e-host-compat.service
systemctl mask systemd-binfmt.service
ctr oci spec \
  | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
containerd >/tmp/containerd.log 2>&1 &
pid=$!
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
for archive in /tmp/workload-*.tar; do
  ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --no-unpack --digests - <"$archive" >/dev/null
  rm -f "$archive"
done
ctr --namespace=k8s.io images ls -q
kill "$pid"; wait "$pid" || true
rm -f /tmp/containerd.log
`

// nodeStage declares the node image. It is not built into the cache like other stages: its
// output is the docker image, labelled with this stage's key.
func (p *Plan) nodeStage() error {
	kindFiles, err := HashFiles(p.Kind.Dir, "images/base/files")
	if err != nil {
		return err
	}
	ours, err := HashFiles(p.RepoRoot, "images/node", "images/routecni/default-cni.yaml")
	if err != nil {
		return err
	}
	p.NodeImage = &Stage{Name: "node-image", Pool: CPU,
		Inputs: []string{"kind " + p.Kind.Version, kindFiles, ours, p.V.NodeImage(), p.V.RouteCNIImage, p.V.Kubernetes, nodeSetup, strings.Join(nodeEntrypoint, " ")},
		Deps:   []*Stage{p.RootfsNode, p.Containerd, p.Runc, p.Crictl, p.CNIPlugins, p.Kubernetes, p.Kubectl, p.PreloadImages, p.HelloImage, p.ClientImage, p.ResolversImage, p.ProbeImage}}
	return nil
}

// nodeFiles is everything the node image adds to the Debian root: kind's base files (modes as
// kind's Dockerfile COPYs them), the runtime and Kubernetes binaries, and our node files.
func (p *Plan) nodeFiles() ([]LayerFile, error) {
	var files []LayerFile
	base := filepath.Join(p.Kind.Dir, "images/base/files")
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(base, path)
		mode := int64(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		files = append(files, LayerFile{Path: "/" + rel, Mode: mode, Src: path})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading kind's base files: %w", err)
	}
	bin := func(dst string, s *Stage, name string) LayerFile {
		return LayerFile{Path: dst, Mode: 0o755, Src: filepath.Join(p.dirOf(s), name)}
	}
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		files = append(files, bin("/usr/local/bin/"+b, p.Containerd, b))
	}
	files = append(files, bin("/usr/local/bin/crictl", p.Crictl, "crictl"), bin("/usr/local/sbin/runc", p.Runc, "runc"))
	for _, b := range []string{"ptp", "loopback", "host-local", "portmap"} {
		files = append(files, bin("/opt/cni/bin/"+b, p.CNIPlugins, b))
	}
	files = append(files, bin("/usr/bin/kubeadm", p.Kubernetes, "kubeadm"), bin("/usr/bin/kubelet", p.Kubernetes, "kubelet"), bin("/usr/bin/kubectl", p.Kubectl, "kubectl"))

	cni, err := renderCNIManifest(filepath.Join(p.RepoRoot, "images/routecni/default-cni.yaml"), p.V.RouteCNIImage)
	if err != nil {
		return nil, err
	}
	node := filepath.Join(p.RepoRoot, "images/node")
	files = append(files,
		LayerFile{Path: "/kind/version", Mode: 0o644, Data: []byte(p.V.Kubernetes)},
		LayerFile{Path: "/kind/manifests/default-cni.yaml", Mode: 0o644, Data: cni},
		LayerFile{Path: "/kind/manifests/default-storage.yaml", Mode: 0o644, Src: filepath.Join(node, "default-storage.yaml")},
		LayerFile{Path: "/kind/bin/headless-e2e-host-compat.sh", Mode: 0o755, Src: filepath.Join(node, "headless-e2e-host-compat.sh")},
		LayerFile{Path: "/etc/systemd/system/headless-e2e-host-compat.service", Mode: 0o644, Src: filepath.Join(node, "headless-e2e-host-compat.service")},
	)
	return files, nil
}

// renderCNIManifest fills in the CNI image. Only {{ .Image }} is templated here; kind itself
// patches the manifest further when it installs it.
func renderCNIManifest(path, image string) ([]byte, error) {
	t, err := template.New(filepath.Base(path)).Option("missingkey=error").ParseFiles(path)
	if err != nil {
		return nil, fmt.Errorf("CNI manifest: %w", err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, struct{ Image string }{image}); err != nil {
		return nil, fmt.Errorf("CNI manifest: %w", err)
	}
	return out.Bytes(), nil
}

// assembleNode makes the node image: the Debian root and our files as two layers, loaded into
// docker, set up and preloaded inside a throwaway container, then committed under the
// node image's tag with the inputs label.
func (p *Plan) assembleNode(ctx context.Context, log io.Writer) error {
	rootfs, err := TarLayer(filepath.Join(p.dirOf(p.RootfsNode), "rootfs.tar"))
	if err != nil {
		return err
	}
	files, err := p.nodeFiles()
	if err != nil {
		return err
	}
	layer, err := FilesLayer(files)
	if err != nil {
		return err
	}
	img, err := Image(v1.Config{Env: []string{"container=docker", defaultPath}, Entrypoint: nodeEntrypoint, StopSignal: "SIGRTMIN+3"}, rootfs, layer)
	if err != nil {
		return err
	}
	unprepared := p.V.NodeImageRepo + "-build:" + p.NodeImage.Key()
	if err := dockerLoad(ctx, log, func(w io.Writer) error { return WriteArchive(w, map[string]v1.Image{unprepared: img}) }); err != nil {
		return err
	}
	defer command(context.WithoutCancel(ctx), log, "", nil, "docker", "rmi", unprepared)

	id, err := output(ctx, "", nil, "docker", "run", "--detach", "--privileged", "--security-opt", "seccomp=unconfined",
		"--entrypoint", "sleep", unprepared, "infinity")
	if err != nil {
		return err
	}
	id = strings.TrimSpace(id)
	defer command(context.WithoutCancel(ctx), log, "", nil, "docker", "rm", "--force", id)

	for _, w := range p.workloads() {
		if err := command(ctx, log, "", nil, "docker", "cp", filepath.Join(p.dirOf(w.stage), "image.tar"), id+":/tmp/workload-"+w.stage.Name+".tar"); err != nil {
			return err
		}
	}
	preload, err := os.Open(filepath.Join(p.dirOf(p.PreloadImages), "images.tar"))
	if err != nil {
		return err
	}
	defer preload.Close()
	fmt.Fprintf(log, "$ docker exec --interactive %s bash -c <node setup> < images.tar\n", id)
	setup := exec.CommandContext(ctx, "docker", "exec", "--interactive", id, "bash", "-c", nodeSetup)
	setup.Stdin, setup.Stdout, setup.Stderr = preload, log, log
	if err := setup.Run(); err != nil {
		return fmt.Errorf("node setup inside the build container: %w", err)
	}
	return command(ctx, log, "", nil, "docker", "commit",
		"--change", "LABEL "+InputsLabel+"="+p.NodeImage.Key(),
		"--change", `ENTRYPOINT ["`+strings.Join(nodeEntrypoint, `", "`)+`"]`,
		"--change", "CMD []",
		id, p.V.NodeImage())
}

func dockerLoad(ctx context.Context, log io.Writer, write func(io.Writer) error) error {
	fmt.Fprintln(log, "$ docker load")
	cmd := exec.CommandContext(ctx, "docker", "load")
	cmd.Stdout, cmd.Stderr = log, log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	werr := write(stdin)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("docker load: %w", err)
	}
	return werr
}

// ImageLabel returns an image's inputs label, or "" when docker does not have the image.
func ImageLabel(ctx context.Context, image string) (string, error) {
	out, err := output(ctx, "", nil, "docker", "image", "inspect", "--format", `{{ index .Config.Labels "`+InputsLabel+`" }}`, image)
	if err != nil {
		if strings.Contains(err.Error(), "No such image") || strings.Contains(err.Error(), "No such object") {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// Target is an image `make` can ask for.
type Target struct {
	Image string
	Stage *Stage
	build func(ctx context.Context, r *Runner) error
}

// NodeTarget is the kind node image.
func (p *Plan) NodeTarget() Target {
	return Target{Image: p.V.NodeImage(), Stage: p.NodeImage, build: func(ctx context.Context, r *Runner) error {
		if err := r.Build(ctx, p.NodeImage.Deps...); err != nil {
			return err
		}
		return r.Do(ctx, p.NodeImage, p.assembleNode)
	}}
}

type workload struct {
	image string
	stage *Stage
}

// workloads are the images the lab and the suite run in the cluster, each preloaded into the
// node image built here.
func (p *Plan) workloads() []workload {
	return []workload{{p.V.HelloImage, p.HelloImage}, {p.V.ClientImage, p.ClientImage}, {p.V.ResolversImage, p.ResolversImage}, {p.V.ProbeImage, p.ProbeImage}}
}

// WorkloadTargets are the images the lab and the suite run in the cluster.
func (p *Plan) WorkloadTargets() []Target {
	var ts []Target
	for _, w := range p.workloads() {
		ts = append(ts, loadTarget(w))
	}
	return ts
}

// HelloTarget is the hello server's image alone: a static binary, no root filesystem, so it
// builds without root (the online path's make test).
func (p *Plan) HelloTarget() Target { return loadTarget(workload{p.V.HelloImage, p.HelloImage}) }

// ProbeTarget is the probe image alone (make probe-image): it needs no root filesystem.
func (p *Plan) ProbeTarget() Target { return loadTarget(workload{p.V.ProbeImage, p.ProbeImage}) }

// loadTarget builds a workload's stage and loads its image.tar into docker.
func loadTarget(w workload) Target {
	s := w.stage
	return Target{Image: w.image, Stage: s, build: func(ctx context.Context, r *Runner) error {
		if err := r.Build(ctx, s); err != nil {
			return err
		}
		return r.Do(ctx, s, func(ctx context.Context, log io.Writer) error {
			return command(ctx, log, "", nil, "docker", "load", "--input", filepath.Join(r.Dir(s), "image.tar"))
		})
	}}
}

// Ensure builds the target's image unless docker already has it with the current inputs key.
func (t Target) Ensure(ctx context.Context, r *Runner) error {
	label, err := ImageLabel(ctx, t.Image)
	if err != nil {
		return err
	}
	if label == t.Stage.Key() && !r.Rebuild {
		r.printf("%-22s cached  %s (docker image %s)", t.Stage.Name, label, t.Image)
		return nil
	}
	switch {
	case label == t.Stage.Key():
		r.printf("%-22s rebuild docker image %s is up to date; rebuilding as asked", t.Stage.Name, t.Image)
	case label != "":
		r.printf("%-22s stale   docker image %s was built from %s, inputs are now %s", t.Stage.Name, t.Image, label, t.Stage.Key())
	}
	if err := t.build(ctx, r); err != nil {
		return err
	}
	// The image the tag pointed at before is now dangling; drop ours (only ours: by label).
	_, err = output(ctx, "", nil, "docker", "image", "prune", "--force", "--filter", "label="+InputsLabel)
	return err
}
