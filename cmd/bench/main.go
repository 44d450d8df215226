// Command bench measures the course's headless Service on a real cluster: how soon DNS follows
// a replaced pod, and how long and how big the answer gets as the StatefulSet grows. It is a
// benchmark, not a test: it asserts nothing, prints tables, and writes the numbers as JSON to
// $ARTIFACTS/bench-<timestamp>.json (`make bench`, K=10).
//
//	go run ./cmd/bench [-k 10] [-scale 30,100]
//
// The cluster is the kind cluster KIND_CLUSTER_NAME (reused, or created as `make cluster`
// does), or with USE_EXISTING_CLUSTER=1 the one at KUBECONFIG. Everything runs in a namespace
// of its own, deleted at the end, also after Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/headless-e2e/headless-e2e/e2e/framework"
	"github.com/headless-e2e/headless-e2e/internal/cluster"
	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/manifests"
)

const (
	statefulSet = "hello-kubernetes"
	service     = "headless-demo"
	helloPods   = "app=hello-kubernetes"
	targetPort  = 8080
)

// Report is everything measured; it is also the JSON written to ARTIFACTS.
type Report struct {
	Started   time.Time `json:"started"`
	Cluster   string    `json:"cluster"`
	Namespace string    `json:"namespace"`
	Zone      string    `json:"zone"`
	// The settings that shape the replacement times.
	PodManagementPolicy           string `json:"pod_management_policy"`
	TerminationGracePeriodSeconds int64  `json:"termination_grace_period_seconds"`
	ReadinessPeriodSeconds        int32  `json:"readiness_period_seconds"`
	CorednsCache                  string `json:"coredns_cache"`
	// LookupRTT is one nslookup through kubectl exec: the resolution of the answered times.
	LookupRTT Summary       `json:"lookup_round_trip"`
	K         int           `json:"k"`
	Rounds    [][]Conv      `json:"rounds"`
	PerPod    []PodSummary  `json:"per_pod"`
	Scale     []ScaleResult `json:"scale"`
	Errors    []string      `json:"errors,omitempty"`
}

// Conv is one pod's replacement in one round, timed from the delete call.
type Conv struct {
	Pod           string `json:"pod"`
	OldIP         string `json:"old_ip"`
	NewIP         string `json:"new_ip"`
	DeleteToReady Millis `json:"delete_to_ready_ms"`
	DeleteToDNS   Millis `json:"delete_to_answered_ms"`
	ReadyToDNS    Millis `json:"ready_to_answered_ms"`
}

// PodSummary is one pod's replacement times over the K rounds.
type PodSummary struct {
	Pod           string  `json:"pod"`
	DeleteToReady Summary `json:"delete_to_ready"`
	DeleteToDNS   Summary `json:"delete_to_answered"`
	ReadyToDNS    Summary `json:"ready_to_answered"`
}

// Answer is one way of asking for the Service name and what came back.
type Answer struct {
	Records   int    `json:"records"`
	Bytes     int    `json:"msg_size_bytes"`
	Truncated bool   `json:"tc"`
	Transport string `json:"transport"`
}

// ScaleResult is one scale-up step.
type ScaleResult struct {
	Replicas       int    `json:"replicas"`
	AllReady       Millis `json:"all_ready_ms"`
	AllServed      Millis `json:"all_records_served_ms"`
	EndpointSlices []int  `json:"endpoint_slices"` // endpoints per slice
	// Default is plain `dig` (EDNS, 1232-byte buffer, TCP retry on truncation); PlainUDP is a
	// 512-byte answer without EDNS and without the retry; EDNSUDP the same with EDNS; TCP is
	// `dig +tcp`.
	Default  Answer `json:"dig_default"`
	PlainUDP Answer `json:"dig_udp_noedns"`
	EDNSUDP  Answer `json:"dig_udp_edns"`
	TCP      Answer `json:"dig_tcp"`
	// UDPFit is how many A records of this name fit in 512 bytes, by the wire format.
	UDPFit int `json:"udp_512_fit"`
}

type bench struct {
	client    kubernetes.Interface
	resources *resources.Resources
	exec      framework.Executor
	namespace string
	zone      string
	clientPod string
	out       io.Writer
}

func main() { os.Exit(run()) }

