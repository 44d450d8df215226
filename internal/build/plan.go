package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/headless-e2e/headless-e2e/internal/versions"
)

// Plan is every stage of the offline build, wired together. NewPlan only describes the work;
// Runner.Build does it.
type Plan struct {
	V        versions.Versions
	RepoRoot string
	CacheDir string
	Kind     KindModule
	report   func(stage, msg string)

	KubernetesModule, Kubernetes, Kubectl                         *Stage
	Containerd, Runc, Crictl, CNIPlugins, CoreDNS                 *Stage
	EtcdModule, Etcd                                              *Stage
	RouteCNI, Pause, Hello, DNSProbe                              *Stage
	RootfsNode, RootfsProxy, RootfsClient                         *Stage
	PreloadImages, HelloImage, ClientImage, ProbeImage, NodeImage *Stage

	RootfsResolvers, ResolverProbes, MuslNextProbe, ResolversImage *Stage
}

// KindModule is sigs.k8s.io/kind at the version go.mod pins: its node-image files are read
// from the module cache, never copied into this repository.
type KindModule struct {
	Version string
	Dir     string
}

// FindKindModule asks the go command where go.mod's sigs.k8s.io/kind lives.
func FindKindModule(ctx context.Context, repoRoot string) (KindModule, error) {
	out, err := output(ctx, repoRoot, nil, "go", "list", "-m", "-json", "sigs.k8s.io/kind")
	if err != nil {
		return KindModule{}, fmt.Errorf("locating sigs.k8s.io/kind in the module cache: %w", err)
	}
	var m KindModule
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return KindModule{}, err
	}
	if m.Dir == "" {
		return KindModule{}, fmt.Errorf("sigs.k8s.io/kind %s is not in the module cache: run go mod download", m.Version)
	}
	return m, nil
}

// goEnv is the environment every Go component builds with. GOTOOLCHAIN=local: a module that
// asks for a newer Go must fail here, not download a toolchain. GOFLAGS=-trimpath: outputs do
// not depend on where the cache lives.
func goEnv(cgo bool, extra ...string) []string {
	c := "0"
	if cgo {
		c = "1"
	}
	return append([]string{"CGO_ENABLED=" + c, "GOTOOLCHAIN=local", "GOFLAGS=-trimpath"}, extra...)
}

