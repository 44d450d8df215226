// Command lab gives scripts/lab.sh its verdicts, so the lab shows a learner BIND's raw
// nslookup output while the checks compare exact IP sets through the framework (the scripts
// parse no DNS output). It works on the lab's cluster, KUBECONFIG, in the course's namespace.
//
//	lab await            wait until headless-demo and each hello-kubernetes-N.headless-demo
//	                     answer exactly the Ready pods (and the EndpointSlices agree)
//	lab snapshot FILE    record the hello pods (name, UID, IP) before they are deleted
//	lab summary FILE     after the delete: print each pod's old and new IP and whether its name
//	                     followed; exit 1 unless every pod has a new IP, its name answers exactly
//	                     that IP and the Service name exactly the new set
//	lab cached           print "yes" when the cluster's DNS caches the cluster zone (DNS_PROFILE
//	                     cache30, nodelocal; read from the cluster), "no" when it does not
//	lab profile          say which DNS setup the cluster runs, and what its caches do
//	lab follow SNAPSHOT  right after the delete: ask for hello-kubernetes-0 every half second,
//	                     printing each answer as it changes, until it is the new pod's IP
//	                     ("followed after N s"); exit 1 if that takes longer than the setup's
//	                     cache bound allows
//	lab images           print the images the lab runs, one a line: hello, client, probe,
//	                     resolvers (harness.LabImages: the course's own online, this
//	                     project's offline, HELLO_IMAGE/CLIENT_IMAGE over both)
//	lab manifests WHICH DIR  print the directory of manifests to apply (WHICH: headless or
//	                     resolvers): manifests/WHICH when it names the images the lab runs,
//	                     else a copy in DIR with them replaced (the replacements on stderr)
//	lab jvm FILE SNAPSHOT after the delete (LAB_RESOLVERS=1): what the Java client started
//	                     before it (FILE, its probe's output) answered for hello-kubernetes-0,
//	                     old IP or new; exit 1 if it answered nothing, or an address that is
//	                     neither
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1 "k8s.io/api/core/v1"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/dnsprofile"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/internal/resolvers"
	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/manifests"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// namespace is where the lab applies the course (kubectl's default).
const namespace = "default"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	oneWord := len(args) == 1 && (args[0] == "await" || args[0] == "cached" || args[0] == "profile" || args[0] == "images")
	threeWords := len(args) == 3 && (args[0] == "jvm" || args[0] == "manifests")
	if len(args) == 0 || (!oneWord && len(args) != 2 && !threeWords) {
		return errors.New("usage: lab await | cached | profile | images | manifests headless|resolvers DIR | snapshot FILE | follow SNAPSHOT | summary FILE | jvm FILE SNAPSHOT")
	}
	v := versions.MustLoad()
	images, err := harness.LoadLabImages(v)
	if err != nil {
		return err
	}
	switch args[0] {
	case "images":
		fmt.Printf("%s\n%s\n%s\n%s\n", images.Hello, images.Client, images.Probe, images.Resolvers)
		return nil
	case "manifests":
		return labManifests(args[1], args[2], images.Images(v))
	}
	course, err := connect(ctx, images.Probe)
	if err != nil {
		return err
	}
	switch args[0] {
	case "await":
		report, err := course.Restore(ctx, nil)
		if err == nil {
			fmt.Println("lab: " + report)
		}
		return err
	case "snapshot":
		pods, err := course.AwaitReadyPods(ctx)
		if err != nil {
			return err
		}
		data, err := json.Marshal(pods)
		if err != nil {
			return err
		}
		return os.WriteFile(args[1], data, 0o600)
	case "summary":
		return summary(ctx, course, args[1])
	case "jvm":
		return jvm(ctx, course, args[1], args[2])
	case "cached", "profile":
		b, err := dnsprofile.Detect(ctx, course.Client, course.Zone)
		if err != nil {
			return err
		}
		if args[0] == "profile" {
			fmt.Printf("lab: this cluster's DNS is %s: %s\n", b.Profile, b.Why)
			return nil
		}
		if b.Max() == 0 {
			fmt.Println("no")
		} else {
			fmt.Println("yes")
		}
		return nil
	case "follow":
		return follow(ctx, course, args[1])
	}
	return fmt.Errorf("unknown verb %q: want await, cached, profile, images, manifests, snapshot, follow, summary or jvm", args[0])
}

