package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// InputsLabel is the image label that carries the key of everything an image was built from.
// An image whose label matches the current key is up to date; anything else is rebuilt.
const InputsLabel = "io.headless-e2e.inputs"

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Unprivileged IDs for the workload images, so Pod Security "restricted" (runAsNonRoot) can
// verify them from the image alone. 65534 is Debian's nobody.
const (
	helloUser  = "65532:65532"
	clientUser = "65534:65534"
)

func (p *Plan) imageStages() error {
	sandbox, err := kindSandboxImage(filepath.Join(p.Kind.Dir, "images/base/files/etc/containerd/config.toml"))
	if err != nil {
		return err
	}
	preloaded := append(p.V.KubeadmImages(), sandbox, p.V.RouteCNIImage)
	p.PreloadImages = &Stage{Name: "preload-images", Pool: CPU, Inputs: preloaded,
		Deps: []*Stage{p.Kubernetes, p.Etcd, p.CoreDNS, p.Pause, p.RouteCNI, p.RootfsProxy},
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			if err := p.checkKubeadmImages(ctx, log); err != nil {
				return err
			}
			images, err := p.controlPlaneImages(sandbox)
			if err != nil {
				return err
			}
			return writeArchiveFile(filepath.Join(dir, "images.tar"), images)
		}}

	p.HelloImage = &Stage{Name: "hello-image", Pool: CPU, Inputs: []string{p.V.HelloImage, helloUser}, Deps: []*Stage{p.Hello}}
	p.HelloImage.Run = func(ctx context.Context, dir string, log io.Writer) error {
		layer, err := FilesLayer([]LayerFile{{Path: "/hello", Mode: 0o755, Src: filepath.Join(p.dirOf(p.Hello), "hello")}})
		if err != nil {
			return err
		}
		img, err := Image(v1.Config{Entrypoint: []string{"/hello"}, User: helloUser, Env: []string{defaultPath},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}}, Labels: map[string]string{InputsLabel: p.HelloImage.Key()}}, layer)
		if err != nil {
			return err
		}
		return writeArchiveFile(filepath.Join(dir, "image.tar"), map[string]v1.Image{p.V.HelloImage: img})
	}

	p.ClientImage = &Stage{Name: "client-image", Pool: CPU, Inputs: []string{p.V.ClientImage, clientUser}, Deps: []*Stage{p.RootfsClient, p.DNSProbe}}
	p.ClientImage.Run = p.debianImage(p.ClientImage, p.V.ClientImage, clientUser, p.RootfsClient, func() ([]LayerFile, error) {
		return []LayerFile{{Path: "/usr/local/bin/dnsprobe", Mode: 0o755, Src: filepath.Join(p.dirOf(p.DNSProbe), "dnsprobe")}}, nil
	})

	// The probe alone: the static dnsprobe on no base at all, idle until asked (pkg/headless's
	// probe pod). Built without root, so a user with Docker alone can build and load it.
	p.ProbeImage = &Stage{Name: "probe-image", Pool: CPU, Inputs: []string{p.V.ProbeImage, clientUser}, Deps: []*Stage{p.DNSProbe}}
	p.ProbeImage.Run = func(ctx context.Context, dir string, log io.Writer) error {
		layer, err := FilesLayer([]LayerFile{{Path: "/usr/local/bin/dnsprobe", Mode: 0o755, Src: filepath.Join(p.dirOf(p.DNSProbe), "dnsprobe")}})
		if err != nil {
			return err
		}
		img, err := Image(v1.Config{Cmd: []string{"dnsprobe", "idle"}, User: clientUser, Env: []string{defaultPath},
			Labels: map[string]string{InputsLabel: p.ProbeImage.Key()}}, layer)
		if err != nil {
			return err
		}
		return writeArchiveFile(filepath.Join(dir, "image.tar"), map[string]v1.Image{p.V.ProbeImage: img})
	}
	return p.nodeStage()
}

// debianImage makes the Run of an image that is a Debian root (rootfs's rootfs.tar) with our
// files as a layer on top, run as user: the pods the suite execs its probes in (the client,
// the resolvers), which sleep until then.
func (p *Plan) debianImage(s *Stage, tag, user string, rootfs *Stage, files func() ([]LayerFile, error)) func(context.Context, string, io.Writer) error {
	return func(ctx context.Context, dir string, log io.Writer) error {
		base, err := TarLayer(filepath.Join(p.dirOf(rootfs), "rootfs.tar"))
		if err != nil {
			return err
		}
		fs, err := files()
		if err != nil {
			return err
		}
		layer, err := FilesLayer(fs)
		if err != nil {
			return err
		}
		img, err := Image(v1.Config{Cmd: []string{"sleep", "infinity"}, User: user, Env: []string{defaultPath},
			Labels: map[string]string{InputsLabel: s.Key()}}, base, layer)
		if err != nil {
			return err
		}
		return writeArchiveFile(filepath.Join(dir, "image.tar"), map[string]v1.Image{tag: img})
	}
}

