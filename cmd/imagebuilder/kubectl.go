package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/headless-e2e/headless-e2e/internal/knobs"
)

// usableKubectl is a kubectl the user has on PATH (outside dir, where make puts the pinned one)
// whose minor version is within one of want's: kubectl's version skew policy (it works with a
// kube-apiserver one minor older or newer). Online it saves compiling Kubernetes' kubectl
// (minutes on 2 cores); offline the path stays as it was, the pinned one built. found is ""
// when there is none, why then says why a build is needed ("" offline).
func usableKubectl(ctx context.Context, want, dir string) (found, why string) {
	if offline, err := knobs.Bool("OFFLINE"); err != nil || offline {
		return "", ""
	}
	absDir, _ := filepath.Abs(dir)
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if abs, _ := filepath.Abs(d); abs == absDir || d == "" {
			continue
		}
		path := filepath.Join(d, "kubectl")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		out, err := exec.CommandContext(ctx, path, "version", "--client", "-o", "json").Output()
		if err != nil {
			return "", fmt.Sprintf("%s version failed (%v)", path, err)
		}
		var v struct {
			ClientVersion struct{ GitVersion string } `json:"clientVersion"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			return "", fmt.Sprintf("%s version: %v", path, err)
		}
		have := v.ClientVersion.GitVersion
		if d := minor(have) - minor(want); minor(have) < 0 || d < -1 || d > 1 {
			return "", fmt.Sprintf("%s is %s, more than one minor version from the cluster's %s (kubectl's version skew policy)", path, have, want)
		}
		return path, fmt.Sprintf("%s, within one minor version of the cluster's %s", have, want)
	}
	return "", "no kubectl on PATH"
}

// minor is the minor number of a "v1.37.2" version, -1 when it is not one.
func minor(version string) int {
	parts := strings.Split(strings.TrimPrefix(version, "v"), ".")
	if len(parts) < 2 {
		return -1
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return -1
	}
	return n
}

// linkExecutable points dst at src, replacing what was there.
func linkExecutable(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(src, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
