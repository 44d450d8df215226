package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/internal/synthetic"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// Two ways to grow the course's Service: real pods (scaleUp) and synthetic endpoints
// (endpointsAt).

// scaleUp scales to n and times, side by side, how long until all pods are Ready and until
// DNS answers all n records; then asks the Service name four ways for the answer's size.
func scaleUp(ctx context.Context, c course.Course, n int) (ScaleResult, error) {
	res := ScaleResult{Replicas: n}
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return res, err
	}
	fqdn := c.FQDN(course.CourseService)
	var ready, served time.Duration
	errs := make(chan error, 2)
	go func() {
		var err error
		_, ready, err = kube.Scale(ctx, kube.ScaleInput{Client: c.Client, Namespace: c.Namespace, StatefulSet: course.CourseStatefulSet, Selector: course.CourseSelector, Replicas: n, Timeout: 5 * time.Minute})
		errs <- err
	}()
	go func() {
		var err error
		_, served, err = headless.AwaitAnswer(ctx, from, dns.Query{Name: fqdn}, dns.Count("A", n), 5*time.Minute)
		errs <- err
	}()
	if err := errors.Join(<-errs, <-errs); err != nil {
		return res, err
	}
	res.AllReady, res.AllServed = ms(ready), ms(served)
	slices, err := c.Client.DiscoveryV1().EndpointSlices(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + course.CourseService})
	if err != nil {
		return res, err
	}
	for _, s := range slices.Items {
		res.EndpointSlices = append(res.EndpointSlices, len(s.Endpoints))
	}
	if err := answerSizes(ctx, from, fqdn, &res); err != nil {
		return res, err
	}
	res.UDPFit = dns.FitA(fqdn, 512)
	fmt.Fprintf(os.Stderr, "scaled to %d: all Ready after %s, all %d records served after %s\n", n, res.AllReady, n, res.AllServed)
	return res, nil
}

// changes is how many times one endpoint is re-addressed at each size, for the p50/p95 of
// change -> served.
const changes = 20

// EndpointsResult is one size of a synthetic headless Service (EndpointSlices written by the
// bench, addresses from 198.18.0.0/15, never contacted).
type EndpointsResult struct {
	Endpoints int    `json:"endpoints"`
	Slices    int    `json:"slices"`
	Written   Millis `json:"written_ms"` // writing every slice
	// AllServed is from the first write until every sampled name (the last endpoint's among
	// them) answers its address and the Service name over TCP answers every address, or the
	// truncated set past 65,535 bytes.
	AllServed Millis `json:"all_served_ms"`
	// Change is, over 20 changes, from writing a new address into one slice until that
	// endpoint's name answers it (resolution: one lookup round trip plus the 100 ms poll).
	Change Summary `json:"change_to_served"`
	// CoreDNSRSS is the resident memory of the CoreDNS pods together, once all are served, and
	// CoreDNSGrowth what it gained since before the Service was written.
	CoreDNSRSS    float64    `json:"coredns_rss_mib"`
	CoreDNSGrowth float64    `json:"coredns_rss_growth_mib"`
	TCP           AnswerSize `json:"tcp_answer"` // the Service name over TCP without EDNS
	Deleted       Millis     `json:"deleted_ms"` // one DeleteCollection of the slices, then the Service, gone
}

// endpointsAt writes a synthetic Service of n endpoints and measures what it costs CoreDNS and
// the control plane, then deletes it.
func endpointsAt(ctx context.Context, c course.Course, n int) (EndpointsResult, error) {
	res := EndpointsResult{Endpoints: n}
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return res, err
	}
	before, err := course.CoreDNSMemory(ctx, c.Client, from)
	if err != nil {
		return res, err
	}
	service := fmt.Sprintf("endpoints-%d", n)
	start := time.Now()
	s, err := synthetic.CreateSynthetic(ctx, synthetic.SyntheticInput{Client: c.Client, Namespace: c.Namespace, Service: service, Endpoints: n})
	if err != nil {
		return res, err
	}
	res.Written, res.Slices = ms(time.Since(start)), s.Slices()
	fqdn := s.FQDN(c.Zone)
	tcp := dns.Query{Name: fqdn, TCP: true, NoEDNS: true}
	checks := []headless.DNSCheck{{Query: tcp, Want: dns.AWithin(65535, s.Addresses()...)}}
	for _, i := range s.Sample(max(n/10, 1)) {
		checks = append(checks, headless.DNSCheck{Query: s.HostQuery(i, c.Zone), Want: dns.Exactly("A", s.Address(i))})
	}
	answers, _, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: from, Checks: checks, Timeout: 5 * time.Minute})
	if err != nil {
		return res, err
	}
	res.AllServed = ms(time.Since(start))
	a := answers[0]
	res.TCP = AnswerSize{Records: len(a.Records), Bytes: a.Size, Truncated: a.Truncated, Transport: a.Transport}
	after, err := course.CoreDNSMemory(ctx, c.Client, from)
	if err != nil {
		return res, err
	}
	res.CoreDNSRSS, res.CoreDNSGrowth = mib(sum(after)), mib(sum(after)-sum(before))
	var took []time.Duration
	for k := range changes {
		i, address := n/2, synthetic.SyntheticAddress(n+k)
		start := time.Now()
		if err := s.Readdress(ctx, i, address); err != nil {
			return res, err
		}
		if _, _, err := headless.AwaitAnswer(ctx, from, s.HostQuery(i, c.Zone), dns.Exactly("A", address), time.Minute); err != nil {
			return res, err
		}
		took = append(took, time.Since(start))
	}
	res.Change = Summarize(took)
	start = time.Now()
	if err := s.Delete(ctx, 2*time.Minute); err != nil {
		return res, err
	}
	res.Deleted = ms(time.Since(start))
	fmt.Fprintf(os.Stderr, "%d endpoints: all served after %s, change -> served p50 %s\n", n, res.AllServed, res.Change.P50)
	return res, nil
}

func sum(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func printEndpoints(out io.Writer, r *Report) {
	if len(r.Endpoints) == 0 {
		return
	}
	fmt.Fprintln(out, "Synthetic headless Services (EndpointSlices written by the bench, 100 endpoints a slice):")
	w := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, "endpoints\tslices\twrite\tall served\tchange -> served p50 p95 max\tCoreDNS RSS (growth)\tTCP answer\tdelete")
	for i, e := range r.Endpoints {
		fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\t%.1f MiB (+%.1f)\t%s\t%s\n", e.Endpoints, e.Slices, e.Written, e.AllServed, e.Change.cells(),
			e.CoreDNSRSS, e.CoreDNSGrowth, answerCell(e.TCP), e.Deleted)
		if i > 0 {
			p := r.Endpoints[i-1]
			fmt.Fprintf(w, "  growth x%.1f\t\t\tx%.2f\tp50 x%.2f\t+%.1f MiB growth x%.2f\tbytes x%.2f\tx%.2f\n", float64(e.Endpoints)/float64(p.Endpoints),
				ratio(e.AllServed, p.AllServed), ratio(e.Change.P50, p.Change.P50), e.CoreDNSGrowth, e.CoreDNSGrowth/max(p.CoreDNSGrowth, 0.1),
				float64(e.TCP.Bytes)/float64(max(p.TCP.Bytes, 1)), ratio(e.Deleted, p.Deleted))
		}
	}
	_ = w.Flush()
	fmt.Fprintln(out)
}

func ratio(a, b Millis) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
