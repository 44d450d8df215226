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

// ManifestImages are the images the YAML files of fsys (matching pattern) name, sorted.
func ManifestImages(fsys fs.FS, pattern string) ([]string, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		for _, m := range imageLine.FindAllStringSubmatch(string(data), -1) {
			seen[m[2]] = true
		}
	}
	var images []string
	for img := range seen {
		images = append(images, img)
	}
	sort.Strings(images)
	return images, nil
}

// RenderManifests writes the YAML files of fsys (matching pattern) into dir, each image that
// images maps replaced by the one to run: the lab's copy of the course's manifests when
// HELLO_IMAGE or CLIENT_IMAGE differ from the images they name. It returns the replacements
// made ("paulbouwer/hello-kubernetes:1.7 -> headless-e2e/hello:0.1.0"), sorted.
func RenderManifests(fsys fs.FS, pattern, dir string, images map[string]string) ([]string, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no manifest matches %s", pattern)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		out := imageLine.ReplaceAllStringFunc(string(data), func(line string) string {
			m := imageLine.FindStringSubmatch(line)
			to, ok := images[m[2]]
			if !ok || to == m[2] {
				return line
			}
			done[m[2]+" -> "+to] = true
			return m[1] + to
		})
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(out), 0o644); err != nil {
			return nil, err
		}
	}
	var made []string
	for r := range done {
		made = append(made, r)
	}
	sort.Strings(made)
	return made, nil
}