// checkKubeadmImages stops the build when versions.env and the kubeadm just built disagree on
// image names: kubeadm would then try to pull what the node does not hold.
func (p *Plan) checkKubeadmImages(ctx context.Context, log io.Writer) error {
	kubeadm := filepath.Join(p.dirOf(p.Kubernetes), "kubeadm")
	out, err := output(ctx, "", nil, kubeadm, "config", "images", "list", "--kubernetes-version", p.V.Kubernetes)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "kubeadm config images list:\n%s", out)
	want := strings.Join(p.V.KubeadmImages(), "\n")
	if missing := missingLines(out, p.V.KubeadmImages()); len(missing) > 0 {
		return fmt.Errorf("kubeadm %s asks for images versions.env does not produce:\n  kubeadm: %s\n  versions.env gives: %s\nfix ETCD_VERSION, COREDNS_VERSION or PAUSE_VERSION in versions.env",
			p.V.Kubernetes, strings.Join(strings.Fields(out), " "), strings.ReplaceAll(want, "\n", " "))
	}
	return nil
}

// missingLines returns the lines of got that are not in want.
func missingLines(got string, want []string) []string {
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	var missing []string
	for _, l := range strings.Fields(got) {
		if !wanted[l] {
			missing = append(missing, l)
		}
	}
	return missing
}

// controlPlaneImages are the images kubeadm and kind run, made from the binaries just built:
// static binaries on an empty filesystem, kube-proxy on a Debian root with its netfilter tools.
func (p *Plan) controlPlaneImages(sandbox string) (map[string]v1.Image, error) {
	k8s, etcd := p.dirOf(p.Kubernetes), p.dirOf(p.Etcd)
	binary := func(dst, src string) LayerFile { return LayerFile{Path: dst, Mode: 0o755, Src: src} }
	type spec struct {
		files      []LayerFile
		base       string
		entrypoint []string
	}
	specs := map[string]spec{}
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		specs["registry.k8s.io/"+c+":"+p.V.Kubernetes] = spec{files: []LayerFile{binary("/usr/local/bin/"+c, filepath.Join(k8s, c))}}
	}
	specs["registry.k8s.io/kube-proxy:"+p.V.Kubernetes] = spec{base: filepath.Join(p.dirOf(p.RootfsProxy), "rootfs.tar"),
		files: []LayerFile{binary("/usr/local/bin/kube-proxy", filepath.Join(k8s, "kube-proxy"))}}
	etcdImage := p.V.KubeadmImages()[len(p.V.KubeadmImages())-1]
	specs[etcdImage] = spec{files: []LayerFile{binary("/usr/local/bin/etcd", filepath.Join(etcd, "etcd")), binary("/usr/local/bin/etcdctl", filepath.Join(etcd, "etcdctl"))}}
	specs["registry.k8s.io/coredns/coredns:"+p.V.CoreDNS] = spec{files: []LayerFile{binary("/coredns", filepath.Join(p.dirOf(p.CoreDNS), "coredns"))}, entrypoint: []string{"/coredns"}}
	pause := spec{files: []LayerFile{binary("/pause", filepath.Join(p.dirOf(p.Pause), "pause"))}, entrypoint: []string{"/pause"}}
	specs["registry.k8s.io/pause:"+p.V.Pause] = pause
	specs[sandbox] = pause
	specs[p.V.RouteCNIImage] = spec{files: []LayerFile{binary("/routecni", filepath.Join(p.dirOf(p.RouteCNI), "routecni"))}, entrypoint: []string{"/routecni"}}

	images := map[string]v1.Image{}
	for tag, s := range specs {
		var layers []v1.Layer
		if s.base != "" {
			base, err := TarLayer(s.base)
			if err != nil {
				return nil, err
			}
			layers = append(layers, base)
		}
		l, err := FilesLayer(s.files)
		if err != nil {
			return nil, err
		}
		img, err := Image(v1.Config{Entrypoint: s.entrypoint, Env: []string{defaultPath}}, append(layers, l)...)
		if err != nil {
			return nil, err
		}
		images[tag] = img
	}
	return images, nil
}

var sandboxImage = regexp.MustCompile(`(?m)^\s*sandbox_image\s*=\s*"([^"]+)"`)

// kindSandboxImage reads the pause image kind's containerd config names, which the node must
// hold besides the one kubeadm lists.
func kindSandboxImage(configToml string) (string, error) {
	data, err := os.ReadFile(configToml)
	if err != nil {
		return "", fmt.Errorf("reading kind's containerd config: %w", err)
	}
	m := sandboxImage.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s names no sandbox_image", configToml)
	}
	return string(m[1]), nil
}

func writeArchiveFile(path string, images map[string]v1.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteArchive(f, images); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
