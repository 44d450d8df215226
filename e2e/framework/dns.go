package framework

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
)

// Answer is what BIND's nslookup printed for one name: the addresses it answered (A and AAAA),
// or the failure it reported, and the raw output for messages.
type Answer struct {
	Name  string
	IPs   []string
	Names []string // the canonical names the answers were for
	// Rcode is NOERROR when addresses came back, else what nslookup reported: NXDOMAIN,
	// SERVFAIL, NODATA (no address record), or TIMEOUT.
	Rcode string
	Raw   string
}

func (a Answer) String() string {
	if a.Rcode != "NOERROR" {
		return fmt.Sprintf("%s -> %s", a.Name, a.Rcode)
	}
	return fmt.Sprintf("%s -> %v", a.Name, a.IPs)
}

// ParseNslookup reads BIND nslookup output. The first block (Server/Address of the resolver
// itself) is not an answer; each later "Address:" line is.
func ParseNslookup(name, out string) Answer {
	a := Answer{Name: name, Raw: out}
	switch {
	case strings.Contains(out, "NXDOMAIN"):
		a.Rcode = "NXDOMAIN"
		return a
	case strings.Contains(out, "SERVFAIL"):
		a.Rcode = "SERVFAIL"
		return a
	case strings.Contains(out, "timed out") || strings.Contains(out, "no servers could be reached"):
		a.Rcode = "TIMEOUT"
		return a
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	inHeader := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if inHeader {
			if line == "" {
				inHeader = false
			}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Name":
			a.Names = append(a.Names, value)
		case "Address":
			if net.ParseIP(value) != nil {
				a.IPs = append(a.IPs, value)
			}
		}
	}
	a.Rcode = "NOERROR"
	if len(a.IPs) == 0 {
		a.Rcode = "NODATA"
	}
	return a
}

// LookupInput names the pod to resolve from and the name to resolve.
type LookupInput struct {
	Exec      Executor
	Namespace string
	Pod       string
	Name      string
}

// Lookup runs BIND's nslookup in the client pod, as the course does. nslookup exits 1 on
// NXDOMAIN; that is an answer, not an error. Errors are for exec failing.
func Lookup(ctx context.Context, in LookupInput) (Answer, error) {
	stdout, stderr, err := in.Exec.Exec(ctx, in.Namespace, in.Pod, []string{"nslookup", "-timeout=2", "-retry=1", in.Name})
	out := stdout + stderr
	if err != nil && !strings.Contains(out, "server can't find") && !strings.Contains(out, "timed out") {
		return Answer{}, fmt.Errorf("nslookup %s in pod %s/%s: %w: %s", in.Name, in.Namespace, in.Pod, err, out)
	}
	return ParseNslookup(in.Name, out), nil
}

// Dig runs `dig +short` for a record type and returns its answer lines.
func Dig(ctx context.Context, in LookupInput, qtype string, extra ...string) ([]string, error) {
	args := append([]string{"dig", "+short", "+timeout=2", "+tries=2", "-t", qtype, in.Name}, extra...)
	stdout, stderr, err := in.Exec.Exec(ctx, in.Namespace, in.Pod, args)
	if err != nil {
		return nil, fmt.Errorf("%s in pod %s/%s: %w: %s", strings.Join(args, " "), in.Namespace, in.Pod, err, stdout+stderr)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewBufferString(stdout))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, ";") {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// ClusterZone reads the cluster DNS zone from a pod's resolv.conf search list
// ("search <ns>.svc.<zone> svc.<zone> <zone>"), so nothing assumes cluster.local.
func ClusterZone(resolvConf, namespace string) (string, error) {
	prefix := namespace + ".svc."
	for _, line := range strings.Split(resolvConf, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "search" {
			continue
		}
		for _, d := range f[1:] {
			if strings.HasPrefix(d, prefix) {
				return strings.TrimSuffix(strings.TrimPrefix(d, prefix), "."), nil
			}
		}
	}
	return "", fmt.Errorf("no %s<zone> entry in the pod's resolv.conf search list:\n%s", prefix, resolvConf)
}
