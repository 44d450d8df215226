package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDebianMirror(t *testing.T) {
	// Hosts under example.org: documentation names, never contacted.
	cases := []struct {
		name, file, text, want string
	}{
		{"deb822, the suite's own archive, not security", "sources.list.d/debian.sources",
			"Types: deb\nURIs: http://security.example.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
				"Types: deb\n# a comment: with a colon\nURIs: http://mirror.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n", "http://mirror.example.org/debian"},
		{"deb822, disabled stanza skipped", "sources.list.d/debian.sources",
			"Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb-src deb\nURIs: http://on.example.org/debian\nSuites: bookworm\n", "http://on.example.org/debian"},
		{"one-line with options", "sources.list",
			"# deb http://commented.example.org/debian bookworm main\ndeb-src http://src.example.org/debian bookworm main\n" +
				"deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian bookworm main\n", "http://mirror.example.org/debian"},
		{"a trixie host: its Debian archive serves bookworm too", "sources.list",
			"deb http://mirror.example.org/debian trixie main\n", "http://mirror.example.org/debian"},
		{"an Ubuntu host: no Debian archive, debootstrap's own default", "sources.list.d/ubuntu.sources",
			"Types: deb\nURIs: http://archive.example.org/ubuntu\nSuites: noble noble-updates\nComponents: main\n", ""},
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
			if got := DebianMirror(dir, "bookworm"); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	t.Run("the variable overrides apt", func(t *testing.T) {
		t.Setenv(MirrorEnv, "http://override.example.org/debian")
		if got := DebianMirror(t.TempDir(), "bookworm"); got != "http://override.example.org/debian" {
			t.Fatalf("got %q", got)
		}
	})
}