// labManifests prints the directory the lab applies: the checkout's own when its images are
// the ones to run, else a copy with them replaced, rendered into dir.
func labManifests(which, dir string, images map[string]string) error {
	var fsys fs.FS
	switch which {
	case "headless":
		fsys = manifests.Headless
	case "resolvers":
		fsys = manifests.Resolvers
	default:
		return fmt.Errorf("lab manifests %s: want headless or resolvers", which)
	}
	named, err := course.ManifestImages(fsys, which+"/*.yaml")
	if err != nil {
		return err
	}
	asWritten := true
	for _, img := range named {
		if to, ok := images[img]; ok && to != img {
			asWritten = false
		}
	}
	if asWritten {
		fmt.Println(filepath.Join("manifests", which))
		return nil
	}
	made, err := course.RenderManifests(fsys, which+"/*.yaml", dir, images)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "lab: manifests/%s with the images this lab runs (%s), written to %s\n", which, strings.Join(made, ", "), dir)
	fmt.Println(dir)
	return nil
}

// probePod is the lab's probe pod in namespace: a Ready one of image, else a new one.
func probePod(ctx context.Context, c course.Course, image string) (string, error) {
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: headless.ProbeLabel})
	if err != nil {
		return "", err
	}
	for _, p := range pods.Items {
		if headless.PodReady(p) && p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == image {
			return p.Name, nil
		}
	}
	name, err := headless.StartProbePod(ctx, headless.ProbePodInput{Client: c.Client, Namespace: namespace, Image: image})
	if err == nil {
		fmt.Fprintf(os.Stderr, "lab: the lab's checks ask DNS from a pod of their own, %s (image %s), so they depend on nothing the client image carries\n", name, image)
	}
	return name, err
}

func connect(ctx context.Context, probeImage string) (course.Course, error) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return course.Course{}, errors.New("KUBECONFIG is not set: run through make lab")
	}
	// The lab has brought its cluster up already: connect as to an existing one.
	conn, err := harness.Connect(ctx, harness.Settings{UseExisting: true, Kubeconfig: kubeconfig}, versions.Versions{}, os.Stderr)
	if err != nil {
		return course.Course{}, err
	}
	c := conn.Course(namespace)
	if c.Families, err = kube.NodeFamilies(ctx, conn.Client); err != nil {
		return c, err
	}
	if c.AskFrom, err = probePod(ctx, c, probeImage); err != nil {
		return c, err
	}
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return c, err
	}
	c.Zone, err = headless.Zone(ctx, from)
	return c, err
}

func readSnapshot(snapshot string) ([]headless.PodAddr, error) {
	data, err := os.ReadFile(snapshot)
	if err != nil {
		return nil, err
	}
	var before []headless.PodAddr
	if err := json.Unmarshal(data, &before); err != nil {
		return nil, fmt.Errorf("%s: %w", snapshot, err)
	}
	return before, nil
}

