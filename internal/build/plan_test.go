package build

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestKubernetesWrapperGoMod(t *testing.T) {
	upstream := []byte(`module k8s.io/kubernetes

go 1.25.0

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	github.com/example/other => github.com/example/other v1.2.3
)
`)
	out, err := kubernetesWrapperGoMod(upstream, "v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{"module k8sbuild", "require k8s.io/kubernetes v1.37.2", "k8s.io/api => k8s.io/api v0.37.2", "k8s.io/client-go => k8s.io/client-go v0.37.2"} {
		if !strings.Contains(got, want) {
			t.Errorf("wrapper go.mod lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "github.com/example/other") {
		t.Errorf("a non-staging replace was copied:\n%s", got)
	}
	if _, err := kubernetesWrapperGoMod([]byte("module k8s.io/kubernetes\n\ngo 1.25.0\n"), "v1.37.2"); err == nil {
		t.Fatal("a go.mod without staging replaces must be refused: the recipe no longer fits")
	}
}

func TestKubernetesLdflags(t *testing.T) {
	ld := kubernetesLdflags("v1.37.2")
	for _, want := range []string{"version.gitVersion=v1.37.2", "version.gitMajor=1 ", "version.gitMinor=37 "} {
		if !strings.Contains(ld+" ", want) {
			t.Errorf("ldflags %q lack %q", ld, want)
		}
	}
}

// The package list and the sandbox image come from the kind module go.mod pins.
func TestKindFilesAtThePinnedVersion(t *testing.T) {
	kind, err := FindKindModule(t.Context(), "../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := kindBasePackages(filepath.Join(kind.Dir, "images/base/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"systemd", "iptables", "conntrack", "procps"} {
		if !strings.Contains(" "+strings.Join(pkgs, " ")+" ", " "+want+" ") {
			t.Errorf("kind %s package list %v lacks %s", kind.Version, pkgs, want)
		}
	}
	sandbox, err := kindSandboxImage(filepath.Join(kind.Dir, "images/base/files/etc/containerd/config.toml"))
	if err != nil || !strings.HasPrefix(sandbox, "registry.k8s.io/pause:") {
		t.Fatalf("sandbox image %q, %v", sandbox, err)
	}
}

func TestParseCleanInstallRefusesAnotherShape(t *testing.T) {
	if _, err := parseCleanInstall("RUN apt-get install -y systemd"); err == nil {
		t.Fatal("want an error when kind's Dockerfile no longer has a clean-install list")
	}
}

func TestMissingLines(t *testing.T) {
	got := missingLines("a\nb\nc\n", []string{"a", "c", "d"})
	if len(got) != 1 || got[0] != "b" {
		t.Fatalf("missingLines = %v, want [b]", got)
	}
}

func TestImageArchiveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bin")
	os.WriteFile(src, []byte("#!/bin/true\n"), 0o755)
	layer, err := FilesLayer([]LayerFile{{Path: "/usr/local/bin/tool", Mode: 0o755, Src: src}, {Path: "/etc/motd", Mode: 0o644, Data: []byte("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Image(v1.Config{Entrypoint: []string{"/usr/local/bin/tool"}, User: "65532:65532"}, layer)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteArchive(&buf, map[string]v1.Image{"example.test/tool:1.0": img}); err != nil {
		t.Fatal(err)
	}
	// A docker-archive: manifest.json naming the tag, as `docker load` and ctr import read it.
	tr := tar.NewReader(&buf)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			var m []struct{ RepoTags []string }
			json.NewDecoder(tr).Decode(&m)
			found = len(m) == 1 && len(m[0].RepoTags) == 1 && m[0].RepoTags[0] == "example.test/tool:1.0"
		}
	}
	if !found {
		t.Fatal("archive has no manifest.json naming example.test/tool:1.0")
	}
	cf, _ := img.ConfigFile()
	if cf.Config.User != "65532:65532" || cf.OS != "linux" {
		t.Fatalf("config %+v", cf.Config)
	}
}

func TestRenderCNIManifestFillsOnlyTheImage(t *testing.T) {
	out, err := renderCNIManifest("../../images/routecni/default-cni.yaml", "example.test/routecni:9")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "image: example.test/routecni:9") || strings.Contains(string(out), "{{") {
		t.Fatalf("rendered manifest:\n%s", out)
	}
}

func TestNeedRoot(t *testing.T) {
	if err := needRoot(0, "rootfs-node"); err != nil {
		t.Fatal(err)
	}
	err := needRoot(1000, "rootfs-client")
	if err == nil || !strings.Contains(err.Error(), `sudo env PATH="$PATH" make images`) {
		t.Fatalf("err = %v", err)
	}
	if err := needRoot(1000, "rootfs-node"); err == nil || !strings.Contains(err.Error(), "make node-image") {
		t.Fatalf("err = %v", err)
	}
}