func run() int {
	k := flag.Int("k", 10, "rounds of deleting the 3 pods")
	scaleTo := flag.String("scale", "30,100", "replica counts to scale up to, in order")
	flag.Parse()
	steps, err := parseCounts(*scaleTo)
	if err != nil || *k < 1 {
		fmt.Fprintf(os.Stderr, "bench: -k must be >= 1 and -scale a list of counts (%v)\n", err)
		return 2
	}
	// The first Ctrl-C cancels ctx and the deferred cleanup still runs; a second one exits.
	ctx := framework.InterruptContext()
	root, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	v, err := versions.Load()
	if err != nil {
		return fail(err)
	}
	s, err := framework.LoadSettings(root, v)
	if err != nil {
		return fail(err)
	}
	kubeconfig, clusterName, err := connect(ctx, s, v)
	if err != nil {
		return fail(err)
	}
	rc, err := cluster.RESTConfig(kubeconfig)
	if err != nil {
		return fail(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fail(err)
	}
	kc, err := klient.New(rc)
	if err != nil {
		return fail(err)
	}
	b := &bench{client: cs, resources: kc.Resources(), exec: framework.PodExec{Resources: kc.Resources(), Container: "client"}, namespace: envconf.RandomName("headless-bench", 18), out: os.Stdout}
	if err := framework.CreateRestrictedNamespace(ctx, framework.NamespaceInput{Client: cs, Name: b.namespace}); err != nil {
		return fail(err)
	}
	defer b.cleanup(ctx)

	r := &Report{Started: time.Now(), Cluster: clusterName, Namespace: b.namespace, K: *k}
	if err := b.deploy(ctx, s, v, r); err != nil {
		return fail(err)
	}
	b.header(r)
	runErr := b.replaceRounds(ctx, r, *k)
	if runErr == nil {
		for _, n := range steps {
			res, err := b.scaleUp(ctx, n)
			if err != nil {
				runErr = err
				break
			}
			r.Scale = append(r.Scale, res)
		}
	}
	if runErr != nil {
		if ctx.Err() != nil {
			runErr = fmt.Errorf("interrupted: %w", runErr)
		}
		r.Errors = append(r.Errors, runErr.Error())
	}
	summarize(r)
	b.printReplace(r)
	b.printScale(r)
	if err := writeJSON(s.Artifacts, r); err != nil {
		return fail(err)
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "bench: stopped early:", runErr)
		return 1
	}
	return 0
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad replica count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "bench:", err)
	return 1
}

// connect returns the kubeconfig to use: KUBECONFIG with USE_EXISTING_CLUSTER=1, else the
// kind cluster's private one, created as `make cluster` would if missing (and then left
// running, as `make cluster` leaves it), with the workload images loaded onto its nodes.
func connect(ctx context.Context, s framework.Settings, v versions.Versions) (string, string, error) {
	if s.UseExisting {
		return s.Kubeconfig, "existing cluster at " + s.Kubeconfig, nil
	}
	c, err := cluster.Up(ctx, append(s.Cluster.Options(s.RepoRoot, v), cluster.WithOutput(os.Stderr))...)
	if err != nil {
		return "", "", err
	}
	if err := c.LoadImages(ctx, os.Stderr, s.HelloImage, s.ClientImage); err != nil {
		return "", "", fmt.Errorf("loading images (make images builds them): %w", err)
	}
	name := fmt.Sprintf("kind %q", c.Name)
	if c.Created {
		name += " (created now, left running: make cluster-down removes it)"
	}
	return c.Kubeconfig, name, nil
}

// cleanup deletes the namespace on a context of its own: ctx may be cancelled by Ctrl-C.
func (b *bench) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := framework.DeleteNamespace(ctx, framework.NamespaceInput{Client: b.client, Name: b.namespace, Timeout: 2 * time.Minute}); err != nil {
		fmt.Fprintf(os.Stderr, "bench: deleting namespace %s: %v\n", b.namespace, err)
		return
	}
	fmt.Fprintf(os.Stderr, "namespace %s deleted in %s\n", b.namespace, time.Since(start).Round(100*time.Millisecond))
}

