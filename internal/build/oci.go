package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Images are assembled in Go from layers, not with `docker build`: no base image has to be
// pulled, the result does not depend on the host's builder, and the archives are exactly what
// `docker load` and `ctr images import` take.

// LayerFile is one entry of a layer built from files.
type LayerFile struct {
	Path string // absolute path inside the image
	Mode int64
	Src  string // read from this file, unless Data or Link is set
	Data []byte
	Link string // makes a symlink
}

// FilesLayer builds a gzip layer holding files and their parent directories.
func FilesLayer(files []LayerFile) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		clean := strings.TrimPrefix(path.Clean(f.Path), "/")
		for d := path.Dir(clean); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		name := strings.TrimPrefix(path.Clean(f.Path), "/")
		if f.Link != "" {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: f.Link, Mode: 0o777}); err != nil {
				return nil, err
			}
			continue
		}
		data := f.Data
		if data == nil {
			var err error
			if data, err = os.ReadFile(f.Src); err != nil {
				return nil, fmt.Errorf("layer file %s: %w", f.Path, err)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: f.Mode, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithCompressionLevel(gzip.BestSpeed))
}

// TarLayer makes a layer of an existing tar file, such as a debootstrap root filesystem.
func TarLayer(tarPath string) (v1.Layer, error) {
	return tarball.LayerFromFile(tarPath, tarball.WithCompressionLevel(gzip.BestSpeed))
}

// Image stacks layers under cfg for this machine's platform.
func Image(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	return mutate.ConfigFile(img, cf)
}

// WriteArchive writes images under their tags as one docker-archive tarball, which both
// `docker load` and containerd's `ctr images import` read.
func WriteArchive(w io.Writer, images map[string]v1.Image) error {
	refs := map[name.Reference]v1.Image{}
	for tag, img := range images {
		t, err := name.NewTag(tag)
		if err != nil {
			return fmt.Errorf("image name %q: %w", tag, err)
		}
		refs[t] = img
	}
	return tarball.MultiRefWrite(refs, w)
}
