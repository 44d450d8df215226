package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
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
	CorednsCache                  string `json:"coredns_cache"` // what dnsprofile.Detect read
	// DNSProfile is the cluster's DNS setup (DNS_PROFILE, as read from the cluster): the
	// replacement times include its caches, up to its success bound.
	DNSProfile string `json:"dns_profile"`
	DNSBounds  string `json:"dns_bounds"`
	// LookupRTT is one lookup (dnsprobe) through kubectl exec: the resolution of the answered times.
	LookupRTT Summary           `json:"lookup_round_trip"`
	K         int               `json:"k"`
	Rounds    [][]Conv          `json:"rounds"`
	PerPod    []PodSummary      `json:"per_pod"`
	Scale     []ScaleResult     `json:"scale"`
	Endpoints []EndpointsResult `json:"endpoints"`
	Errors    []string          `json:"errors,omitempty"`
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

// AnswerSize is the size of the Service name's answer, asked one way.
type AnswerSize struct {
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
	// Default is what resolvers do (UDP, EDNS 1232-byte buffer, TCP retry on truncation);
	// PlainUDP is a 512-byte answer without EDNS and without the retry; EDNSUDP the same with
	// EDNS; TCP is TCP alone. The JSON keys are those of earlier reports, when dig asked, so
	// runs stay comparable.
	Default  AnswerSize `json:"dig_default"`
	PlainUDP AnswerSize `json:"dig_udp_noedns"`
	EDNSUDP  AnswerSize `json:"dig_udp_edns"`
	TCP      AnswerSize `json:"dig_tcp"`
	// UDPFit is how many A records of this name fit in 512 bytes, by the wire format.
	UDPFit int `json:"udp_512_fit"`
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

func printHeader(out io.Writer, r *Report) {
	fmt.Fprintf(out, "\nheadless-bench: %s, namespace %s, zone %s\n", r.Cluster, r.Namespace, r.Zone)
	fmt.Fprintf(out, "StatefulSet %s: podManagementPolicy %s, terminationGracePeriodSeconds %d, readiness probe every %ds\n",
		course.CourseStatefulSet, r.PodManagementPolicy, r.TerminationGracePeriodSeconds, r.ReadinessPeriodSeconds)
	fmt.Fprintf(out, "DNS: %s\n  read: %s\n", r.DNSBounds, r.CorednsCache)
	fmt.Fprintf(out, "one DNS lookup through kubectl exec (the resolution of the times below): p50 %s, max %s\n\n", r.LookupRTT.P50, r.LookupRTT.Max)
}

func printReplace(out io.Writer, r *Report) {
	if len(r.PerPod) == 0 {
		return
	}
	fmt.Fprintf(out, "Replacing pods: the 3 pods deleted at once, %d rounds\n", len(r.Rounds))
	w := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
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
	fmt.Fprintf(w, "all pods (DNS %s)\t%s\t%s\t%s\n", r.DNSProfile, Summarize(all[0]).cells(), Summarize(all[1]).cells(), Summarize(all[2]).cells())
	_ = w.Flush()
	fmt.Fprintln(out)
}

func printScale(out io.Writer, r *Report) {
	if len(r.Scale) == 0 {
		return
	}
	fqdn := dns.ServiceFQDN(course.CourseService, r.Namespace, r.Zone)
	fmt.Fprintf(out, "Scaling up from 3: time from the scale call; answers for %s\n", fqdn)
	w := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, "replicas\tall Ready\tall records served\tEndpointSlices\tudp, EDNS 1232, tcp on tc\tudp 512, no EDNS, no retry\tudp, EDNS, no retry\ttcp")
	for _, s := range r.Scale {
		fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%s\t%s\t%s\t%s\n", s.Replicas, s.AllReady, s.AllServed, s.EndpointSlices,
			answerCell(s.Default), answerCell(s.PlainUDP), answerCell(s.EDNSUDP), answerCell(s.TCP))
	}
	_ = w.Flush()
	fmt.Fprintln(out, "(pods polled every 100 ms, DNS every 100 ms: served before Ready by less than a lookup round trip is sampling)")
	fmt.Fprintf(out, "A 512-byte answer without EDNS holds at most %d A records for this name (12-byte header, %d-byte question, 16 bytes a record):\npast that the tc flag is set and the client must ask again over TCP.\n\n",
		r.Scale[0].UDPFit, len(strings.TrimSuffix(fqdn, "."))+2+4)
}

func answerCell(a AnswerSize) string {
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

func clusterName(conn *harness.Connection) string {
	if conn.Cluster == nil {
		return "existing cluster at " + conn.Kubeconfig
	}
	name := fmt.Sprintf("kind %q", conn.Cluster.Name)
	if conn.Cluster.Created {
		name += " (created now, left running: make cluster-down removes it)"
	}
	return name
}

// describe reads what shapes the numbers: the StatefulSet's policies, CoreDNS's cache, and
// the round trip of one lookup through exec (the resolution of every DNS time measured).
func describe(ctx context.Context, c course.Course, r *Report) error {
	r.Zone = c.Zone
	sts, err := c.Client.AppsV1().StatefulSets(c.Namespace).Get(ctx, course.CourseStatefulSet, metav1.GetOptions{})
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
	b, err := dnsprofile.Detect(ctx, c.Client, c.Zone)
	if err != nil {
		return err
	}
	r.DNSProfile, r.DNSBounds, r.CorednsCache = string(b.Profile), b.String(), b.Seen
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return err
	}
	var rtts []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := from.Ask(ctx, dns.Query{Name: c.HostFQDN(course.CourseStatefulSet + "-0")}); err != nil {
			return err
		}
		rtts = append(rtts, time.Since(start))
	}
	r.LookupRTT = Summarize(rtts)
	return nil
}

// answerSizes asks the Service name four ways: as resolvers do (UDP, EDNS, TCP on
// truncation), plain 512-byte UDP, UDP with EDNS but no retry, and TCP alone.
func answerSizes(ctx context.Context, from headless.From, fqdn string, res *ScaleResult) error {
	for into, q := range map[*AnswerSize]dns.Query{
		&res.Default:  {Name: fqdn},
		&res.PlainUDP: {Name: fqdn, NoEDNS: true, NoTCPRetry: true},
		&res.EDNSUDP:  {Name: fqdn, NoTCPRetry: true},
		&res.TCP:      {Name: fqdn, TCP: true},
	} {
		a, err := from.Ask(ctx, q)
		if err != nil {
			return err
		}
		if a.Rcode != "NOERROR" {
			return fmt.Errorf("%s: %s", q, a)
		}
		transport := a.Transport
		if a.RetriedTCP {
			transport = "udp tc, then tcp"
		}
		*into = AnswerSize{Records: len(a.Data("A")), Bytes: a.Size, Truncated: a.Truncated, Transport: transport}
	}
	return nil
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
