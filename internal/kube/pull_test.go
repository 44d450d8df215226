package kube

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

func TestPullStateTellsAPullFailureFromAnImageThatIsThere(t *testing.T) {
	waiting := func(reason, msg string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}}}
	}
	for _, reason := range []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"} {
		done, _, err := pullState(waiting(reason, "pull access denied for headless-e2e/resolvers"))
		if done || !poll.IsStop(err) || !errors.Is(err, ErrCannotPull) || !strings.Contains(err.Error(), reason+": pull access denied") {
			t.Errorf("%s: done %v, err %v; want a Stop ErrCannotPull naming the reason and the kubelet's message", reason, done, err)
		}
	}
	for _, reason := range []string{"ContainerCreating", ""} {
		if done, state, err := pullState(waiting(reason, "")); done || err != nil || state == "" {
			t.Errorf("%q: done %v, state %q, err %v; want to go on waiting, saying so", reason, done, state, err)
		}
	}
	if done, _, err := pullState(&corev1.Pod{}); done || err != nil {
		t.Errorf("no status yet: done %v, err %v; want to wait", done, err)
	}
	// Past the pull: the command does not exist, or an image running as root is refused.
	for _, p := range []*corev1.Pod{
		waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root"),
		waiting("RunContainerError", "exec: \"/headless-e2e-pull-check-only\": no such file"),
		{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError"}}}}}},
	} {
		if done, _, err := pullState(p); !done || err != nil {
			t.Errorf("%+v: done %v, err %v; want done: the image is on the node", p.Status.ContainerStatuses[0].State, done, err)
		}
	}
}
