package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDebianMirror(t *testing.T) {
	// Addresses from 192.0.2.0/24 (TEST-NET-1, reserved for documentation), never contacted.
	cases := []struct {
		name, file, text, want string
	}{
		{"deb822, the suite's own archive, not security", "sources.list.d/debian.sources",
			"Types: deb\nURIs: http://192.0.2.1/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
				"Types: deb\n# a comment: with a colon\nURIs: http://192.0.2.2/debian\nSuites: bookworm bookworm-updates\nComponents: main\n", "http://192.0.2.2/debian"},
		{"deb822, disabled stanza skipped", "sources.list.d/debian.sources",
			"Types: deb\nURIs: http://192.0.2.3/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb-src deb\nURIs: http://192.0.2.4/debian\nSuites: bookworm\n", "http://192.0.2.4/debian"},
		{"one-line with options", "sources.list",
			"# deb http://192.0.2.5/debian bookworm main\ndeb-src http://192.0.2.6/debian bookworm main\n" +
				"deb [arch=amd64 signed-by=/k.gpg] http://192.0.2.2/debian bookworm main\n", "http://192.0.2.2/debian"},
		{"a trixie host: its Debian archive serves bookworm too", "sources.list",
			"deb http://192.0.2.2/debian trixie main\n", "http://192.0.2.2/debian"},
		{"an Ubuntu host: no Debian archive, debootstrap's own default", "sources.list.d/ubuntu.sources",
			"Types: deb\nURIs: http://192.0.2.7/ubuntu\nSuites: noble noble-updates\nComponents: main\n", ""},
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
		t.Setenv(MirrorEnv, "http://192.0.2.8/debian")
		if got := DebianMirror(t.TempDir(), "bookworm"); got != "http://192.0.2.8/debian" {
			t.Fatalf("got %q", got)
		}
	})
}
