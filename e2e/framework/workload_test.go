package framework

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
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
			err := Deploy(context.Background(), DeployInput{Manifests: fsys, Pattern: "headless/*.yaml", Namespace: "ns"})
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

// A crash loop must stop the wait whichever of its states a poll happens to see: the kubelet
// says CrashLoopBackOff only around each restart, Terminated (Error) for most of the back-off,
// and Running for the instant the container runs.
func TestStuckSeesACrashLoopInEveryState(t *testing.T) {
	failed := &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}
	for _, tc := range []struct {
		name  string
		state corev1.ContainerStatus
		want  string // "" means not stuck
	}{
		{"starting", corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}, ""},
		{"running", corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, ""},
		{"ended once", corev1.ContainerStatus{State: corev1.ContainerState{Terminated: failed}}, ""},
		{"restarted once, running", corev1.ContainerStatus{RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, LastTerminationState: corev1.ContainerState{Terminated: failed}}, ""},
		{"ended again after a restart", corev1.ContainerStatus{RestartCount: 1, State: corev1.ContainerState{Terminated: failed}}, "CrashLoopBackOff (container c has ended 2 times, last with exit code 1, reason Error)"},
		{"restarted twice, running for an instant", corev1.ContainerStatus{RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, LastTerminationState: corev1.ContainerState{Terminated: failed}}, "CrashLoopBackOff (container c has ended 2 times, last with exit code 1, reason Error)"},
		{"the kubelet says it", corev1.ContainerStatus{RestartCount: 1, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}}}, "CrashLoopBackOff (container c: back-off 10s)"},
		{"image pull", corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}}}, "ErrImagePull (container c: not found)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.state.Name = "c"
			if got := stuck(corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{tc.state}}}); got != tc.want {
				t.Errorf("stuck = %q, want %q", got, tc.want)
			}
		})
	}
}
