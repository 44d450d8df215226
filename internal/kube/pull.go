package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// PullInput is an image to try on a cluster the suite did not create (USE_EXISTING_CLUSTER),
// whose nodes get images from wherever their runtime pulls: nothing else says whether they can.
type PullInput struct {
	Client    kubernetes.Interface
	Namespace string // Pod Security "restricted" allows the pod
	Image     string
	Timeout   time.Duration // a pull of a few hundred MB over a slow link: minutes
}

func (in PullInput) validate() error {
	if in.Client == nil || in.Namespace == "" || in.Image == "" || in.Timeout <= 0 {
		return fmt.Errorf("PullInput needs Client, Namespace, Image and a Timeout > 0 (got %q, %q, %s)", in.Namespace, in.Image, in.Timeout)
	}
	return nil
}

// ErrCannotPull means the cluster's nodes neither have an image nor can pull it.
var ErrCannotPull = errors.New("the cluster cannot pull the image")

// pullFailures are the kubelet's reasons for a container waiting on an image it cannot get
// (k8s.io/kubernetes/pkg/kubelet/images/types.go); none heals by waiting but a back-off retry
// of the same failure.
var pullFailures = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true}

// CheckPullable runs a pod of the image whose command does not exist, and reads how its
// container fails: a pull failure (ErrCannotPull, with the kubelet's message), or any other
// state (it could not start the command, or, for an image that runs as root, refused to) once
// the image is on the node. The pod is deleted either way.
func CheckPullable(ctx context.Context, in PullInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	no, yes, nobody := false, true, int64(65534)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pull-check-", Namespace: in.Namespace, Labels: map[string]string{"app.kubernetes.io/created-by": "headless-e2e"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &nobody,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "pull", Image: in.Image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"/headless-e2e-pull-check-only"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	pods := in.Client.CoreV1().Pods(in.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating a pod of %s: %w", in.Image, err)
	}
	defer func() {
		zero := int64(0)
		_ = pods.Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}()
	return poll.Retry(ctx, poll.Input{What: "the nodes to have image " + in.Image, Timeout: in.Timeout, Interval: time.Second}, func(ctx context.Context) (bool, string, error) {
		p, err := pods.Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return pullState(p)
	})
}

// pullState judges a pod of CheckPullable: done once its container is past the image.
func pullState(p *corev1.Pod) (bool, string, error) {
	if len(p.Status.ContainerStatuses) == 0 {
		return false, fmt.Sprintf("pod %s %s, no container status yet", p.Name, p.Status.Phase), nil
	}
	st := p.Status.ContainerStatuses[0].State
	if w := st.Waiting; w != nil {
		if pullFailures[w.Reason] {
			return false, "", poll.Stop(fmt.Errorf("%w: %s: %s", ErrCannotPull, w.Reason, w.Message))
		}
		if w.Reason == "ContainerCreating" || w.Reason == "" {
			return false, fmt.Sprintf("pod %s: container waiting (%s)", p.Name, w.Reason), nil
		}
	}
	return true, "", nil // the image is there: the container ran, failed to start, or was refused
}
