package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// Bad input a learner or a knob can produce: an image that is not there (a typo in
// HELLO_IMAGE, an image never built or loaded) and a program that exits at start. Waiting for
// such a pod must fail at once with the cause (the pull error, the crash's last log line) and
// the pod's events, instead of waiting out its deadline and reporting "not Ready".
const (
	missingImage = "headless-e2e/does-not-exist:0.0.0"
	crashLine    = "boom: config missing"
)

func TestBadInputPodsFailTheWaitWithTheirCause(t *testing.T) {
	t.Parallel()
	// The course's hello template, so both pods pass Pod Security "restricted" and only the
	// image or the command is wrong. Its readiness probe matters for the crash: a container
	// without one counts as Ready for the instant it runs.
	var hello corev1.PodTemplateSpec
	names := []string{"crash-loop", "missing-image"}
	// createAndWaitFails creates the pod, waits for it as DeployCourse waits for the course's,
	// and returns the error, logging how long after the creation it came: the point is that it
	// comes at once, not at the deadline, but a machine's speed is no assertion.
	createAndWaitFails := func(ctx context.Context, t *testing.T, p *corev1.Pod) error {
		start := time.Now()
		_, err := suite.Client().CoreV1().Pods(suite.Namespace()).Create(ctx, p, metav1.CreateOptions{})
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), "creating pod %s", p.Name)
		selector := "badinput=" + p.Name
		_, err = headless.WaitPodsReady(ctx, headless.WaitPodsInput{Client: suite.Client(), Namespace: suite.Namespace(), Selector: selector, Count: 1, Timeout: 3 * time.Minute})
		t.Logf("WaitPodsReady(%s) returned %s after the pod was created, with:\n%v", selector, time.Since(start).Round(100*time.Millisecond), err)
		NewWithT(t).Expect(err).To(HaveOccurred(), "pod %s became Ready", p.Name)
		return err
	}
	f := features.New("bad input: a pod that crash-loops, and one whose image is missing, fail the wait at once, naming the cause").WithLabel("area", "badinput").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var err error
			hello, _, err = course.CourseTemplates(ctx, manifests.Headless, "headless/*.yaml", nil)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess("a command that exits 1: the wait fails with CrashLoopBackOff and the last log line", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			p := kube.PodFromTemplate("crash-loop", map[string]string{"badinput": "crash-loop"}, hello)
			p.Spec.Containers[0].Image = suite.Settings.ClientImage // the hello image has no shell
			p.Spec.Containers[0].Command = []string{"sh", "-c", "echo " + crashLine + "; exit 1"}
			err := createAndWaitFails(ctx, t, p)
			g := NewWithT(t)
			g.Expect(err).To(MatchError(ContainSubstring("pod crash-loop is stuck in CrashLoopBackOff")))
			g.Expect(err).To(MatchError(ContainSubstring("events of pod crash-loop:")))
			g.Expect(err).To(MatchError(ContainSubstring(crashLine)))
			return ctx
		}).
		Assess("an image that is not there: the wait fails with ErrImagePull or ImagePullBackOff and the pod's events", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			p := kube.PodFromTemplate("missing-image", map[string]string{"badinput": "missing-image"}, hello)
			p.Spec.Containers[0].Image = missingImage
			p.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
			err := createAndWaitFails(ctx, t, p)
			g := NewWithT(t)
			g.Expect(err).To(MatchError(Or(ContainSubstring("pod missing-image is stuck in ErrImagePull"), ContainSubstring("pod missing-image is stuck in ImagePullBackOff"))))
			g.Expect(err).To(MatchError(ContainSubstring(missingImage)))
			g.Expect(err).To(MatchError(ContainSubstring("events of pod missing-image:")))
			g.Expect(err).To(MatchError(ContainSubstring("Normal Scheduled")))
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			zero := int64(0)
			for _, name := range names {
				_ = suite.Client().CoreV1().Pods(suite.Namespace()).Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
