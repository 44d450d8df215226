// Command resolve is the resolvers image's Go probe: Go's resolver as a Go application calls
// it (net.Resolver.LookupIPAddr), or with -dig BIND's dig, in a loop, one JSON line per lookup
// (the same contract as gai.c and Probe.java). Which Go resolver answers is GODEBUG's choice:
// netdns=go for the pure Go one, netdns=cgo for getaddrinfo through cgo.
//
//	resolve [-dig] INTERVAL_MS DURATION_MS NAME...
//	resolve -local
//
// -local prints the pod's own addresses with their prefix lengths, as a JSON list: the source
// subnet glibc's RFC 3484 sort (rule 9) looks at.
//
// It imports nothing outside the standard library: the image build compiles it alone, with
// cgo, against the image's own glibc.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

type lookup struct {
	Name  string   `json:"name"`
	At    int64    `json:"at"`
	MS    float64  `json:"ms"`
	Addrs []string `json:"addrs"`
	Error string   `json:"error"`
}

func main() {
	dig := flag.Bool("dig", false, "ask BIND's dig (+search, one process per lookup: it keeps no state) instead of Go's resolver")
	local := flag.Bool("local", false, "print this pod's addresses with their prefix lengths and exit")
	flag.Parse()
	if *local {
		printLocal()
		return
	}
	args := flag.Args()
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: resolve [-dig] INTERVAL_MS DURATION_MS NAME...")
		os.Exit(2)
	}
	interval, err1 := strconv.Atoi(args[0])
	duration, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "resolve: INTERVAL_MS and DURATION_MS must be integers")
		os.Exit(2)
	}
	ask := goLookup
	if *dig {
		ask = digLookup
	}
	out := json.NewEncoder(os.Stdout)
	start := time.Now()
	for {
		for _, name := range args[2:] {
			at := time.Now()
			addrs, err := ask(name)
			l := lookup{Name: name, At: at.UnixMilli(), MS: float64(time.Since(at).Microseconds()) / 1e3, Addrs: addrs}
			if err != nil {
				l.Error = err.Error()
			}
			_ = out.Encode(l)
		}
		if time.Since(start)+time.Duration(interval)*time.Millisecond >= time.Duration(duration)*time.Millisecond {
			return
		}
		time.Sleep(time.Duration(interval) * time.Millisecond)
	}
}

func goLookup(name string) ([]string, error) {
	ips, err := net.DefaultResolver.LookupIPAddr(context.Background(), name)
	addrs := make([]string, 0, len(ips))
	for _, ip := range ips {
		addrs = append(addrs, ip.String())
	}
	return addrs, err
}

// digLookup asks A then AAAA, as getaddrinfo does with AF_UNSPEC, in one dig process, and
// keeps each answer's order: the server's, A records first. +short prints CNAME targets too,
// which are not addresses.
func digLookup(name string) ([]string, error) {
	out, err := exec.Command("dig", "+search", "+short", name, "A", name, "AAAA").Output()
	if err != nil {
		return nil, fmt.Errorf("dig: %w", err)
	}
	addrs := []string{}
	for _, line := range strings.Fields(string(out)) {
		if net.ParseIP(line) != nil {
			addrs = append(addrs, line)
		}
	}
	if len(addrs) == 0 {
		return addrs, fmt.Errorf("dig: no address for %s", name)
	}
	return addrs, nil
}

func printLocal() {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		fmt.Fprintln(os.Stderr, "resolve:", err)
		os.Exit(1)
	}
	prefixes := []string{}
	for _, a := range addrs {
		prefixes = append(prefixes, a.String())
	}
	_ = json.NewEncoder(os.Stdout).Encode(prefixes)
}
