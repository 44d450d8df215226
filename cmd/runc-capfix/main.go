// Command runc-capfix is an OCI runtime wrapper for hosts whose capability
// bounding set is shorter than the container engine assumes.
//
// Docker asks for every capability it knows when it starts a privileged
// container (kind's node containers are privileged). If the host's bounding
// set lacks one of them, as CAP_SYS_RESOURCE is lacking on some nested VMs,
// runc fails with "unable to apply caps: operation not permitted". Configured
// as dockerd's default runtime, runc-capfix removes from the OCI process
// capabilities every capability the current bounding set lacks, then execs the
// real runc with its arguments unchanged. It patches both the bundle's
// config.json (runc create and run) and the process file given to
// "runc exec --process" (docker exec). On a host whose bounding set is
// complete it changes nothing. If patching fails it prints the error prefixed
// "runc-capfix:" and exits 1 rather than start a container from a config it
// could not fix.
//
// The real runc is $RUNC_CAPFIX_RUNC if set, else the first of /usr/sbin/runc,
// /usr/bin/runc and /usr/local/sbin/runc that exists and is not runc-capfix
// itself.
//
// Usage:
//
//	runc-capfix probe
//
// prints the capabilities missing from the bounding set, one per line, and
// exits 0 if none are missing, 1 if some are and 2 on error, so that a script
// can ask:
//
//	if ! runc-capfix probe >/dev/null; then ...; fi
//
//	runc-capfix [runc arguments...]
//
// acts as runc.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/headless-e2e/headless-e2e/internal/capfix"
)

var defaultRuncPaths = []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"}

func main() {
	args := os.Args[1:]
	if len(args) == 1 && args[0] == "probe" {
		os.Exit(probe(os.Stdout, os.Stderr))
	}
	if err := runRunc(args); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfix: %v\n", err)
		os.Exit(1)
	}
}

func probe(stdout, stderr io.Writer) int {
	missing, err := capfix.Probe()
	if err != nil {
		fmt.Fprintf(stderr, "runc-capfix: %v\n", err)
		return 2
	}
	for _, name := range missing {
		fmt.Fprintln(stdout, name)
	}
	if len(missing) > 0 {
		return 1
	}
	return 0
}

// runRunc only returns on failure: on success the process becomes runc.
func runRunc(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate own executable: %w", err)
	}
	runc, err := findRunc(os.Getenv("RUNC_CAPFIX_RUNC"), defaultRuncPaths, self)
	if err != nil {
		return err
	}
	// An unparsable command line is runc's to reject with its own usage
	// message; there is then no file we could sensibly patch.
	if inv, err := parseArgs(args); err == nil && (inv.bundle != "" || inv.process != "") {
		missing, err := capfix.Probe()
		if err != nil {
			return fmt.Errorf("probe capability bounding set: %w", err)
		}
		if err := patch(inv, missing); err != nil {
			return err
		}
	}
	argv := append([]string{runc}, args...)
	return fmt.Errorf("exec %s: %w", runc, syscall.Exec(runc, argv, os.Environ()))
}

// patch strips the missing capabilities from the files inv names. It reads
// nothing when none are missing, so a complete host is never touched.
func patch(inv invocation, missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	drop := make(map[string]bool, len(missing))
	for _, name := range missing {
		drop[name] = true
	}
	if inv.bundle != "" {
		if err := patchFile(filepath.Join(inv.bundle, "config.json"), capfix.ConfigPath, drop); err != nil {
			return err
		}
	}
	if inv.process != "" {
		if err := patchFile(inv.process, capfix.ProcessPath, drop); err != nil {
			return err
		}
	}
	return nil
}

func patchFile(path string, capsPath []string, drop map[string]bool) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, changed, err := capfix.StripCapabilities(doc, capsPath, drop)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !changed {
		return nil
	}
	return replaceFile(path, out)
}

// replaceFile writes through a rename so that runc can never read a
// half-written config, keeping the original permissions.
func replaceFile(path string, data []byte) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".capfix-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// findRunc picks the runtime to exec. Refusing our own executable matters
// because the wrapper may well be installed as, or linked to, one of the
// usual runc paths; exec'ing it would loop forever.
func findRunc(override string, candidates []string, self string) (string, error) {
	selfInfo, err := os.Stat(self)
	if err != nil {
		return "", fmt.Errorf("stat own executable: %w", err)
	}
	if override != "" {
		fi, err := os.Stat(override)
		if err != nil {
			return "", fmt.Errorf("RUNC_CAPFIX_RUNC: %w", err)
		}
		if os.SameFile(fi, selfInfo) {
			return "", fmt.Errorf("RUNC_CAPFIX_RUNC=%s is runc-capfix itself", override)
		}
		return override, nil
	}
	for _, c := range candidates {
		fi, err := os.Stat(c)
		if err != nil || fi.IsDir() || os.SameFile(fi, selfInfo) {
			continue
		}
		return c, nil
	}
	return "", errors.New("no runc found (set RUNC_CAPFIX_RUNC)")
}
