package capfix

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const statusSample = `Name:	cat
Umask:	0022
State:	R (running)
CapInh:	0000000000000000
CapPrm:	0000000000000000
CapEff:	0000000000000000
CapBnd:	000001fffeffffff
CapAmb:	0000000000000000
NoNewPrivs:	0
`

func TestParseBoundingSet(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    uint64
		wantErr bool
	}{
		{name: "this VM", status: statusSample, want: 0x000001fffeffffff},
		{name: "full set", status: "CapBnd:\t000001ffffffffff\n", want: 0x000001ffffffffff},
		{name: "no CapBnd line", status: "Name:\tcat\nCapEff:\t0000000000000000\n", wantErr: true},
		{name: "not hex", status: "CapBnd:\tzzzz\n", wantErr: true},
		{name: "empty value", status: "CapBnd:\t\n", wantErr: true},
		{name: "empty input", status: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBoundingSet(tt.status)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	tests := []struct {
		name     string
		bounding uint64
		lastCap  int
		want     []string
	}{
		{name: "this VM", bounding: 0x000001fffeffffff, lastCap: 40, want: []string{"CAP_SYS_RESOURCE"}},
		{name: "full set", bounding: 0x000001ffffffffff, lastCap: 40, want: nil},
		{name: "bits beyond lastCap are ignored", bounding: 0x000000ffffffffff, lastCap: 39, want: nil},
		{name: "older kernel without 39 and 40", bounding: 0x0000003fffffffff, lastCap: 37, want: nil},
		{name: "first and last", bounding: 0x000000fffffffffe, lastCap: 40, want: []string{"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"}},
		{name: "unknown numbers", bounding: 0x000001ffffffffff, lastCap: 42, want: []string{"CAP_41", "CAP_42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Missing(tt.bounding, tt.lastCap); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Missing(%#x, %d) = %q, want %q", tt.bounding, tt.lastCap, got, tt.want)
			}
		})
	}
}

func TestNameTable(t *testing.T) {
	for n, want := range map[int]string{
		0: "CAP_CHOWN", 12: "CAP_NET_ADMIN", 21: "CAP_SYS_ADMIN", 24: "CAP_SYS_RESOURCE",
		31: "CAP_SETFCAP", 37: "CAP_AUDIT_READ", 38: "CAP_PERFMON", 39: "CAP_BPF", 40: "CAP_CHECKPOINT_RESTORE",
	} {
		if got := Name(n); got != want {
			t.Errorf("Name(%d) = %q, want %q", n, got, want)
		}
	}
	seen := map[string]bool{}
	for _, n := range capNames {
		if seen[n] {
			t.Errorf("duplicate name %s", n)
		}
		seen[n] = true
	}
	if len(capNames) != 41 {
		t.Errorf("table has %d names, want 41", len(capNames))
	}
}

