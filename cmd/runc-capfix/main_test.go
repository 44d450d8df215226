package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    invocation
		wantErr bool
	}{
		{
			name: "containerd shim create",
			args: "--root /x --log /y --log-format json --systemd-cgroup create --bundle B id",
			want: invocation{subcommand: "create", bundle: "B"},
		},
		{
			name: "equals forms and single dashes",
			args: "-root=/x --log=/y -log-format=json --debug run --bundle=/b/c --pid-file /p id",
			want: invocation{subcommand: "run", bundle: "/b/c"},
		},
		{
			name: "short bundle",
			args: "create -b /bundle --console-socket /s id",
			want: invocation{subcommand: "create", bundle: "/bundle"},
		},
		{
			name: "short bundle with equals",
			args: "create -b=/bundle id",
			want: invocation{subcommand: "create", bundle: "/bundle"},
		},
		{
			name: "bundle defaults to working directory",
			args: "--root /x create --pid-file /p id",
			want: invocation{subcommand: "create", bundle: "."},
		},
		{
			name: "empty bundle means working directory",
			args: "run --bundle= id",
			want: invocation{subcommand: "run", bundle: "."},
		},
		{
			name: "bundle after container id is still runc's",
			args: "run -d id --bundle /late",
			want: invocation{subcommand: "run", bundle: "/late"},
		},
		{
			name: "value of another flag is not a bundle",
			args: "create --pid-file --bundle id",
			want: invocation{subcommand: "create", bundle: "."},
		},
		{
			name: "last bundle wins",
			args: "create -b /one --bundle /two id",
			want: invocation{subcommand: "create", bundle: "/two"},
		},
		{
			name: "rootless takes a value",
			args: "--rootless false create --bundle B id",
			want: invocation{subcommand: "create", bundle: "B"},
		},
		{
			name: "docker exec",
			args: "--root /x --log /y --log-format json exec --process /tmp/runc-process123 --detach --pid-file /p id",
			want: invocation{subcommand: "exec", process: "/tmp/runc-process123"},
		},
		{
			name: "exec process with equals",
			args: "exec --process=/p.json id",
			want: invocation{subcommand: "exec", process: "/p.json"},
		},
		{
			name: "exec short process",
			args: "exec -t -p /p.json id",
			want: invocation{subcommand: "exec", process: "/p.json"},
		},
		{
			name: "exec flags of the command are not runc's",
			args: "exec --cwd /work id grep -p pattern",
			want: invocation{subcommand: "exec"},
		},
		{
			name: "exec value flags are skipped",
			args: "exec -e A=1 --user 0:0 --cap CAP_NET_ADMIN -p /p.json id",
			want: invocation{subcommand: "exec", process: "/p.json"},
		},
		{
			name: "exec does not take a bundle",
			args: "exec -b /x id sh",
			want: invocation{subcommand: "exec"},
		},
		{
			name: "double dash before subcommand",
			args: "--root /x -- create id",
			want: invocation{subcommand: "create", bundle: "."},
		},
		{
			name: "double dash ends create flags",
			args: "create id -- --bundle /no",
			want: invocation{subcommand: "create", bundle: "."},
		},
		{
			name: "other subcommands patch nothing",
			args: "--root /x --log /y --log-format json delete --force id",
			want: invocation{subcommand: "delete"},
		},
		{
			name: "global flag value is not the subcommand",
			args: "--log create start id",
			want: invocation{subcommand: "start"},
		},
		{name: "version", args: "--version", want: invocation{}},
		{name: "no arguments", args: "", want: invocation{}},
		{name: "global flag missing value", args: "--root", wantErr: true},
		{name: "bundle missing value", args: "create id --bundle", wantErr: true},
		{name: "process missing value", args: "exec -p", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(strings.Fields(tt.args))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

const bundleConfig = `{
	"ociVersion": "1.0.2-dev",
	"process": {
		"args": ["/sbin/init"],
		"capabilities": {
			"bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE"],
			"effective": ["CAP_CHOWN", "CAP_SYS_RESOURCE"],
			"permitted": ["CAP_CHOWN", "CAP_SYS_RESOURCE"]
		}
	},
	"x-unknown": {"a": 1}
}`

const execProcess = `{
	"args": ["bash"],
	"cwd": "/",
	"capabilities": {
		"bounding": ["CAP_SYS_RESOURCE", "CAP_NET_ADMIN"],
		"effective": ["CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]
	}
}`

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func capsAt(t *testing.T, path string, keys ...string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, k := range keys {
		v = v.(map[string]any)[k]
	}
	out := map[string][]string{}
	for set, names := range v.(map[string]any) {
		out[set] = []string{}
		for _, n := range names.([]any) {
			out[set] = append(out[set], n.(string))
		}
	}
	return out
}

func TestPatch(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	if err := os.Mkdir(bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(bundle, "config.json")
	process := filepath.Join(dir, "runc-process")
	writeFile(t, config, bundleConfig, 0o640)
	writeFile(t, process, execProcess, 0o600)

	missing := []string{"CAP_SYS_RESOURCE"}
	if err := patch(invocation{subcommand: "create", bundle: bundle}, missing); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"bounding": {"CAP_CHOWN"}, "effective": {"CAP_CHOWN"}, "permitted": {"CAP_CHOWN"},
	}
	if got := capsAt(t, config, "process", "capabilities"); !reflect.DeepEqual(got, want) {
		t.Errorf("config.json caps = %v, want %v", got, want)
	}
	if fi, err := os.Stat(config); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("config.json mode = %v (%v), want 0640", fi.Mode(), err)
	}
	b, _ := os.ReadFile(config)
	if !bytes.Contains(b, []byte(`"x-unknown":{"a":1}`)) {
		t.Errorf("unknown field lost: %s", b)
	}
	if got, _ := os.ReadFile(process); string(got) != execProcess {
		t.Error("create must not touch an exec process file")
	}

	if err := patch(invocation{subcommand: "exec", process: process}, missing); err != nil {
		t.Fatal(err)
	}
	want = map[string][]string{"bounding": {"CAP_NET_ADMIN"}, "effective": {"CAP_NET_ADMIN"}}
	if got := capsAt(t, process, "capabilities"); !reflect.DeepEqual(got, want) {
		t.Errorf("process caps = %v, want %v", got, want)
	}

	entries, err := os.ReadDir(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestPatchCompleteHostTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.json")
	writeFile(t, config, bundleConfig, 0o600)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(config, old, old); err != nil {
		t.Fatal(err)
	}
	for _, missing := range [][]string{nil, {"CAP_BPF"}} {
		if err := patch(invocation{subcommand: "run", bundle: dir}, missing); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(config)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(old) {
			t.Errorf("missing=%q: config.json rewritten", missing)
		}
	}
}

func TestPatchErrors(t *testing.T) {
	dir := t.TempDir()
	missing := []string{"CAP_SYS_RESOURCE"}
	if err := patch(invocation{subcommand: "create", bundle: dir}, missing); err == nil {
		t.Error("absent config.json: want error")
	}
	writeFile(t, filepath.Join(dir, "config.json"), `{"process": {"capabilities": {"bounding": "x"}}}`, 0o600)
	if err := patch(invocation{subcommand: "create", bundle: dir}, missing); err == nil {
		t.Error("malformed config.json: want error")
	}
	if err := patch(invocation{subcommand: "exec", process: filepath.Join(dir, "absent")}, missing); err == nil {
		t.Error("absent process file: want error")
	}
}

func TestFindRunc(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "runc-capfix")
	real := filepath.Join(dir, "real-runc")
	writeFile(t, self, "#!/bin/sh\n", 0o755)
	writeFile(t, real, "#!/bin/sh\n", 0o755)
	link := filepath.Join(dir, "runc")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	absent := filepath.Join(dir, "absent")

	tests := []struct {
		name       string
		override   string
		candidates []string
		want       string
		wantErr    bool
	}{
		{name: "first existing", candidates: []string{absent, real}, want: real},
		{name: "skips itself", candidates: []string{self, real}, want: real},
		{name: "skips a link to itself", candidates: []string{link, real}, want: real},
		{name: "skips directories", candidates: []string{dir, real}, want: real},
		{name: "only itself", candidates: []string{self, link}, wantErr: true},
		{name: "none", candidates: []string{absent}, wantErr: true},
		{name: "override wins", override: real, candidates: []string{self}, want: real},
		{name: "override is itself", override: link, candidates: []string{real}, wantErr: true},
		{name: "override absent", override: absent, candidates: []string{real}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findRunc(tt.override, tt.candidates, self)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProbeExitCode(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := probe(&stdout, &stderr)
	lines := strings.Fields(stdout.String())
	switch {
	case code == 0 && len(lines) == 0, code == 1 && len(lines) > 0:
	case code == 2 && stderr.Len() > 0:
		t.Skipf("no procfs: %s", stderr.String())
	default:
		t.Errorf("exit %d with stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
}
