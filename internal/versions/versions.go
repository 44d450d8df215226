// Package versions parses versions.env, the project's one source of versions and image names,
// and derives the names that follow from it (the node image tag, the kubeadm image names).
package versions

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	headlesse2e "github.com/headless-e2e/headless-e2e"
)

// Versions mirrors versions.env. Every field is required: a missing or empty key is an error,
// because a silently empty version would build something nobody pinned.
type Versions struct {
	Kubernetes string `env:"KUBERNETES_VERSION"`
	Containerd string `env:"CONTAINERD_VERSION"`
	Runc       string `env:"RUNC_VERSION"`
	Crictl     string `env:"CRICTL_VERSION"`
	CNIPlugins string `env:"CNI_PLUGINS_VERSION"`
	Etcd       string `env:"ETCD_VERSION"`
	CoreDNS    string `env:"COREDNS_VERSION"`
	Pause      string `env:"PAUSE_VERSION"`

	DebianSuite   string `env:"DEBIAN_SUITE"`
	MuslNextSuite string `env:"MUSL_NEXT_SUITE"`

	NodeImageRepo  string `env:"NODE_IMAGE_REPO"`
	HelloImage     string `env:"HELLO_IMAGE"`
	ClientImage    string `env:"CLIENT_IMAGE"`
	RouteCNIImage  string `env:"ROUTECNI_IMAGE"`
	ResolversImage string `env:"RESOLVERS_IMAGE"`
	ProbeImage     string `env:"PROBE_IMAGE"`

	CourseHelloImage  string `env:"COURSE_HELLO_IMAGE"`
	CourseClientImage string `env:"COURSE_CLIENT_IMAGE"`

	DefaultClusterName string `env:"DEFAULT_CLUSTER_NAME"`
	DefaultArtifacts   string `env:"DEFAULT_ARTIFACTS"`

	Gotestsum  string `env:"GOTESTSUM_VERSION"`
	Actionlint string `env:"ACTIONLINT_VERSION"`
}

// Load returns the versions embedded from versions.env.
func Load() (Versions, error) {
	return Parse(headlesse2e.VersionsEnv)
}

// MustLoad is Load for callers that cannot go on without versions (main packages, TestMain).
func MustLoad() Versions {
	v, err := Load()
	if err != nil {
		panic(err)
	}
	return v
}

// Parse reads KEY=value lines; blank lines and # comments are skipped. Unknown keys are
// errors so that a typo in versions.env cannot go unnoticed.
func Parse(data []byte) (Versions, error) {
	var v Versions
	fields := map[string]reflect.Value{}
	rv := reflect.ValueOf(&v).Elem()
	for i := 0; i < rv.NumField(); i++ {
		fields[rv.Type().Field(i).Tag.Get("env")] = rv.Field(i)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return Versions{}, fmt.Errorf("versions.env:%d: want KEY=value, got %q", n, line)
		}
		f, known := fields[key]
		if !known {
			return Versions{}, fmt.Errorf("versions.env:%d: unknown key %s", n, key)
		}
		if seen[key] {
			return Versions{}, fmt.Errorf("versions.env:%d: %s set twice", n, key)
		}
		seen[key] = true
		f.SetString(value)
	}
	for key, f := range fields {
		if f.String() == "" {
			return Versions{}, fmt.Errorf("versions.env: %s is missing or empty", key)
		}
	}
	return v, nil
}

// NodeImage is the tag of the locally built kind node image.
func (v Versions) NodeImage() string { return v.NodeImageRepo + ":" + v.Kubernetes }

// KubeadmImages are the images kubeadm pulls for this Kubernetes version, under the exact
// names `kubeadm config images list` prints, so that the preloaded copies are found and
// nothing is pulled. etcd's tag carries kubeadm's "-0" revision suffix.
func (v Versions) KubeadmImages() []string {
	const reg = "registry.k8s.io/"
	return []string{
		reg + "kube-apiserver:" + v.Kubernetes,
		reg + "kube-controller-manager:" + v.Kubernetes,
		reg + "kube-scheduler:" + v.Kubernetes,
		reg + "kube-proxy:" + v.Kubernetes,
		reg + "coredns/coredns:" + v.CoreDNS,
		reg + "pause:" + v.Pause,
		reg + "etcd:" + strings.TrimPrefix(v.Etcd, "v") + "-0",
	}
}

// CacheDir is where the project keeps what outlives a run: build stages, private kubeconfigs.
// $HEADLESS_E2E_CACHE overrides it; scripts/lib.sh computes the same default for the scripts
// that run before any Go does (docker-up.sh).
func CacheDir() string {
	if d := os.Getenv("HEADLESS_E2E_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "headless-e2e")
}
