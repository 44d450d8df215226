// Command dnsprobe asks DNS from inside a pod and prints the answer as one line of JSON, so the
// suite judges structured answers instead of scraping dig's or nslookup's text. It is the
// asking half of package dns (pkg/dns), built into the client image:
//
//	dnsprobe '{"name":"headless-demo","search":true}'
//
// The query is a dns.Query in JSON; the nameservers and search list are the pod's own
// /etc/resolv.conf. DNS failures (NXDOMAIN, TIMEOUT) are answers and exit 0; exit 2 is for a
// query that cannot be read. Two words serve an image that holds nothing but this program
// (make probe-image): `dnsprobe resolv.conf` prints the pod's /etc/resolv.conf (where the
// cluster's zone is read from), and `dnsprobe idle` waits for SIGTERM, as a probe pod's main
// process.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, `usage: dnsprobe '{"name":"<name>","type":"A","search":true}' | resolv.conf | idle`)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "resolv.conf":
		text, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			fmt.Fprintln(os.Stderr, "dnsprobe:", err)
			os.Exit(1)
		}
		os.Stdout.Write(text)
		return
	case "idle":
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		return
	}
	var q dns.Query
	if err := json.Unmarshal([]byte(os.Args[1]), &q); err != nil || q.Name == "" {
		fmt.Fprintf(os.Stderr, "dnsprobe: want a query as JSON with a name: %v\n", err)
		os.Exit(2)
	}
	text, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dnsprobe:", err)
		os.Exit(2)
	}
	conf, err := dns.ParseResolvConf(string(text))
	if err != nil {
		fmt.Fprintln(os.Stderr, "dnsprobe:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := json.NewEncoder(os.Stdout).Encode(dns.Exchange(ctx, q, conf)); err != nil {
		fmt.Fprintln(os.Stderr, "dnsprobe:", err)
		os.Exit(1)
	}
}
