package kube

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// A manifest that does not parse must fail Deploy before anything reaches a cluster, with an
// error that names the file, so the fix is one edit away. Resources stays nil: decoding comes
// before creating, and a nil Resources would panic if Deploy ever tried to create something.
func TestDeployNamesTheManifestThatDoesNotParse(t *testing.T) {
	for _, tc := range []struct {
		name, file, yaml string
		want             []string // substrings of the error: the file, and where in it
	}{
		{
			name: "unclosed flow sequence",
			file: "headless/service.yaml",
			yaml: "apiVersion: v1\nkind: Service\nmetadata:\n  name: [headless-demo\nspec:\n  clusterIP: None\n",
			want: []string{`failed to decode file "headless/service.yaml"`, "yaml: line 4"},
		},
		{
			name: "tab indentation",
			file: "headless/hello.yaml",
			yaml: "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n\tname: hello-kubernetes\n",
			want: []string{`failed to decode file "headless/hello.yaml"`, "yaml: line 4"},
		},
		{
			name: "a list where an object belongs",
			file: "headless/probe-pod.yaml",
			yaml: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: client\nspec:\n  - containers\n",
			want: []string{`failed to decode file "headless/probe-pod.yaml"`, "Pod.spec"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{tc.file: &fstest.MapFile{Data: []byte(tc.yaml)}}
			err := Deploy(context.Background(), DeployInput{Resources: &resources.Resources{}, Manifests: fsys, Pattern: "headless/*.yaml", Namespace: "ns"})
			if err == nil {
				t.Fatalf("Deploy accepted a manifest that does not parse:\n%s", tc.yaml)
			}
			t.Logf("reported as: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