// deploy applies the course and reads what shapes the numbers: the StatefulSet's policies and
// CoreDNS's cache setting.
func (b *bench) deploy(ctx context.Context, s framework.Settings, v versions.Versions, r *Report) error {
	err := framework.Deploy(ctx, framework.DeployInput{
		Resources: b.resources, Namespace: b.namespace, Manifests: manifests.Headless, Pattern: "headless/*.yaml",
		Images: map[string]string{v.HelloImage: s.HelloImage, v.ClientImage: s.ClientImage},
	})
	if err != nil {
		return err
	}
	for _, w := range []framework.WaitPodsInput{{Selector: helloPods, Count: 3}, {Selector: "app=client", Count: 1}} {
		w.Client, w.Namespace, w.Timeout = b.client, b.namespace, 3*time.Minute
		pods, err := framework.WaitPodsReady(ctx, w)
		if err != nil {
			return err
		}
		if w.Selector == "app=client" {
			b.clientPod = pods[0].Name
		}
	}
	resolv, _, err := b.exec.Exec(ctx, b.namespace, b.clientPod, []string{"cat", "/etc/resolv.conf"})
	if err != nil {
		return err
	}
	if b.zone, err = framework.ClusterZone(resolv, b.namespace); err != nil {
		return err
	}
	r.Zone = b.zone
	sts, err := b.client.AppsV1().StatefulSets(b.namespace).Get(ctx, statefulSet, metav1.GetOptions{})
	if err != nil {
		return err
	}
	r.PodManagementPolicy = string(sts.Spec.PodManagementPolicy)
	if g := sts.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		r.TerminationGracePeriodSeconds = *g
	}
	if p := sts.Spec.Template.Spec.Containers[0].ReadinessProbe; p != nil {
		r.ReadinessPeriodSeconds = p.PeriodSeconds
	}
	r.CorednsCache = corednsCache(ctx, b.client)
	var rtts []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := framework.Lookup(ctx, framework.LookupInput{Exec: b.exec, Namespace: b.namespace, Pod: b.clientPod, Name: statefulSet + "-0." + service}); err != nil {
			return err
		}
		rtts = append(rtts, time.Since(start))
	}
	r.LookupRTT = Summarize(rtts)
	return nil
}

// corednsCache is the cache block of the Corefile, on one line: with caching on for the
// cluster zone, a replaced pod's old IP is served for up to the TTL.
func corednsCache(ctx context.Context, c kubernetes.Interface) string {
	cm, err := c.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	lines := strings.Split(cm.Data["Corefile"], "\n")
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "cache" {
			block := []string{strings.TrimSpace(l)}
			for j := i + 1; strings.HasSuffix(block[0], "{") && j < len(lines); j++ {
				block = append(block, strings.TrimSpace(lines[j]))
				if strings.TrimSpace(lines[j]) == "}" {
					break
				}
			}
			return strings.Join(block, " ")
		}
	}
	return "no cache plugin"
}

func (b *bench) header(r *Report) {
	fmt.Fprintf(b.out, "\nheadless-bench: %s, namespace %s, zone %s\n", r.Cluster, r.Namespace, r.Zone)
	fmt.Fprintf(b.out, "StatefulSet %s: podManagementPolicy %s, terminationGracePeriodSeconds %d, readiness probe every %ds\n",
		statefulSet, r.PodManagementPolicy, r.TerminationGracePeriodSeconds, r.ReadinessPeriodSeconds)
	fmt.Fprintf(b.out, "CoreDNS: %s\n", r.CorednsCache)
	fmt.Fprintf(b.out, "one nslookup through kubectl exec (the resolution of the times below): p50 %s, max %s\n\n", r.LookupRTT.P50, r.LookupRTT.Max)
}

