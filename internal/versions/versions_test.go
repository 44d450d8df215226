package versions

import (
	"strings"
	"testing"

	headlesse2e "github.com/headless-e2e/headless-e2e"
)

func TestLoadEmbeddedFile(t *testing.T) {
	v, err := Load()
	if err != nil {
		t.Fatalf("versions.env does not parse: %v", err)
	}
	if !strings.HasPrefix(v.Kubernetes, "v1.") {
		t.Errorf("KUBERNETES_VERSION = %q, want v1.x.y", v.Kubernetes)
	}
	for _, img := range []string{v.HelloImage, v.ClientImage, v.RouteCNIImage, v.ResolversImage} {
		if strings.HasSuffix(img, ":latest") || !strings.Contains(img, ":") {
			t.Errorf("image %q must carry an explicit tag other than latest", img)
		}
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	full := string(headlesse2e.VersionsEnv)
	for name, tc := range map[string]struct{ input, wantErr string }{
		"unknown key": {full + "\nTYPO_VERSION=1\n", "unknown key TYPO_VERSION"},
		"duplicate":   {full + "\nRUNC_VERSION=v9\n", "RUNC_VERSION set twice"},
		"no equals":   {full + "\nRUNC_VERSION\n", "want KEY=value"},
		"missing key": {strings.Replace(full, "ETCD_VERSION=", "#", 1), "ETCD_VERSION is missing"},
		"empty value": {strings.Replace(full, "ETCD_VERSION=v", "ETCD_VERSION=\n#", 1), "ETCD_VERSION is missing"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestKubeadmImageNames(t *testing.T) {
	v := Versions{Kubernetes: "v1.37.2", CoreDNS: "v1.14.6", Pause: "3.10.2", Etcd: "v3.7.0"}
	got := strings.Join(v.KubeadmImages(), " ")
	for _, want := range []string{
		"registry.k8s.io/kube-proxy:v1.37.2",
		"registry.k8s.io/coredns/coredns:v1.14.6",
		"registry.k8s.io/pause:3.10.2",
		"registry.k8s.io/etcd:3.7.0-0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("KubeadmImages() = %s, missing %s", got, want)
		}
	}
}
