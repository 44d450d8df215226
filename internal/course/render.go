package course

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// imageLine is a container's image in the manifests, as they are written (one `image: NAME` a
// line): the lab's copy keeps every other byte, comments included, for the learner to read.
var imageLine = regexp.MustCompile(`(?m)^(\s*image:\s*)(\S+)\s*$`)

// eachManifest calls fn with the name and content of each file of fsys matching pattern; no
// file is an error.
func eachManifest(fsys fs.FS, pattern string, fn func(name, data string) error) error {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no manifest matches %s", pattern)
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		if err := fn(f, string(data)); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys are a set's members, sorted.
func sortedKeys(set map[string]bool) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ManifestImages are the images the YAML files of fsys (matching pattern) name, sorted.
func ManifestImages(fsys fs.FS, pattern string) ([]string, error) {
	seen := map[string]bool{}
	err := eachManifest(fsys, pattern, func(_, data string) error {
		for _, m := range imageLine.FindAllStringSubmatch(data, -1) {
			seen[m[2]] = true
		}
		return nil
	})
	return sortedKeys(seen), err
}

// RenderManifests writes the YAML files of fsys (matching pattern) into dir, each image that
// images maps replaced by the one to run: the lab's copy of the course's manifests when
// HELLO_IMAGE or CLIENT_IMAGE differ from the images they name. It returns the replacements
// made ("paulbouwer/hello-kubernetes:1.7 -> headless-e2e/hello:0.1.0"), sorted.
func RenderManifests(fsys fs.FS, pattern, dir string, images map[string]string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	made := map[string]bool{}
	err := eachManifest(fsys, pattern, func(name, data string) error {
		out := imageLine.ReplaceAllStringFunc(data, func(line string) string {
			m := imageLine.FindStringSubmatch(line)
			to, ok := images[m[2]]
			if !ok || to == m[2] {
				return line
			}
			made[m[2]+" -> "+to] = true
			return m[1] + to
		})
		return os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(out), 0o644)
	})
	return sortedKeys(made), err
}
