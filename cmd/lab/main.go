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
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/headless-e2e/headless-e2e/e2e/framework"
	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
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
	if len(args) == 0 || (args[0] != "await" && len(args) != 2) {
		return errors.New("usage: lab await | snapshot FILE | summary FILE")
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
		pods, err := course.ReadyPods(ctx)
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
	}
	return fmt.Errorf("unknown verb %q: want await, snapshot or summary", args[0])
}

func connect(ctx context.Context) (framework.Course, error) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return framework.Course{}, errors.New("KUBECONFIG is not set: run through make lab")
	}
	// The lab has brought its cluster up already: connect as to an existing one.
	conn, err := framework.Connect(ctx, framework.Settings{UseExisting: true, Kubeconfig: kubeconfig}, versions.Versions{}, os.Stderr)
	if err != nil {
		return framework.Course{}, err
	}
	c := conn.Course(namespace)
	from, err := c.From(ctx)
	if err != nil {
		return c, err
	}
	c.Zone, err = framework.Zone(ctx, from)
	return c, err
}

// summary is the lab's last table and its verdict: same names, new IPs.
func summary(ctx context.Context, c framework.Course, snapshot string) error {
	data, err := os.ReadFile(snapshot)
	if err != nil {
		return err
	}
	var before []framework.PodAddr
	if err := json.Unmarshal(data, &before); err != nil {
		return fmt.Errorf("%s: %w", snapshot, err)
	}
	if _, err := c.Restore(ctx, nil); err != nil {
		return err
	}
	after, err := c.ReadyPods(ctx)
	if err != nil {
		return err
	}
	from, err := c.From(ctx)
	if err != nil {
		return err
	}
	now := map[string]framework.PodAddr{}
	for _, p := range after {
		now[p.Name] = p
	}
	var problems []error
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "POD\tOLD IP\tNEW IP\tNAME FOLLOWED")
	for _, old := range before {
		p := now[old.Name]
		a, err := from.Ask(ctx, dns.Query{Name: old.Name + "." + framework.CourseService, Search: true})
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
	a, err := from.Ask(ctx, dns.Query{Name: framework.CourseService, Search: true})
	if err == nil {
		err = dns.Exactly("A", framework.IPs(after)...)(a)
	}
	if err != nil {
		problems = append(problems, err)
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("a name did not follow its pod: %w", err)
	}
	fmt.Printf("lab: every name followed its pod, and %s answers exactly the new IPs %v\n", framework.CourseService, framework.IPs(after))
	return nil
}