// replaceRounds deletes the 3 pods at once, k times, and times each pod's way back.
func (b *bench) replaceRounds(ctx context.Context, r *Report, k int) error {
	for i := range k {
		pods, err := framework.WaitPodsReady(ctx, framework.WaitPodsInput{Client: b.client, Namespace: b.namespace, Selector: helloPods, Count: 3, Timeout: 2 * time.Minute})
		if err != nil {
			return err
		}
		before := make([]framework.PodAddr, 0, len(pods))
		for _, p := range pods {
			before = append(before, framework.PodAddr{Name: p.Name, IP: p.Status.PodIP, Node: p.Spec.NodeName, UID: string(p.UID)})
		}
		results, err := framework.ReplacePods(ctx, framework.ReplaceInput{
			Client: b.client, Exec: b.exec, Namespace: b.namespace, ClientPod: b.clientPod,
			Service: service, Pods: before, Timeout: 2 * time.Minute,
		})
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		var round []Conv
		for _, c := range results {
			round = append(round, Conv{Pod: c.Name, OldIP: c.OldIP, NewIP: c.NewIP, DeleteToReady: ms(c.Ready), DeleteToDNS: ms(c.Answered), ReadyToDNS: ms(c.Answered - c.Ready)})
		}
		r.Rounds = append(r.Rounds, round)
		fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", i+1, k, roundLine(round))
		// The next round starts from a settled Service: every new IP published, no old one.
		after, err := framework.ReadyPods(ctx, b.client, b.namespace, helloPods)
		if err != nil {
			return err
		}
		if _, err := framework.AwaitPublished(ctx, framework.PublishedInput{
			Client: b.client, Exec: b.exec, Namespace: b.namespace, ClientPod: b.clientPod, Service: service, Zone: b.zone,
			Pods: after, TargetPort: targetPort, PortName: "http", Timeout: time.Minute,
		}); err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
	}
	return nil
}

// summarize fills PerPod from the rounds measured, also when a round failed or Ctrl-C came.
func summarize(r *Report) {
	byPod := map[string][3][]time.Duration{}
	var names []string
	for _, round := range r.Rounds {
		for _, c := range round {
			s, seen := byPod[c.Pod]
			if !seen {
				names = append(names, c.Pod)
			}
			s[0] = append(s[0], dur(c.DeleteToReady))
			s[1] = append(s[1], dur(c.DeleteToDNS))
			s[2] = append(s[2], dur(c.ReadyToDNS))
			byPod[c.Pod] = s
		}
	}
	for _, n := range names {
		s := byPod[n]
		r.PerPod = append(r.PerPod, PodSummary{Pod: n, DeleteToReady: Summarize(s[0]), DeleteToDNS: Summarize(s[1]), ReadyToDNS: Summarize(s[2])})
	}
}

func dur(m Millis) time.Duration { return time.Duration(float64(m) * float64(time.Millisecond)) }

func roundLine(round []Conv) string {
	var parts []string
	for _, c := range round {
		parts = append(parts, fmt.Sprintf("%s %s->%s answered %s", c.Pod, c.OldIP, c.NewIP, c.DeleteToDNS))
	}
	return strings.Join(parts, "; ")
}

// scaleUp scales to n and times how long until all pods are Ready and until dig answers all n
// records, then asks the Service name four ways to show the answer's size and truncation.
func (b *bench) scaleUp(ctx context.Context, n int) (ScaleResult, error) {
	res := ScaleResult{Replicas: n}
	fqdn := framework.ServiceFQDN(service, b.namespace, b.zone)
	start := time.Now()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	if _, err := b.client.AppsV1().StatefulSets(b.namespace).Patch(ctx, statefulSet, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return res, err
	}
	// Two pollers, so that neither waits for the other: the pod list is cheap and polled
	// often; each dig is an exec and takes its own round trip.
	var ready, served time.Duration
	errs := make(chan error, 2)
	go func() {
		errs <- cluster.Poll(ctx, fmt.Sprintf("%d pods Ready", n), 5*time.Minute, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			pods, err := framework.ReadyPods(ctx, b.client, b.namespace, helloPods)
			if err != nil {
				return false, err.Error(), nil
			}
			if len(pods) == n {
				ready = time.Since(start)
			}
			return len(pods) == n, fmt.Sprintf("%d Ready", len(pods)), nil
		})
	}()
	go func() {
		errs <- cluster.Poll(ctx, fmt.Sprintf("dig +short to answer %d records", n), 5*time.Minute, 0, func(ctx context.Context) (bool, string, error) {
			lines, err := framework.Dig(ctx, framework.LookupInput{Exec: b.exec, Namespace: b.namespace, Pod: b.clientPod, Name: fqdn}, "A")
			if err != nil {
				return false, err.Error(), nil
			}
			if len(lines) == n {
				served = time.Since(start)
			}
			return len(lines) == n, fmt.Sprintf("%d records", len(lines)), nil
		})
	}()
	if err := errors.Join(<-errs, <-errs); err != nil {
		return res, err
	}
	res.AllReady, res.AllServed = ms(ready), ms(served)
	slices, err := b.client.DiscoveryV1().EndpointSlices(b.namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + service})
	if err != nil {
		return res, err
	}
	for _, s := range slices.Items {
		res.EndpointSlices = append(res.EndpointSlices, len(s.Endpoints))
	}
	for _, a := range []struct {
		into    *Answer
		options []string
	}{
		{&res.Default, nil},
		{&res.PlainUDP, []string{"+notcp", "+noedns", "+ignore"}},
		{&res.EDNSUDP, []string{"+notcp", "+ignore"}},
		{&res.TCP, []string{"+tcp"}},
	} {
		d, err := framework.DigQuery(ctx, framework.DigInput{Exec: b.exec, Namespace: b.namespace, Pod: b.clientPod, Name: fqdn, Options: a.options})
		if err != nil {
			return res, err
		}
		if d.Rcode != "NOERROR" {
			return res, fmt.Errorf("%s: %s", d.Query, d.Rcode)
		}
		transport := d.Protocol
		if d.RetriedTCP {
			transport = "UDP tc, then TCP"
		}
		*a.into = Answer{Records: len(d.Data("A")), Bytes: d.MsgSize, Truncated: d.Truncated(), Transport: transport}
	}
	res.UDPFit = framework.UDPFit(fqdn, 512)
	fmt.Fprintf(os.Stderr, "scaled to %d: all Ready after %s, all %d records served after %s\n", n, res.AllReady, n, res.AllServed)
	return res, nil
}

