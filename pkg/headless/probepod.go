package headless

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

// DefaultProbeImage is the image a probe pod runs unless told otherwise: headless-e2e's client
// image (versions.env's CLIENT_IMAGE), which carries the probe. `make probe-image` builds
// PROBE_IMAGE, an image that holds nothing but the probe (a static binary); load either into
// the cluster (kind load docker-image IMAGE) or push it to a registry the cluster pulls from.
func DefaultProbeImage() string { return versions.MustLoad().ClientImage }

// ProbePodInput is a pod to ask DNS from, for a suite that has no client pod of its own.
type ProbePodInput struct {
	Client    kubernetes.Interface
	Namespace string
	Image     string        // carries dns.Probe on its PATH; DefaultProbeImage() when empty
	Timeout   time.Duration // until the pod is Ready; DNSTimeout when zero
}

func (in ProbePodInput) validate() error {
	if in.Client == nil || in.Namespace == "" {
		return fmt.Errorf("ProbePodInput needs Client and Namespace (got %q)", in.Namespace)
	}
	return nil
}

// StartProbePod creates a pod that runs the probe idle (`dnsprobe idle`), as Pod Security
// "restricted" allows (non-root, no privilege escalation, no capabilities, read-only root), and
// waits until it is Ready. It returns the pod's name; a pod that cannot start (an image the
// nodes do not have and cannot pull) fails the wait at once, with its events. DeleteProbePod
// removes it.
func StartProbePod(ctx context.Context, in ProbePodInput) (string, error) {
	if err := in.validate(); err != nil {
		return "", err
	}
	if in.Image == "" {
		in.Image = DefaultProbeImage()
	}
	if in.Timeout == 0 {
		in.Timeout = DNSTimeout
	}
	name := "headless-probe-" + rand.String(5)
	pod := probePod(in.Namespace, name, in.Image)
	if _, err := in.Client.CoreV1().Pods(in.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating probe pod %s/%s: %w", in.Namespace, name, err)
	}
	_, err := WaitPodsReady(ctx, WaitPodsInput{Client: in.Client, Namespace: in.Namespace, Selector: ProbeLabel + "=" + name, Count: 1, Timeout: in.Timeout})
	if err != nil {
		return name, fmt.Errorf("probe pod %s (image %s): %w", name, in.Image, err)
	}
	return name, nil
}

// DeleteProbePod deletes a pod StartProbePod made (absent is fine); it does not wait.
func DeleteProbePod(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	zero := int64(0)
	err := client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting probe pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

// ProbeLabel is on every pod StartProbePod makes, its value the pod's name.
const ProbeLabel = "headless-e2e.io/probe"

func probePod(namespace, name, image string) *corev1.Pod {
	no, yes, nobody := false, true, int64(65534)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{
			ProbeLabel: name, "app.kubernetes.io/created-by": "headless-e2e"}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &nobody, RunAsGroup: &nobody,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: ClientContainer, Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{dns.Probe, "idle"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
			}},
		},
	}
}