// NewPlan describes the build. It reads kind's Dockerfile for the node's package list and
// hashes the project's own sources, so it fails if those cannot be read.
func NewPlan(v versions.Versions, repoRoot, cacheDir string, kind KindModule, report func(stage, msg string)) (*Plan, error) {
	p := &Plan{V: v, RepoRoot: repoRoot, CacheDir: cacheDir, Kind: kind, report: report}
	goVersion := "go " + runtime.Version()

	// Kubernetes: a throwaway module requiring k8s.io/kubernetes, whose ./staging replaces are
	// turned into the published k8s.io/* v0.x.y modules (the module proxy cannot follow local
	// replaces). Version ldflags matter: kubeadm derives the image tags it asks for from them.
	p.KubernetesModule = &Stage{Name: "kubernetes-module", Pool: Network, Inputs: []string{goVersion, v.Kubernetes, kubernetesTools},
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			return writeKubernetesModule(ctx, dir, log, v.Kubernetes)
		}}
	k8sLdflags := kubernetesLdflags(v.Kubernetes)
	k8sBuild := func(name string, cmds ...string) *Stage {
		args := []string{"build", "-v", "-ldflags", k8sLdflags, "-o", "OUT/"}
		for _, c := range cmds {
			args = append(args, "k8s.io/kubernetes/cmd/"+c)
		}
		return &Stage{Name: name, Pool: CPU, Deps: []*Stage{p.KubernetesModule}, Inputs: append(append([]string{goVersion}, goEnv(false)...), args...),
			Run: func(ctx context.Context, dir string, log io.Writer) error {
				return p.goCompile(ctx, name, log, p.dirOf(p.KubernetesModule), goEnv(false), substitute(args, "OUT/", dir+"/"))
			}}
	}
	p.Kubectl = k8sBuild("kubectl", "kubectl")
	p.Kubernetes = k8sBuild("kubernetes", "kubelet", "kubeadm", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")

	install := func(name string, cgo bool, tags, ldflags string, pkgs ...string) *Stage {
		args := []string{"install", "-v", "-tags", tags, "-ldflags", "-s -w " + ldflags}
		args = append(args, pkgs...)
		env := goEnv(cgo)
		return &Stage{Name: name, Pool: CPU, Inputs: append(append([]string{goVersion}, env...), args...),
			Run: func(ctx context.Context, dir string, log io.Writer) error {
				return p.goCompile(ctx, name, log, "", append(env, "GOBIN="+dir), args)
			}}
	}
	ctd := "github.com/containerd/containerd/v2"
	ctdLd := fmt.Sprintf("-X %[1]s/version.Version=%[2]s -X %[1]s/version.Package=%[1]s -X %[1]s/version.Revision=gomodproxy", ctd, v.Containerd)
	p.Containerd = install("containerd", false, "no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs", ctdLd,
		ctd+"/cmd/containerd@"+v.Containerd, ctd+"/cmd/ctr@"+v.Containerd, ctd+"/cmd/containerd-shim-runc-v2@"+v.Containerd)
	// runc needs cgo for seccomp (libseccomp-dev, pkg-config on the build host).
	p.Runc = install("runc", true, "seccomp urfave_cli_no_docs", "-X main.version="+strings.TrimPrefix(v.Runc, "v"),
		"github.com/opencontainers/runc@"+v.Runc)
	p.Crictl = install("crictl", false, "", "-X sigs.k8s.io/cri-tools/pkg/version.Version="+v.Crictl,
		"sigs.k8s.io/cri-tools/cmd/crictl@"+v.Crictl)
	cni := "github.com/containernetworking/plugins/plugins/"
	p.CNIPlugins = install("cni-plugins", false, "", "",
		cni+"main/ptp@"+v.CNIPlugins, cni+"main/loopback@"+v.CNIPlugins, cni+"ipam/host-local@"+v.CNIPlugins, cni+"meta/portmap@"+v.CNIPlugins)
	p.CoreDNS = install("coredns", false, "", "", "github.com/coredns/coredns@"+v.CoreDNS)

	// etcd's modules carry replace directives, which `go install pkg@version` refuses: build it
	// from a wrapper module that requires them.
	p.EtcdModule = &Stage{Name: "etcd-module", Pool: Network, Inputs: []string{goVersion, v.Etcd},
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			return writeEtcdModule(ctx, dir, log, v.Etcd)
		}}
	etcdArgs := []string{"build", "-v", "-ldflags", "-s -w", "-o", "OUT/", "go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/etcdctl/v3"}
	p.Etcd = &Stage{Name: "etcd", Pool: CPU, Deps: []*Stage{p.EtcdModule}, Inputs: append(append([]string{goVersion}, goEnv(false)...), etcdArgs...),
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			if err := p.goCompile(ctx, "etcd", log, p.dirOf(p.EtcdModule), goEnv(false), substitute(etcdArgs, "OUT/", dir+"/")); err != nil {
				return err
			}
			// `go build` names a /v3 module's binary after the element before the major
			// version: server/v3 becomes "server".
			return os.Rename(filepath.Join(dir, "server"), filepath.Join(dir, "etcd"))
		}}

	// The project's own programs build from this module, so their key is their source.
	var err error
	if p.RouteCNI, err = p.ownProgram("routecni", "images/routecni"); err != nil {
		return nil, err
	}
	if p.Pause, err = p.ownProgram("pause", "images/pause"); err != nil {
		return nil, err
	}
	if p.Hello, err = p.ownProgram("hello", "images/hello"); err != nil {
		return nil, err
	}
	// The client's DNS probe is package dns's asking half, so its key is that package too.
	if p.DNSProbe, err = p.ownProgram("dnsprobe", "images/dnsprobe", "pkg/dns"); err != nil {
		return nil, err
	}

	nodePackages, err := kindBasePackages(filepath.Join(kind.Dir, "images/base/Dockerfile"))
	if err != nil {
		return nil, err
	}
	p.RootfsNode = p.rootfs("rootfs-node", nodePackages, kindDockerfileCleanup)
	// kube-proxy programs iptables/nftables and conntrack from inside its container.
	p.RootfsProxy = p.rootfs("rootfs-proxy", []string{"iptables", "nftables", "conntrack", "ipset", "kmod"}, "")
	// Only what the lab and the suite run: BIND's nslookup for the learner (it honours the
	// search path the way the course's output shows; busybox's skips the search list for
	// dotted names and exits 1 on success), curl for the HTTP checks; the suite's DNS probe is
	// added as a layer of its own.
	p.RootfsClient = p.rootfs("rootfs-client", []string{"bind9-dnsutils", "curl"}, "")

	if err := p.resolverStages(); err != nil {
		return nil, err
	}
	if err := p.imageStages(); err != nil {
		return nil, err
	}
	return p, nil
}

// dirOf is where a stage's output is once built; a stage reads its dependencies' outputs there.
func (p *Plan) dirOf(s *Stage) string { return stageDir(p.CacheDir, s) }

