package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestConflistIPv4(t *testing.T) {
	b, err := Conflist([]string{"10.244.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	want := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "routecni",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    float64(1500),
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
					"ranges":  []any{[]any{map[string]any{"subnet": "10.244.1.0/24"}}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s", b)
	}
}

func TestConflistDualStack(t *testing.T) {
	b, err := Conflist([]string{"10.244.1.0/24", "fd00:10:244:1::/64"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Plugins []struct {
			IPAM struct {
				Routes []struct{ Dst string }
				Ranges [][]struct{ Subnet string }
			}
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	ipam := got.Plugins[0].IPAM
	if len(ipam.Ranges) != 2 || ipam.Ranges[1][0].Subnet != "fd00:10:244:1::/64" {
		t.Errorf("ranges: %+v", ipam.Ranges)
	}
	if len(ipam.Routes) != 2 || ipam.Routes[0].Dst != "0.0.0.0/0" || ipam.Routes[1].Dst != "::/0" {
		t.Errorf("routes: %+v", ipam.Routes)
	}
}

func TestConflistErrors(t *testing.T) {
	for _, cidrs := range [][]string{
		nil,
		{"garbage"},
		{"10.244.1.0"},
		{"10.244.1.0/33"},
		{"10.244.1.5/24"}, // host bits set
		{"10.244.1.0/24", ""},
		{"10.244.1.0/24", "10.244.1.0/24"},
	} {
		if b, err := Conflist(cidrs); err == nil {
			t.Errorf("Conflist(%q) = %s, want error", cidrs, b)
		}
	}
}

func TestConflistDeterministic(t *testing.T) {
	a, _ := Conflist([]string{"10.244.2.0/24"})
	b, _ := Conflist([]string{"10.244.2.0/24"})
	if string(a) != string(b) {
		t.Error("same input rendered differently; writeFileIfChanged would rewrite every time")
	}
}

func TestWriteFileIfChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "10-routecni.conflist")

	wrote, err := writeFileIfChanged(path, []byte("one"))
	if err != nil || !wrote {
		t.Fatalf("first write: wrote=%v err=%v", wrote, err)
	}
	st1, _ := os.Stat(path)
	if st1.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st1.Mode().Perm())
	}
	wrote, err = writeFileIfChanged(path, []byte("one"))
	if err != nil || wrote {
		t.Fatalf("same content: wrote=%v err=%v", wrote, err)
	}
	wrote, err = writeFileIfChanged(path, []byte("two"))
	if err != nil || !wrote {
		t.Fatalf("new content: wrote=%v err=%v", wrote, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftover temp files: %v", entries)
	}
}

func TestWriteFileIfChangedMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "x.conflist")
	if _, err := writeFileIfChanged(path, []byte("x")); err == nil {
		t.Error("want error for missing directory")
	}
}
