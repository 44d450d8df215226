package build

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MirrorEnv overrides the Debian mirror that debootstrap fetches from.
const MirrorEnv = "DEBIAN_MIRROR"

// DebianMirror is the mirror debootstrap uses for suite: $DEBIAN_MIRROR when set, otherwise the
// Debian archive this host's apt already uses: one that serves suite, else one laid out as a
// Debian archive (its path ends in /debian). The repository names no mirror, because the right
// one depends on where the build runs (a proxy, a local cache, a country mirror) and the host's
// apt configuration knows it. "" means none was found (an Ubuntu host, say): debootstrap then
// uses its own default for the suite.
func DebianMirror(aptDir, suite string) string {
	if m := os.Getenv(MirrorEnv); m != "" {
		return m
	}
	files, _ := filepath.Glob(filepath.Join(aptDir, "sources.list"))
	for _, pattern := range []string{"*.list", "*.sources"} {
		more, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", pattern))
		sort.Strings(more)
		files = append(files, more...)
	}
	var sources []source
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.HasSuffix(f, ".sources") {
			sources = append(sources, parseDeb822Sources(string(data))...)
		} else {
			sources = append(sources, parseOneLineSources(string(data))...)
		}
	}
	for _, s := range sources {
		if s.suite == suite {
			return s.uri
		}
	}
	for _, s := range sources {
		if strings.HasSuffix(strings.TrimSuffix(s.uri, "/"), "/debian") && !strings.Contains(s.suite, "-") {
			return s.uri
		}
	}
	return ""
}

// source is one (URI, suite) pair of a "deb" line or stanza.
type source struct{ uri, suite string }

// parseOneLineSources reads the one-line format: "deb [options] uri suite components...".
func parseOneLineSources(text string) []source {
	var out []source
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if len(f) > 0 && strings.HasPrefix(f[0], "[") {
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) >= 2 {
			out = append(out, source{uri: f[0], suite: f[1]})
		}
	}
	return out
}

// parseDeb822Sources reads the deb822 format: stanzas of "Key: value" lines.
func parseDeb822Sources(text string) []source {
	var out []source
	for _, stanza := range strings.Split(text, "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if !strings.Contains(" "+fields["types"]+" ", " deb ") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			for _, suite := range strings.Fields(fields["suites"]) {
				out = append(out, source{uri: uri, suite: suite})
			}
		}
	}
	return out
}
