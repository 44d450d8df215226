package headless

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

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
			if got := StuckReason(corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{tc.state}}}); got != tc.want {
				t.Errorf("stuck = %q, want %q", got, tc.want)
			}
		})
	}
}
