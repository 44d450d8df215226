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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/resolvers"
	"github.com/headless-e2e/headless-e2e/internal/versions"
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
	if len(args) == 0 || (args[0] != "await" && len(args) != 2 && !(args[0] == "jvm" && len(args) == 3)) {
		return errors.New("usage: lab await | snapshot FILE | summary FILE | jvm FILE SNAPSHOT")
	}
	course, err := connect(ctx)
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
	}
	return fmt.Errorf("unknown verb %q: want await, snapshot, summary or jvm", args[0])
}

func connect(ctx context.Context) (course.Course, error) {
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
	count := map[string]int{}
	for _, l := range lookups {
		switch {
		case len(l.Addrs) == 1 && l.Addrs[0] == old.IP:
			count["old"]++
		case len(l.Addrs) == 1 && l.Addrs[0] == now.IP:
			count["new"]++
		default:
			return fmt.Errorf("the Java client answered %s: neither %s's old IP %s nor its new %s", l, old.Name, old.IP, now.IP)
		}
	}
	last := lookups[len(lookups)-1]
	which := "the old"
	if last.Addrs[0] == now.IP {
		which = "the new"
	}
	fmt.Printf("lab: the Java client asked for %s %d times since before the delete: %d answers the old IP %s, %d the new %s; its last answer, %s ago, was %s one.\n",
		old.Name, len(lookups), count["old"], old.IP, count["new"], now.IP, time.Since(last.Time()).Round(time.Second), which)
	fmt.Println("lab: the JVM keeps a successful lookup for networkaddress.cache.ttl (30 s by default): a Java client keeps talking to a replaced pod's old IP for up to 30 s, where dig, glibc and musl follow at once.")
	return nil
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
		a, err := from.Ask(ctx, dns.Query{Name: old.Name + "." + course.CourseService, Search: true})
		if err == nil {
			err = dns.Exactly("A", p.IP)(a)
		}
		if err == nil && (p.UID == old.UID || p.IP == old.IP) {
			err = fmt.Errorf("%s was not replaced: UID %s, IP %s as before", old.Name, p.UID, p.IP)
		}
		followed := "yes"
		if err != nil {
			followed, problems = "no", append(problems, err)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", old.Name, old.IP, p.IP, followed)
	}
	_ = w.Flush()
	a, err := from.Ask(ctx, dns.Query{Name: course.CourseService, Search: true})
	if err == nil {
		err = dns.Exactly("A", headless.IPs(after)...)(a)
	}
	if err != nil {
		problems = append(problems, err)
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("a name did not follow its pod: %w", err)
	}
	fmt.Printf("lab: every name followed its pod, and %s answers exactly the new IPs %v\n", course.CourseService, headless.IPs(after))
	return nil
}
