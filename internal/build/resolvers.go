package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The resolvers image holds the same lookup through each resolver applications use (issue
// 11): getaddrinfo linked against glibc and two musl releases, Go's resolver, the JVM's
// InetAddress, and BIND's dig as the reference. The probes compile inside Debian roots of their
// own, so each links exactly the C library of the suite it names, whatever the build host runs.
const resolversUser = "65534:65534"

// resolverPackages are what the probes run on: the JVM's headless runtime and BIND's dig. The
// script records the versions the matrix reports.
var resolverPackages = []string{"openjdk-17-jre-headless", "bind9-dnsutils"}

const resolverVersionsScript = `mkdir -p /usr/local/share/resolvers
dpkg-query -W -f='${Package} ${Version}\n' libc6 openjdk-17-jre-headless bind9-dnsutils > /usr/local/share/resolvers/packages
`

// probeBuild compiles in a root of DEBIAN_SUITE: gai against its glibc (dynamically, as
// applications link it) and statically against its musl, Probe.java for the JVM, and the Go
// probe with cgo against the same glibc. GOROOT is copied in, so the Go probe needs nothing the
// host's libc decides. The chroot has no /proc, so nothing can find itself through
// /proc/self/exe: javac is told where its libraries are and go where its GOROOT is.
const probeBuild = `export GOROOT=/usr/local/go GOTELEMETRY=off
cd /src
mkdir -p /out
gcc -O2 -Wall -Werror -o /out/gai-glibc gai.c
musl-gcc -static -O2 -Wall -Werror -o /out/gai-musl gai.c
jdk=$(dirname "$(dirname "$(readlink -f /usr/bin/javac)")")
LD_LIBRARY_PATH="$jdk/lib" "$jdk/bin/javac" --release 17 -d /out Probe.java
cd /src/resolve
env PATH=/usr/local/go/bin:$PATH CGO_ENABLED=1 GO111MODULE=off GOTOOLCHAIN=local GOFLAGS=-trimpath \
  GOCACHE=/tmp/gocache GOPATH=/tmp/gopath HOME=/tmp go build -ldflags='-s -w' -o /out/resolve main.go
dpkg-query -W -f='${Package} ${Version}\n' musl > /out/packages
/usr/local/go/bin/go version | sed 's/^go version /go /' >> /out/packages
`

// muslNextBuild links gai statically against MUSL_NEXT_SUITE's musl.
const muslNextBuild = `cd /src
mkdir -p /out
musl-gcc -static -O2 -Wall -Werror -o /out/gai-musl gai.c
dpkg-query -W -f='${Package} ${Version}\n' musl | sed 's/^musl /musl-next /' > /out/packages
`

func (p *Plan) resolverStages() error {
	src, err := HashFiles(p.RepoRoot, "images/resolvers")
	if err != nil {
		return err
	}
	p.RootfsResolvers = p.rootfs("rootfs-resolvers", resolverPackages, resolverVersionsScript)
	p.ResolverProbes = p.probeStage("resolver-probes", p.V.DebianSuite, []string{"gcc", "libc6-dev", "musl-tools", "openjdk-17-jdk-headless"}, src, probeBuild, true)
	p.MuslNextProbe = p.probeStage("resolver-musl-next", p.V.MuslNextSuite, []string{"gcc", "libc6-dev", "musl-tools"}, src, muslNextBuild, false)

	p.ResolversImage = &Stage{Name: "resolvers-image", Pool: CPU, Inputs: []string{p.V.ResolversImage, resolversUser},
		Deps: []*Stage{p.RootfsResolvers, p.ResolverProbes, p.MuslNextProbe}}
	p.ResolversImage.Run = p.debianImage(p.ResolversImage, p.V.ResolversImage, resolversUser, p.RootfsResolvers, func() ([]LayerFile, error) {
		probes, next := p.dirOf(p.ResolverProbes), p.dirOf(p.MuslNextProbe)
		packages, err := concatFiles(filepath.Join(probes, "packages"), filepath.Join(next, "packages"))
		if err != nil {
			return nil, err
		}
		bin := func(name, src string) LayerFile {
			return LayerFile{Path: "/usr/local/bin/" + name, Mode: 0o755, Src: src}
		}
		return []LayerFile{
			bin("gai-glibc", filepath.Join(probes, "gai-glibc")),
			bin("gai-musl", filepath.Join(probes, "gai-musl")),
			bin("gai-musl-next", filepath.Join(next, "gai-musl")),
			bin("resolve", filepath.Join(probes, "resolve")),
			{Path: "/usr/local/lib/resolvers/Probe.class", Mode: 0o644, Src: filepath.Join(probes, "Probe.class")},
			{Path: "/usr/local/share/resolvers/probes", Mode: 0o644, Data: packages},
		}, nil
	})
	return nil
}

// probeStage debootstraps suite with packages, copies images/resolvers in as /src (and with
// withGo this Go toolchain as /usr/local/go), runs script, and keeps what it wrote to /out. The
// root itself is thrown away: only the probes leave.
func (p *Plan) probeStage(name, suite string, packages []string, src, script string, withGo bool) *Stage {
	args := debootstrapArgs(suite, packages)
	inputs := append(append([]string{}, args...), src, script)
	if withGo {
		inputs = append(inputs, "go "+runtime.Version())
	}
	return &Stage{Name: name, Pool: Network, Inputs: inputs,
		Run: func(ctx context.Context, dir string, log io.Writer) error {
			root := filepath.Join(dir, "root")
			defer os.RemoveAll(root)
			if err := p.debootstrap(ctx, log, name, args, root); err != nil {
				return err
			}
			if err := command(ctx, log, "", nil, "cp", "-a", filepath.Join(p.RepoRoot, "images/resolvers"), filepath.Join(root, "src")); err != nil {
				return err
			}
			if withGo {
				goroot, err := output(ctx, "", nil, "go", "env", "GOROOT")
				if err != nil {
					return err
				}
				if err := command(ctx, log, "", nil, "cp", "-a", strings.TrimSpace(goroot), filepath.Join(root, "usr/local/go")); err != nil {
					return err
				}
			}
			if err := command(ctx, log, "", nil, "chroot", root, "/bin/sh", "-euc", script); err != nil {
				return err
			}
			entries, err := os.ReadDir(filepath.Join(root, "out"))
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := os.Rename(filepath.Join(root, "out", e.Name()), filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
			return nil
		}}
}

func concatFiles(paths ...string) ([]byte, error) {
	var out strings.Builder
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		out.Write(data)
	}
	return []byte(out.String()), nil
}
