package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headless-e2e/headless-e2e/internal/capfix"
)

// The test binary doubles as the wrapper so that the exec path can be
// checked end to end without building anything.
func TestMain(m *testing.M) {
	if os.Getenv("RUNC_CAPFIX_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runWrapper(t *testing.T, fakeRunc string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RUNC_CAPFIX_TEST_MAIN=1", "RUNC_CAPFIX_RUNC="+fakeRunc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		t.Fatal(err)
	}
	return string(out), 0
}

func TestExecPassesArgumentsThrough(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake runc")
	}
	missing, err := capfix.Probe()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "runc")
	writeFile(t, fake, "#!/bin/sh\necho \"fake-runc $*\"\n", 0o755)
	config := filepath.Join(dir, "config.json")
	writeFile(t, config, bundleConfig, 0o600)

	args := []string{"--root", "/x", "--log-format", "json", "create", "--bundle", dir, "id"}
	out, code := runWrapper(t, fake, args...)
	if code != 0 || strings.TrimSpace(out) != "fake-runc "+strings.Join(args, " ") {
		t.Fatalf("exit %d, output %q", code, out)
	}
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := string(b) != bundleConfig
	wantRewrite := false
	for _, m := range missing {
		wantRewrite = wantRewrite || strings.Contains(bundleConfig, `"`+m+`"`)
	}
	if rewritten != wantRewrite {
		t.Errorf("host missing %q: rewritten = %v, want %v", missing, rewritten, wantRewrite)
	}

	if len(missing) == 0 {
		return
	}
	empty := t.TempDir()
	out, code = runWrapper(t, fake, "create", "--bundle", empty, "id")
	if code != 1 || !strings.HasPrefix(out, "runc-capfix: ") || strings.Contains(out, "fake-runc") {
		t.Errorf("unpatchable bundle: exit %d, output %q; want exit 1 without running runc", code, out)
	}
}