func TestProbeFiles(t *testing.T) {
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	lastCap := filepath.Join(dir, "cap_last_cap")
	if err := os.WriteFile(status, []byte(statusSample), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lastCap, []byte("40\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := probeFiles(status, lastCap)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CAP_SYS_RESOURCE"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := os.WriteFile(lastCap, []byte("forty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := probeFiles(status, lastCap); err == nil {
		t.Error("malformed cap_last_cap: want error")
	}
	if _, err := probeFiles(filepath.Join(dir, "absent"), lastCap); err == nil {
		t.Error("absent status: want error")
	}
}

// TestProbeLive only checks that the live host is readable; its answer
// depends on the machine.
func TestProbeLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no procfs")
	}
	missing, err := Probe()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("missing on this host: %q", missing)
}

const configJSON = `{
  "ociVersion": "1.0.2-dev",
  "x-unknown": {"keep": [1, 2, {"deep": true}], "big": 18446744073709551615},
  "process": {
    "terminal": false,
    "args": ["sh", "-c", "echo a && echo b > /tmp/x"],
    "x-process-extra": "kept",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "effective": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "permitted": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "inheritable": ["CAP_SYS_RESOURCE"],
      "x-future-set": ["CAP_SYS_RESOURCE"]
    }
  },
  "linux": {"resources": {"memory": {"limit": 9223372036854775807}}}
}`

const processJSON = `{
  "user": {"uid": 0, "gid": 0},
  "args": ["bash"],
  "env": ["PATH=/usr/bin"],
  "cwd": "/",
  "capabilities": {
    "bounding": ["CAP_SYS_RESOURCE", "CAP_NET_ADMIN"],
    "effective": ["CAP_NET_ADMIN", "CAP_SYS_RESOURCE"],
    "permitted": ["CAP_NET_ADMIN"],
    "ambient": ["CAP_SYS_RESOURCE"]
  },
  "apparmorProfile": "unconfined",
  "x-unknown": null
}`

var dropSysResource = map[string]bool{"CAP_SYS_RESOURCE": true}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func TestStripCapabilities(t *testing.T) {
	tests := []struct {
		name        string
		doc         string
		path        []string
		drop        map[string]bool
		wantChanged bool
		// want is doc as it should read after stripping, compared structurally.
		want string
	}{
		{
			name:        "config.json shape",
			doc:         configJSON,
			path:        ConfigPath,
			drop:        dropSysResource,
			wantChanged: true,
			want: `{
  "ociVersion": "1.0.2-dev",
  "x-unknown": {"keep": [1, 2, {"deep": true}], "big": 18446744073709551615},
  "process": {
    "terminal": false,
    "args": ["sh", "-c", "echo a && echo b > /tmp/x"],
    "x-process-extra": "kept",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
      "effective": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
      "permitted": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
      "inheritable": [],
      "x-future-set": ["CAP_SYS_RESOURCE"]
    }
  },
  "linux": {"resources": {"memory": {"limit": 9223372036854775807}}}
}`,
		},
		{
			name:        "process.json shape",
			doc:         processJSON,
			path:        ProcessPath,
			drop:        dropSysResource,
			wantChanged: true,
			want: `{
  "user": {"uid": 0, "gid": 0},
  "args": ["bash"],
  "env": ["PATH=/usr/bin"],
  "cwd": "/",
  "capabilities": {
    "bounding": ["CAP_NET_ADMIN"],
    "effective": ["CAP_NET_ADMIN"],
    "permitted": ["CAP_NET_ADMIN"],
    "ambient": []
  },
  "apparmorProfile": "unconfined",
  "x-unknown": null
}`,
		},
		{name: "nothing to drop", doc: configJSON, path: ConfigPath, drop: nil},
		{name: "dropped caps not present", doc: processJSON, path: ProcessPath, drop: map[string]bool{"CAP_BPF": true}},
		{name: "no capabilities object", doc: `{"process": {"args": ["sh"]}}`, path: ConfigPath, drop: dropSysResource},
		{name: "no process object", doc: `{"ociVersion": "1.0.2"}`, path: ConfigPath, drop: dropSysResource},
		{name: "null process", doc: `{"process": null}`, path: ConfigPath, drop: dropSysResource},
		{name: "null set", doc: `{"capabilities": {"bounding": null}}`, path: ProcessPath, drop: dropSysResource},
		{name: "wrong path for shape", doc: processJSON, path: ConfigPath, drop: dropSysResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := StripCapabilities([]byte(tt.doc), tt.path, tt.drop)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Fatalf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if !changed {
				if !bytes.Equal(got, []byte(tt.doc)) {
					t.Errorf("unchanged document was rewritten:\n%s", got)
				}
				return
			}
			if g, w := decode(t, got), decode(t, []byte(tt.want)); !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// Shell metacharacters in process args must not come back \u-escaped.
			if bytes.Contains(got, []byte(`\u0026`)) || bytes.Contains(got, []byte(`\u003e`)) {
				t.Errorf("HTML-escaped output: %s", got)
			}
		})
	}
}

func TestStripCapabilitiesErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path []string
	}{
		{name: "not JSON", doc: `{"process":`, path: ConfigPath},
		{name: "process not an object", doc: `{"process": "sh"}`, path: ConfigPath},
		{name: "set not a list", doc: `{"capabilities": {"bounding": "CAP_CHOWN"}}`, path: ProcessPath},
		{name: "set of numbers", doc: `{"capabilities": {"bounding": [24]}}`, path: ProcessPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := StripCapabilities([]byte(tt.doc), tt.path, dropSysResource)
			if err == nil {
				t.Fatalf("want error, got %s (changed=%v)", got, changed)
			}
			if changed {
				t.Error("changed must be false on error")
			}
		})
	}
}
