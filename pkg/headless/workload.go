package headless

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// WaitPodsInput names the pods to wait for.
type WaitPodsInput struct {
	Client    kubernetes.Interface
	Namespace string
	Selector  string // label selector
	Count     int
	Timeout   time.Duration
}

// fatalWaiting are container states that will not fix themselves within a test's patience:
// fail at once with the pod's events instead of waiting out the deadline. RunContainerError is
// not one: runc failing under load ("unable to freeze", seen here at 100 pods on 2 cores) heals
// on the kubelet's next try, and one that does not counts as a container that ended twice.
var fatalWaiting = map[string]bool{
	"ImagePullBackOff": true, "ErrImagePull": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CrashLoopBackOff": true, "CreateContainerConfigError": true, "CreateContainerError": true,
}

// WaitPodsReady waits until exactly Count pods match Selector and all are Ready. A pod stuck in
// a state that will not recover (ImagePullBackOff, CrashLoopBackOff...) fails it at once,
// with the pod's events and its last log lines.
func WaitPodsReady(ctx context.Context, in WaitPodsInput) ([]corev1.Pod, error) {
	var ready []corev1.Pod
	if in.Client == nil || in.Namespace == "" || in.Selector == "" || in.Count < 0 {
		return nil, fmt.Errorf("WaitPodsInput needs Client, Namespace, Selector and a Count >= 0 (got %q, %q, %d)", in.Namespace, in.Selector, in.Count)
	}
	err := poll.Retry(ctx, poll.Input{What: fmt.Sprintf("waiting for %d Ready pods %s in %s", in.Count, in.Selector, in.Namespace), Timeout: in.Timeout, Interval: 100 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			pods, err := in.Client.CoreV1().Pods(in.Namespace).List(ctx, metav1.ListOptions{LabelSelector: in.Selector})
			if err != nil {
				return false, "", err
			}
			var states []string
			ready = ready[:0]
			for _, p := range pods.Items {
				if reason := StuckReason(p); reason != "" {
					return false, "", poll.Stop(fmt.Errorf("pod %s is stuck in %s:\n%s", p.Name, reason, PodReport(ctx, in.Client, p)))
				}
				if p.DeletionTimestamp == nil && PodReady(p) {
					ready = append(ready, p)
				}
				states = append(states, fmt.Sprintf("%s %s ready=%v", p.Name, p.Status.Phase, PodReady(p)))
			}
			sort.Strings(states)
			return len(ready) == in.Count && len(pods.Items) == in.Count, strings.Join(states, ", "), nil
		})
	return ready, err
}

// StuckReason names the state a pod is stuck in that will not heal by waiting (a pull that
// failed, a crash loop), or "" when none.
func StuckReason(p corev1.Pod) string {
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			return fmt.Sprintf("%s (container %s: %s)", w.Reason, cs.Name, w.Message)
		}
		// A container that has ended twice is crash-looping whatever its state says now: for
		// most of each back-off the kubelet reports it Terminated (reason Error), Waiting with
		// CrashLoopBackOff only around the restart, and Running (so Ready, without a readiness
		// probe) for the instant it runs; a poll can miss the one and pass on the other.
		last, ended := cs.LastTerminationState.Terminated, int(cs.RestartCount)
		if t := cs.State.Terminated; t != nil {
			last, ended = t, ended+1
		}
		if ended >= 2 && last != nil {
			return fmt.Sprintf("CrashLoopBackOff (container %s has ended %d times, last with exit code %d, reason %s)", cs.Name, ended, last.ExitCode, last.Reason)
		}
	}
	return ""
}

// PodReady reports the pod's Ready condition.
func PodReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PodReport is what one needs to see of a failing pod: its events and its containers' last
// log lines (previous run too, for a crash loop).
func PodReport(ctx context.Context, client kubernetes.Interface, p corev1.Pod) string {
	var b strings.Builder
	events, err := client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
	if err == nil {
		fmt.Fprintf(&b, "  events of pod %s:\n", p.Name)
		sort.Slice(events.Items, func(i, j int) bool { return events.Items[i].LastTimestamp.Before(&events.Items[j].LastTimestamp) })
		for _, e := range events.Items {
			fmt.Fprintf(&b, "    %s %s x%d: %s\n", e.Type, e.Reason, e.Count, e.Message)
		}
	}
	tail := int64(20)
	for _, c := range p.Spec.Containers {
		for _, previous := range []bool{false, true} {
			logs, err := client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name, TailLines: &tail, Previous: previous}).DoRaw(ctx)
			if err == nil && len(logs) > 0 {
				fmt.Fprintf(&b, "  last log lines of container %s (previous run: %v):\n    %s\n", c.Name, previous,
					strings.ReplaceAll(strings.TrimSpace(string(logs)), "\n", "\n    "))
			}
		}
	}
	return b.String()
}

// Names are the pods' names, in their order.
func Names(pods []PodAddr) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}
