package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"text/template"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

const testImage = "example.test/routecni:0.0.1-test"

func readManifest(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("default-cni.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func renderManifest(t *testing.T) []byte {
	t.Helper()
	tmpl, err := template.New("default-cni.yaml").Option("missingkey=error").Parse(readManifest(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ Image string }{testImage}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func decodeManifest(t *testing.T, b []byte) []runtime.Object {
	t.Helper()
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var objs []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue // the leading comment block
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func TestManifestMarkers(t *testing.T) {
	m := readManifest(t)
	if !strings.Contains(m, "# would you kindly patch this file") {
		t.Error("missing kind's patch marker: CONTROL_PLANE_ENDPOINT would not be injected")
	}
	if strings.Contains(m, "would you kindly template this file") {
		t.Error("contains kind's template marker: kind would run it through its own template with no Image")
	}
	// Our build renders the file with text/template; any other action would
	// be silently evaluated there.
	if n := strings.Count(m, "{{"); n != 1 {
		t.Errorf("%d template actions, want exactly 1 (the image)", n)
	}
	if !strings.Contains(m, "\n        image: {{ .Image }}\n") {
		t.Error("image line is not exactly `image: {{ .Image }}`")
	}
}

func TestManifestDecodes(t *testing.T) {
	objs := decodeManifest(t, renderManifest(t))
	var (
		ds    *appsv1.DaemonSet
		role  *rbacv1.ClusterRole
		kinds []string
	)
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.DaemonSet:
			ds = o
		case *rbacv1.ClusterRole:
			role = o
		}
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if want := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}

	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"nodes"}) ||
		!slices.Equal(role.Rules[0].APIGroups, []string{""}) {
		t.Errorf("ClusterRole rules %+v, want nodes in the core group only", role.Rules)
	}
	verbs := slices.Sorted(slices.Values(role.Rules[0].Verbs))
	if !slices.Equal(verbs, []string{"get", "list", "watch"}) {
		t.Errorf("verbs %v", verbs)
	}

	if ds.Namespace != "kube-system" {
		t.Errorf("namespace %q", ds.Namespace)
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork {
		t.Error("hostNetwork must be true")
	}
	if spec.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName %q", spec.PriorityClassName)
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists || spec.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v, want a single operator: Exists", spec.Tolerations)
	}
	if len(spec.Containers) == 0 {
		t.Fatal("no containers")
	}
	c := spec.Containers[0]
	if c.Image != testImage {
		t.Errorf("image %q, want %q", c.Image, testImage)
	}
	if c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("imagePullPolicy %q, want Never", c.ImagePullPolicy)
	}
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "NODE_NAME" })
	if i < 0 {
		t.Fatalf("env %+v has no NODE_NAME", c.Env)
	}
	if f := c.Env[i].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME not from fieldRef spec.nodeName: %+v", c.Env[i])
	}
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no securityContext capabilities")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("must not be privileged")
	}
	caps := slices.Sorted(slices.Values(sc.Capabilities.Add))
	if !slices.Equal(caps, []corev1.Capability{"NET_ADMIN", "NET_RAW"}) {
		t.Errorf("capabilities add %v, want NET_ADMIN and NET_RAW only", caps)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests missing: %v", c.Resources.Requests)
	}
	vi := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.HostPath != nil && v.HostPath.Path == "/etc/cni/net.d" })
	if vi < 0 {
		t.Fatal("no hostPath volume for /etc/cni/net.d")
	}
	if tp := spec.Volumes[vi].HostPath.Type; tp == nil || *tp != corev1.HostPathDirectoryOrCreate {
		t.Errorf("hostPath type %v, want DirectoryOrCreate", tp)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == spec.Volumes[vi].Name && m.MountPath == "/etc/cni/net.d"
	}) {
		t.Errorf("volume %q not mounted at /etc/cni/net.d: %+v", spec.Volumes[vi].Name, c.VolumeMounts)
	}
}

// TestManifestTakesKindPatch applies the very JSON patch kind v0.33 applies
// (installcni/cni.go), which fails if the first container has no env list.
func TestManifestTakesKindPatch(t *testing.T) {
	var ds *appsv1.DaemonSet
	for _, o := range decodeManifest(t, renderManifest(t)) {
		if d, ok := o.(*appsv1.DaemonSet); ok {
			ds = d
		}
	}
	if ds == nil {
		t.Fatal("no DaemonSet")
	}
	doc, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := jsonpatch.DecodePatch([]byte(`[{"op":"add","path":"/spec/template/spec/containers/0/env/-",` +
		`"value":{"name":"CONTROL_PLANE_ENDPOINT","value":"kind-control-plane:6443"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	patched, err := patch.Apply(doc)
	if err != nil {
		t.Fatalf("kind's patch does not apply: %v", err)
	}
	var out appsv1.DaemonSet
	if err := json.Unmarshal(patched, &out); err != nil {
		t.Fatal(err)
	}
	env := out.Spec.Template.Spec.Containers[0].Env
	if last := env[len(env)-1]; last.Name != "CONTROL_PLANE_ENDPOINT" || last.Value != "kind-control-plane:6443" {
		t.Errorf("env after patch: %+v", env)
	}
}
