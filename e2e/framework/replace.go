package framework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ExactAnswer fails unless the answer's addresses are exactly want, as a set: CoreDNS
// shuffles A records, so order means nothing, but every address and no other must be there.
func ExactAnswer(a Answer, want []string) error {
	got := slices.Sorted(slices.Values(a.IPs))
	w := slices.Sorted(slices.Values(want))
	if a.Rcode == "NOERROR" && slices.Equal(got, w) {
		return nil
	}
	return fmt.Errorf("%s answered %s %v, want exactly %v\n%s", a.Name, a.Rcode, got, w, a.Raw)
}

// ReplaceInput describes the course's step 4: delete the StatefulSet's pods and follow each
// name to its new pod.
type ReplaceInput struct {
	Client    kubernetes.Interface
	Exec      Executor
	Namespace string
	ClientPod string
	Service   string
	Pods      []PodAddr // the pods to delete, as they were
	Timeout   time.Duration
	// Poll is how often each pod and its name are checked (default 50ms); fast, because the
	// point is to measure how soon the name follows.
	Poll time.Duration
}

// Convergence is one pod's replacement, timed from the delete call.
type Convergence struct {
	Deleted      time.Time // when the pods were deleted; the durations count from here
	Name         string
	OldIP, NewIP string
	Ready        time.Duration // delete -> new pod seen Ready
	Answered     time.Duration // delete -> its name answered exactly the new IP
	Err          error
}

func (c Convergence) String() string {
	if c.Err != nil {
		return fmt.Sprintf("%s: %s -> %s FAILED: %v", c.Name, c.OldIP, c.NewIP, c.Err)
	}
	return fmt.Sprintf("%s: %s -> %s; delete->Ready %s, delete->answered %s, Ready->answered %s",
		c.Name, c.OldIP, c.NewIP, c.Ready.Round(time.Millisecond), c.Answered.Round(time.Millisecond), (c.Answered - c.Ready).Round(time.Millisecond))
}

// ReplacePods deletes the pods at once and, for each, polls in parallel until a new pod of
// the same name is Ready with a different IP and the pod's DNS name answers exactly that IP.
// It returns one Convergence per pod, and an error naming every pod that did not converge.
func ReplacePods(ctx context.Context, in ReplaceInput) ([]Convergence, error) {
	if in.Poll == 0 {
		in.Poll = 50 * time.Millisecond
	}
	start := time.Now()
	for _, p := range in.Pods {
		if err := in.Client.CoreV1().Pods(in.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			return nil, fmt.Errorf("deleting pod %s: %w", p.Name, err)
		}
	}
	results := make([]Convergence, len(in.Pods))
	var wg sync.WaitGroup
	for i, old := range in.Pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = followPod(ctx, in, old, start)
		}()
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, r.Err))
		}
	}
	return results, errors.Join(errs...)
}

func followPod(ctx context.Context, in ReplaceInput, old PodAddr, start time.Time) Convergence {
	c := Convergence{Deleted: start, Name: old.Name, OldIP: old.IP}
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	name := old.Name + "." + in.Service
	lastPod, lastAnswer := "not seen yet", "not asked yet"
	for {
		pod, err := in.Client.CoreV1().Pods(in.Namespace).Get(ctx, old.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			lastPod = "deleted, not recreated yet"
		case err != nil:
			lastPod = err.Error()
		case string(pod.UID) == old.UID:
			lastPod = "old pod still terminating"
		default:
			c.NewIP = pod.Status.PodIP
			lastPod = fmt.Sprintf("new pod, phase %s, IP %q, Ready %v", pod.Status.Phase, pod.Status.PodIP, PodReady(*pod))
			if reason := stuck(*pod); reason != "" {
				c.Err = fmt.Errorf("new pod stuck in %s:\n%s", reason, PodReport(ctx, in.Client, *pod))
				return c
			}
			if c.Ready == 0 && PodReady(*pod) {
				c.Ready = time.Since(start)
			}
		}
		if c.NewIP != "" && c.Ready != 0 {
			a, err := Lookup(ctx, LookupInput{Exec: in.Exec, Namespace: in.Namespace, Pod: in.ClientPod, Name: name})
			if err == nil {
				lastAnswer = a.String()
				if ExactAnswer(a, []string{c.NewIP}) == nil {
					c.Answered = time.Since(start)
					if c.NewIP == c.OldIP {
						c.Err = fmt.Errorf("new pod got the old IP %s again: the test cannot tell old from new", c.OldIP)
					}
					return c
				}
			} else {
				lastAnswer = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			c.Err = fmt.Errorf("not converged after %s; last pod state: %s; last answer for %s: %s", in.Timeout, lastPod, name, lastAnswer)
			return c
		case <-time.After(in.Poll):
		}
	}
}

// HoldInput is the check that answers stay right after they converged.
type HoldInput struct {
	Exec          Executor
	Namespace     string
	ClientPod     string
	Service       string
	Before, After []PodAddr
	Window        time.Duration
}

// HoldAnswers asks for the service name and every pod name, over and over for Window, and
// fails if any answer contains an old IP or is not exactly the current one. The report counts
// queries and stale answers.
func HoldAnswers(ctx context.Context, in HoldInput) (string, error) {
	old := map[string]bool{}
	for _, p := range in.Before {
		old[p.IP] = true
	}
	want := map[string][]string{in.Service: IPs(in.After)}
	for _, p := range in.After {
		want[p.Name+"."+in.Service] = []string{p.IP}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	var queries, stale int
	var problems []string
	deadline := time.Now().Add(in.Window)
	for time.Now().Before(deadline) {
		for _, n := range names {
			a, err := Lookup(ctx, LookupInput{Exec: in.Exec, Namespace: in.Namespace, Pod: in.ClientPod, Name: n})
			if err != nil {
				return "", err
			}
			queries++
			for _, ip := range a.IPs {
				if old[ip] {
					stale++
					problems = append(problems, fmt.Sprintf("%s answered old IP %s", n, ip))
				}
			}
			if err := ExactAnswer(a, want[n]); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	report := fmt.Sprintf("hold window %s: %d queries over %d names, %d answers with an old IP", in.Window, queries, len(names), stale)
	if len(problems) > 0 {
		return report, fmt.Errorf("%s:\n%s", report, strings.Join(problems, "\n"))
	}
	return report, nil
}
