// Command dnsprobe asks DNS from inside a pod and prints the answer as one line of JSON, so the
// suite judges structured answers instead of scraping dig's or nslookup's text. It is the
// asking half of package dns (pkg/dns), built into the client image:
//
//	dnsprobe '{"name":"headless-demo","search":true}'
//
// The query is a dns.Query in JSON; the nameservers and search list are the pod's own
// /etc/resolv.conf. DNS failures (NXDOMAIN, TIMEOUT) are answers and exit 0; exit 2 is for a
// query that cannot be read.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, `usage: dnsprobe '{"name":"<name>","type":"A","search":true}'`)
		os.Exit(2)
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