func stageDir(cacheDir string, s *Stage) string {
	return filepath.Join(cacheDir, "stages", s.Name+"-"+s.Key())
}

func (p *Plan) goCompile(ctx context.Context, stage string, log io.Writer, dir string, env, args []string) error {
	return withCompileProgress(log, func(msg string) { p.report(stage, msg) }, time.Minute, func(w io.Writer) error {
		return command(ctx, w, dir, env, "go", args...)
	})
}

func (p *Plan) ownProgram(name, pkgDir string, alsoFrom ...string) (*Stage, error) {
	src, err := HashFiles(p.RepoRoot, append([]string{pkgDir, "go.mod", "go.sum"}, alsoFrom...)...)
	if err != nil {
		return nil, err
	}
	args := []string{"build", "-ldflags", "-s -w", "-o", "OUT/" + name, "./" + pkgDir}
	env := goEnv(false)
	return &Stage{Name: name, Pool: CPU, Inputs: append(append([]string{"go " + runtime.Version(), src}, env...), args...),
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			return command(ctx, log, p.RepoRoot, env, "go", substitute(args, "OUT/", dir+"/")...)
		}}, nil
}

func substitute(args []string, placeholder, value string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.Replace(a, placeholder, value, 1)
	}
	return out
}

func kubernetesLdflags(version string) string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	const pkg = "k8s.io/component-base/version"
	return strings.Join([]string{"-s -w",
		"-X " + pkg + ".gitVersion=" + version,
		"-X " + pkg + ".gitMajor=" + major,
		"-X " + pkg + ".gitMinor=" + minor,
		"-X " + pkg + ".gitTreeState=clean",
		"-X " + pkg + ".gitCommit=0000000000000000000000000000000000000000",
		"-X " + pkg + ".buildDate=1970-01-01T00:00:00Z",
		"-X k8s.io/client-go/pkg/version.gitVersion=" + version,
	}, " ")
}

// kubernetesTools is the wrapper module's tools.go: importing the commands keeps `go mod
// tidy` from dropping what they need.
const kubernetesTools = `//go:build tools

package k8sbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
`

func writeKubernetesModule(ctx context.Context, dir string, log io.Writer, version string) error {
	out, err := output(ctx, dir, nil, "go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	if err != nil {
		return err
	}
	var dl struct{ GoMod string }
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		return err
	}
	upstream, err := os.ReadFile(dl.GoMod)
	if err != nil {
		return err
	}
	gomod, err := kubernetesWrapperGoMod(upstream, version)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(kubernetesTools), 0o644); err != nil {
		return err
	}
	return command(ctx, log, dir, goEnv(false), "go", "mod", "tidy")
}

// kubernetesWrapperGoMod turns k8s.io/kubernetes's go.mod replaces of ./staging/src/k8s.io/X
// into requirements on the published k8s.io/X v0.<minor>.<patch>.
func kubernetesWrapperGoMod(upstream []byte, version string) ([]byte, error) {
	f, err := modfile.Parse("go.mod", upstream, nil)
	if err != nil {
		return nil, fmt.Errorf("parsing k8s.io/kubernetes %s go.mod: %w", version, err)
	}
	staging := "v0." + strings.TrimPrefix(version, "v1.")
	w := &modfile.File{}
	w.AddModuleStmt("k8sbuild")
	if err := w.AddGoStmt(f.Go.Version); err != nil {
		return nil, err
	}
	if err := w.AddRequire("k8s.io/kubernetes", version); err != nil {
		return nil, err
	}
	n := 0
	for _, r := range f.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			if err := w.AddReplace(r.Old.Path, "", r.Old.Path, staging); err != nil {
				return nil, err
			}
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("k8s.io/kubernetes %s go.mod has no ./staging replaces: the wrapper recipe no longer fits", version)
	}
	return w.Format()
}

func writeEtcdModule(ctx context.Context, dir string, log io.Writer, version string) error {
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module etcdbuild\n\ngo 1.26.0\n"), 0o644); err != nil {
		return err
	}
	tools := "//go:build tools\n\npackage etcdbuild\n\nimport (\n\t_ \"go.etcd.io/etcd/etcdctl/v3\"\n\t_ \"go.etcd.io/etcd/server/v3\"\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	env := goEnv(false)
	if err := command(ctx, log, dir, env, "go", "get", "go.etcd.io/etcd/server/v3@"+version, "go.etcd.io/etcd/etcdctl/v3@"+version); err != nil {
		return err
	}
	return command(ctx, log, dir, env, "go", "mod", "tidy")
}