// jvm tells the learner what the Java client, started before the delete, made of the
// replacement: its lookups of hello-kubernetes-0, old IP or new, from its own output.
func jvm(ctx context.Context, c course.Course, file, snapshot string) error {
	before, err := readSnapshot(snapshot)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	lookups, err := resolvers.ParseLookups(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(lookups) == 0 {
		return fmt.Errorf("the Java client printed no lookup (%s)", file)
	}
	pod, _, _ := strings.Cut(lookups[0].Name, ".")
	var old headless.PodAddr
	for _, p := range before {
		if p.Name == pod {
			old = p
		}
	}
	if old.Name == "" {
		return fmt.Errorf("the Java client asked for %s, not a pod of the snapshot %s", lookups[0].Name, snapshot)
	}
	now, err := c.Pod(ctx, old.Name)
	if err != nil {
		return err
	}
	// Every family's addresses: on a dual-stack cluster the JVM returns both (IPv4 first).
	oldIPs, newIPs := ips(old), ips(now)
	count := map[string]int{}
	for _, l := range lookups {
		switch got := ips(headless.PodAddr{IPs: l.Addrs}); {
		case got == oldIPs:
			count["old"]++
		case got == newIPs:
			count["new"]++
		default:
			return fmt.Errorf("the Java client answered %s: neither %s's old IP %s nor its new %s", l, old.Name, oldIPs, newIPs)
		}
	}
	last := lookups[len(lookups)-1]
	which := "the old"
	if ips(headless.PodAddr{IPs: last.Addrs}) == newIPs {
		which = "the new"
	}
	fmt.Printf("lab: the Java client asked for %s %d times since before the delete: %d answers the old IP %s, %d the new %s; its last answer, %s ago, was %s one.\n",
		old.Name, len(lookups), count["old"], oldIPs, count["new"], newIPs, time.Since(last.Time()).Round(time.Second), which)
	fmt.Println("lab: the JVM keeps a successful lookup for networkaddress.cache.ttl (30 s by default): a Java client keeps talking to a replaced pod's old IP for up to 30 s, where dig, glibc and musl follow at once.")
	return nil
}

// follow shows the learner, right after the delete, what hello-kubernetes-0's name answers
// while the caches hold the old one: every change of answer, timed from the new pod's Ready,
// until the setup's cache bound has passed; then when it last answered the old IP. With more
// than one cache (2 CoreDNS replicas), old and new can alternate, so the first new answer
// says nothing: only the bound does.
func follow(ctx context.Context, c course.Course, snapshot string) error {
	before, err := readSnapshot(snapshot)
	if err != nil {
		return err
	}
	b, err := dnsprofile.Detect(ctx, c.Client, c.Zone)
	if err != nil {
		return err
	}
	old := before[0]
	pod, err := c.Client.CoreV1().Pods(c.Namespace).Get(ctx, old.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	ready := readySince(*pod)
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return err
	}
	name := old.Name + "." + course.CourseService
	// Asked in the cluster's first family (A; AAAA on ipv6): the caches hold every type alike.
	qtype, newIP := c.PrimaryType(), pod.Status.PodIP
	until := ready.Add(b.Success + course.CacheSlack)
	last, changes := "", 0
	newSince := -1.0 // the first of the answers with the new IP that no other answer followed
	for {
		a, err := from.Ask(ctx, dns.Query{Name: name, Type: qtype, Search: true})
		if err != nil {
			return err
		}
		got := strings.Join(a.Values(qtype), " ")
		if got == "" {
			got = a.Rcode
		}
		at := time.Since(ready).Seconds()
		switch {
		case got != newIP:
			newSince = -1
		case newSince < 0:
			newSince = at
		}
		if got != last {
			what := "not the new pod's IP"
			switch got {
			case old.IP:
				what = "the old pod's IP, from a cache"
			case newIP:
				what = "the new pod's IP"
			}
			fmt.Printf("lab: %+5.1f s after the new pod was Ready: %s answers %s (%s)\n", at, name, got, what)
			last, changes = got, changes+1
		}
		if time.Now().After(until) {
			if got != newIP {
				return fmt.Errorf("%s still answers %s %.1f s after the new pod %s was Ready, past this cluster's cache bound (%s)", name, got, at, newIP, b)
			}
			fmt.Printf("lab: followed after %.1f s: %s answers %s, the new pod's IP, every time since (Ready at %s; asked until the %s bound, %s, had passed; the answer changed %d times)\n",
				newSince, name, got, ready.Format(time.TimeOnly), b.Profile, b.Success, changes-1)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ips is a pod's addresses, every family, as the lab prints them: "10.244.1.5,fd00:10:244:1::5".
func ips(p headless.PodAddr) string { return strings.Join(course.AllIPs([]headless.PodAddr{p}), ",") }

// answers asks each check once and returns every one that failed.
func answers(ctx context.Context, from headless.From, checks []headless.DNSCheck) error {
	var errs []error
	for _, check := range checks {
		a, err := from.Ask(ctx, check.Query)
		if err == nil {
			err = check.Want(a)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// readySince is when the pod last turned Ready (to the second, as the API keeps it).
func readySince(p corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Now()
}

// summary is the lab's last table and its verdict: same names, new IPs.
func summary(ctx context.Context, c course.Course, snapshot string) error {
	before, err := readSnapshot(snapshot)
	if err != nil {
		return err
	}
	if _, err := c.Restore(ctx, nil); err != nil {
		return err
	}
	after, err := c.AwaitReadyPods(ctx)
	if err != nil {
		return err
	}
	from, err := c.ClientFrom(ctx)
	if err != nil {
		return err
	}
	now := map[string]headless.PodAddr{}
	for _, p := range after {
		now[p.Name] = p
	}
	var problems []error
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "POD\tOLD IP\tNEW IP\tNAME FOLLOWED")
	for _, old := range before {
		p := now[old.Name]
		err := answers(ctx, from, c.Addresses(dns.Query{Name: old.Name + "." + course.CourseService, Search: true}, p))
		if err == nil && (p.UID == old.UID || p.IP == old.IP) {
			err = fmt.Errorf("%s was not replaced: UID %s, IP %s as before", old.Name, p.UID, p.IP)
		}
		followed := "yes"
		if err != nil {
			followed, problems = "no", append(problems, err)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", old.Name, ips(old), ips(p), followed)
	}
	_ = w.Flush()
	if err := answers(ctx, from, c.Addresses(dns.Query{Name: course.CourseService, Search: true}, after...)); err != nil {
		problems = append(problems, err)
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("a name did not follow its pod: %w", err)
	}
	var all []string
	for _, f := range c.Families {
		all = append(all, headless.IPsOf(after, f)...)
	}
	fmt.Printf("lab: every name followed its pod, and %s answers exactly the new IPs %v\n", course.CourseService, all)
	return nil
}