func (b *bench) printReplace(r *Report) {
	if len(r.PerPod) == 0 {
		return
	}
	fmt.Fprintf(b.out, "Replacing pods: the 3 pods deleted at once, %d rounds\n", len(r.Rounds))
	w := tabwriter.NewWriter(b.out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, "pod\tdelete -> pod Ready\tdelete -> new IP answered\tpod Ready -> new IP answered")
	head := Summary{}.header()
	fmt.Fprintf(w, "\t%s\t%s\t%s\n", head, head, head)
	var all [3][]time.Duration
	for _, p := range r.PerPod {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Pod, p.DeleteToReady.cells(), p.DeleteToDNS.cells(), p.ReadyToDNS.cells())
	}
	for _, round := range r.Rounds {
		for _, c := range round {
			all[0] = append(all[0], dur(c.DeleteToReady))
			all[1] = append(all[1], dur(c.DeleteToDNS))
			all[2] = append(all[2], dur(c.ReadyToDNS))
		}
	}
	fmt.Fprintf(w, "all pods\t%s\t%s\t%s\n", Summarize(all[0]).cells(), Summarize(all[1]).cells(), Summarize(all[2]).cells())
	_ = w.Flush()
	fmt.Fprintln(b.out)
}

func (b *bench) printScale(r *Report) {
	if len(r.Scale) == 0 {
		return
	}
	fqdn := framework.ServiceFQDN(service, r.Namespace, r.Zone)
	fmt.Fprintf(b.out, "Scaling up from 3: time from the scale call; answers for %s\n", fqdn)
	w := tabwriter.NewWriter(b.out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, "replicas\tall Ready\tall records served\tEndpointSlices\tdig (EDNS 1232, TCP on tc)\tdig +notcp +noedns +ignore\tdig +notcp +ignore (EDNS)\tdig +tcp")
	for _, s := range r.Scale {
		fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%s\t%s\t%s\t%s\n", s.Replicas, s.AllReady, s.AllServed, s.EndpointSlices,
			answerCell(s.Default), answerCell(s.PlainUDP), answerCell(s.EDNSUDP), answerCell(s.TCP))
	}
	_ = w.Flush()
	fmt.Fprintln(b.out, "(pods polled every 50 ms, dig back to back: served before Ready by less than a lookup round trip is sampling)")
	fmt.Fprintf(b.out, "A 512-byte answer without EDNS holds at most %d A records for this name (12-byte header, %d-byte question, 16 bytes a record):\npast that the tc flag is set and the client must ask again over TCP.\n\n",
		r.Scale[0].UDPFit, len(strings.TrimSuffix(fqdn, "."))+2+4)
}

func answerCell(a Answer) string {
	tc := ""
	if a.Truncated {
		tc = " tc"
	}
	return fmt.Sprintf("%d rec, %d B, %s%s", a.Records, a.Bytes, a.Transport, tc)
}

func writeJSON(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "bench-"+r.Started.Format("20060102-150405")+".json")
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", path)
	return nil
}