// kindBasePackages reads the Debian packages kind's base image installs from kind's own
// Dockerfile (the `clean-install` list of its first stage), so the node gets what kind
// expects without this repository keeping a copy that could drift.
func kindBasePackages(dockerfile string) ([]string, error) {
	data, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("reading kind's base Dockerfile: %w", err)
	}
	return parseCleanInstall(string(data))
}

var cleanInstall = regexp.MustCompile(`(?s)clean-install \\\n(.*?)&&`)

func parseCleanInstall(dockerfile string) ([]string, error) {
	m := cleanInstall.FindStringSubmatch(dockerfile)
	if m == nil {
		return nil, fmt.Errorf("kind's base Dockerfile has no `clean-install \\` package list: the recipe no longer fits this kind version")
	}
	var pkgs []string
	for _, f := range strings.Fields(strings.ReplaceAll(m[1], "\\", " ")) {
		pkgs = append(pkgs, f)
	}
	return pkgs, nil
}

// kindDockerfileCleanup is the part of kind's base Dockerfile RUN steps that only touches the
// Debian root filesystem: units kind does not want started in a node, and /sbin/init.
const kindDockerfileCleanup = `find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
  /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
  /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init
mkdir -p /etc/kubernetes/manifests
: > /etc/machine-id
`

// slim removes what no container needs, as kind's clean-install does.
const slim = `apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/* /var/tmp/* /usr/share/doc/* /usr/share/doc-base/* /usr/share/man/* /usr/share/locale/*
`

// rootfs debootstraps a minimal Debian with packages, runs script in it and leaves the result
// as rootfs.tar, the layer an image is made from.
func (p *Plan) rootfs(name string, packages []string, script string) *Stage {
	args := debootstrapArgs(p.V.DebianSuite, packages)
	return &Stage{Name: name, Pool: Network, Inputs: append(append([]string{}, args...), script, slim),
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			root := filepath.Join(dir, "root")
			if err := p.debootstrap(ctx, log, name, args, root); err != nil {
				return err
			}
			if err := command(ctx, log, "", nil, "chroot", root, "/bin/sh", "-euc", script+slim); err != nil {
				return err
			}
			if err := command(ctx, log, "", nil, "tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", filepath.Join(dir, "rootfs.tar"), "."); err != nil {
				return err
			}
			return os.RemoveAll(root)
		}}
}

// debootstrapArgs are debootstrap's arguments, with ROOT and MIRROR still to fill in. The
// mirror is a transport, not an input: it stays out of stage keys, so another mirror reuses
// what was built.
func debootstrapArgs(suite string, packages []string) []string {
	return []string{"--variant=minbase", "--include=" + strings.Join(packages, ","), suite, "ROOT", "MIRROR"}
}

// debootstrap makes a minimal Debian root at root from the host's Debian mirror (DebianMirror).
func (p *Plan) debootstrap(ctx context.Context, log io.Writer, stage string, args []string, root string) error {
	if err := needRoot(os.Geteuid(), stage); err != nil {
		return err
	}
	suite := args[len(args)-3]
	run := substitute(args, "ROOT", root)
	if mirror := DebianMirror("/etc/apt", suite); mirror != "" {
		run = substitute(run, "MIRROR", mirror)
	} else {
		fmt.Fprintf(log, "no Debian archive in this host's apt configuration: debootstrap's own default mirror for %s (%s=<url> picks one)\n", suite, MirrorEnv)
		run = run[:len(run)-1]
	}
	return command(ctx, log, "", nil, "debootstrap", run...)
}

// All lists every stage, dependencies first.
func (p *Plan) All() []*Stage {
	return []*Stage{p.KubernetesModule, p.Kubectl, p.Kubernetes, p.Containerd, p.Runc, p.Crictl, p.CNIPlugins,
		p.CoreDNS, p.EtcdModule, p.Etcd, p.RouteCNI, p.Pause, p.Hello, p.DNSProbe, p.RootfsNode, p.RootfsProxy, p.RootfsClient,
		p.RootfsResolvers, p.ResolverProbes, p.MuslNextProbe, p.ResolversImage,
		p.PreloadImages, p.HelloImage, p.ClientImage, p.ProbeImage, p.NodeImage}
}

// needRoot stops a root filesystem build early, with the command to run, when it cannot work:
// debootstrap and chroot need root.
func needRoot(euid int, stage string) error {
	if euid == 0 {
		return nil
	}
	target := "images"
	if stage == "rootfs-node" || stage == "rootfs-proxy" {
		target = "node-image"
	}
	return fmt.Errorf("building the %s root filesystem needs root (debootstrap, chroot): run as root, e.g. sudo env PATH=\"$PATH\" make %s", stage, target)
}
