package build

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MirrorEnv overrides the Debian mirror that debootstrap fetches from.
const MirrorEnv = "DEBIAN_MIRROR"

// DebianMirror is the mirror debootstrap uses: $DEBIAN_MIRROR when set, otherwise the one this
// host's apt already uses. The repository names no mirror, because the right one depends on
// where the build runs (a corporate proxy, a local cache, a country mirror), and the host's apt
// configuration already knows it.
func DebianMirror(aptDir string) (string, error) {
	if m := os.Getenv(MirrorEnv); m != "" {
		return m, nil
	}
	files, _ := filepath.Glob(filepath.Join(aptDir, "sources.list"))
	for _, pattern := range []string{"*.list", "*.sources"} {
		more, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", pattern))
		sort.Strings(more)
		files = append(files, more...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		parse := parseOneLineSources
		if strings.HasSuffix(f, ".sources") {
			parse = parseDeb822Sources
		}
		if m := parse(string(data)); m != "" {
			return m, nil
		}
	}
	return "", fmt.Errorf("no Debian mirror in %s (sources.list, sources.list.d/*.list, *.sources): set %s to a Debian mirror's URL", aptDir, MirrorEnv)
}

// isMainArchive tells a release's main archive (bookworm, trixie) from its -security,
// -updates and -backports archives, which debootstrap cannot bootstrap from.
func isMainArchive(suite, uri string) bool {
	return !strings.Contains(suite, "-") && !strings.Contains(uri, "security")
}

// parseOneLineSources reads the one-line format: "deb [options] uri suite components...".
func parseOneLineSources(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "deb" && len(f) > 1 && strings.HasPrefix(f[1], "[") {
			for len(f) > 1 && !strings.HasSuffix(f[1], "]") {
				f = append(f[:1], f[2:]...)
			}
			if len(f) > 1 {
				f = append(f[:1], f[2:]...)
			}
		}
		if len(f) >= 3 && f[0] == "deb" && isMainArchive(f[2], f[1]) {
			return f[1]
		}
	}
	return ""
}

// parseDeb822Sources reads the deb822 format: stanzas of "Key: value" lines.
func parseDeb822Sources(text string) string {
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
		uris := strings.Fields(fields["uris"])
		for _, suite := range strings.Fields(fields["suites"]) {
			if len(uris) > 0 && isMainArchive(suite, uris[0]) {
				return uris[0]
			}
		}
	}
	return ""
}
