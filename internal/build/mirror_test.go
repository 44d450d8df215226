package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebianMirror(t *testing.T) {
	// Addresses under example.org: documentation names, never contacted.
	cases := []struct {
		name, file, text, want string
	}{
		{"deb822, security stanza first", "sources.list.d/debian.sources",
			"Types: deb\nURIs: http://security.example.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
				"Types: deb\n# a comment: with a colon\nURIs: http://mirror.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n", "http://mirror.example.org/debian"},
		{"deb822, disabled stanza skipped", "sources.list.d/debian.sources",
			"Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb-src deb\nURIs: http://on.example.org/debian\nSuites: trixie\n", "http://on.example.org/debian"},
		{"one-line with options", "sources.list",
			"# deb http://commented.example.org/debian bookworm main\ndeb-src http://src.example.org/debian bookworm main\n" +
				"deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian bookworm main\n", "http://mirror.example.org/debian"},
		{"only updates archives", "sources.list", "deb http://mirror.example.org/debian bookworm-updates main\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(MirrorEnv, "")
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := DebianMirror(dir)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), "set DEBIAN_MIRROR") {
					t.Fatalf("want an error naming DEBIAN_MIRROR, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	t.Run("the variable overrides apt", func(t *testing.T) {
		t.Setenv(MirrorEnv, "http://override.example.org/debian")
		if got, err := DebianMirror(t.TempDir()); err != nil || got != "http://override.example.org/debian" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}
