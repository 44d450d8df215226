package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// A pod artifact is valid YAML whatever its report holds: every line of a multi-line report
// (events, log lines) is a comment, so the file still parses as the pod.
func TestPodArtifactIsValidYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod-p.yaml")
	report := "  events of pod p:\n    Warning BackOff x3: Back-off restarting failed container\n  last log lines of container c (previous run: true):\n    boom: config: missing\n"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	if err := writeYAML(path, pod, report); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back corev1.Pod
	if err := yaml.UnmarshalStrict(data, &back); err != nil || back.Name != "p" {
		t.Fatalf("%s does not parse as the pod (%v):\n%s", path, err, data)
	}
	if !strings.Contains(string(data), "#     boom: config: missing") {
		t.Fatalf("the report's lines are not kept as comments:\n%s", data)
	}
}
