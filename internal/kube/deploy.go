package kube

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// DeployInput is the course's manifests and where to create them.
type DeployInput struct {
	Resources *resources.Resources
	Namespace string
	Manifests fs.FS
	Pattern   string // e.g. "headless/*.yaml"
	// Images maps an image named in the manifests to the one to run instead (the knob that
	// runs the course's original images, or any server on :8080 and any client that carries
	// dns.Probe).
	Images map[string]string
	// Mutate, when set, changes each object before it is created (a test that breaks the
	// Service on purpose, say).
	Mutate func(k8s.Object)
}

func (in DeployInput) validate() error {
	if in.Resources == nil || in.Namespace == "" || in.Manifests == nil || in.Pattern == "" {
		return fmt.Errorf("DeployInput needs Resources, Namespace, Manifests and Pattern (got %q, %q)", in.Namespace, in.Pattern)
	}
	return nil
}

// Deploy creates every object of the manifests in the namespace.
func Deploy(ctx context.Context, in DeployInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	return decoder.DecodeEachFile(ctx, in.Manifests, in.Pattern, func(ctx context.Context, obj k8s.Object) error {
		obj.SetNamespace(in.Namespace)
		if spec := podSpec(obj); spec != nil {
			for i, c := range spec.Containers {
				if img, ok := in.Images[c.Image]; ok {
					spec.Containers[i].Image = img
				}
			}
		}
		if in.Mutate != nil {
			in.Mutate(obj)
		}
		if err := in.Resources.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
		return nil
	})
}

func podSpec(obj k8s.Object) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *corev1.Pod:
		return &o.Spec
	}
	return nil
}

// WaitStartedInput names pods that must have started again after a moment (a node restart).
type WaitStartedInput struct {
	Client    kubernetes.Interface
	Namespace string
	Pods      []string
	Since     time.Time // every container started at or after this
	Timeout   time.Duration
}

func (in WaitStartedInput) validate() error {
	if in.Client == nil || in.Namespace == "" || len(in.Pods) == 0 || in.Since.IsZero() || in.Timeout <= 0 {
		return fmt.Errorf("WaitStartedInput needs Client, Namespace, Pods, Since and a Timeout > 0 (got %q, %v, %s, %s)", in.Namespace, in.Pods, in.Since, in.Timeout)
	}
	return nil
}

// WaitStartedAfter waits until every named pod is Ready with all its containers started at
// or after Since. After a node restart the API keeps showing the pods' old, Ready status
// until the kubelet has re-synced them, so "Ready" alone would read pre-restart state.
func WaitStartedAfter(ctx context.Context, in WaitStartedInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	c, namespace, pods, since, timeout := in.Client, in.Namespace, in.Pods, in.Since, in.Timeout
	cutoff := since.Truncate(time.Second) // API times have second precision
	return poll.Retry(ctx, poll.Input{What: fmt.Sprintf("pods %v restarted after %s and Ready", pods, since.Format(time.TimeOnly)), Timeout: timeout, Interval: 200 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			var states []string
			done := true
			for _, name := range pods {
				p, err := c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					done = false
					states = append(states, name+": "+err.Error())
					continue
				}
				restarted := len(p.Status.ContainerStatuses) > 0
				for _, cs := range p.Status.ContainerStatuses {
					restarted = restarted && cs.State.Running != nil && !cs.State.Running.StartedAt.Time.Before(cutoff)
				}
				done = done && restarted && headless.PodReady(*p)
				states = append(states, fmt.Sprintf("%s restarted=%v ready=%v ip=%s", name, restarted, headless.PodReady(*p), p.Status.PodIP))
			}
			return done, strings.Join(states, ", "), nil
		})
}
