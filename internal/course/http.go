package course

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"github.com/headless-e2e/headless-e2e/pkg/poll"
)

// Reply is one request's outcome: who answered (the hello server's identity), or the failure.
type Reply struct {
	URL  string
	Code int    // HTTP status; 0 when no response came
	Pod  string // identity the server reported
	IP   string
}

// Host is the host the request was sent to (an IP, or a Service name).
func (r Reply) Host() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// curlWriteOut ends every response with a line of our own, so replies stay apart even when a
// request fails and prints no body.
const curlWriteOut = "\nURL=%{url_effective} CODE=%{http_code}\n"

// ParseCurlReplies reads the output of one curl run over many URLs with curlWriteOut: each
// reply is an optional JSON body line followed by its URL=... CODE=... line.
func ParseCurlReplies(out string) ([]Reply, error) {
	var replies []Reply
	body := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "URL="):
			u, code, ok := strings.Cut(strings.TrimPrefix(line, "URL="), " CODE=")
			if !ok {
				return replies, fmt.Errorf("bad curl write-out line %q", line)
			}
			r := Reply{URL: u}
			r.Code, _ = strconv.Atoi(code)
			if body != "" {
				var id struct{ Pod, IP string }
				if err := json.Unmarshal([]byte(body), &id); err != nil {
					return replies, fmt.Errorf("reply from %s is not the hello server's JSON identity: %q", u, body)
				}
				r.Pod, r.IP = id.Pod, id.IP
			}
			replies = append(replies, r)
			body = ""
		default:
			body = line
		}
	}
	return replies, nil
}

// RequestsInput is a batch of GETs to send from a pod, one after the other.
type RequestsInput struct {
	From headless.From
	URLs []string
}

func (in RequestsInput) validate() error {
	if err := in.From.Validate(); err != nil {
		return err
	}
	if len(in.URLs) == 0 {
		return errors.New("RequestsInput.URLs is empty: nothing to request")
	}
	return nil
}

// Requests sends the GETs with one curl process, each on a fresh connection ("Connection:
// close"): kube-proxy picks a backend per connection, and a kept-alive connection would pin
// every request to the first pod. A failed request is a Reply with Code 0, not an error;
// errors are for the batch not running or its output not matching the URLs.
func Requests(ctx context.Context, in RequestsInput) ([]Reply, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	args := append([]string{"curl", "-sS", "--connect-timeout", "2", "--max-time", "5", "-H", "Connection: close", "-w", curlWriteOut}, in.URLs...)
	stdout, stderr, err := in.From.Run(ctx, args...)
	replies, perr := ParseCurlReplies(stdout)
	if perr != nil {
		return replies, perr
	}
	if len(replies) != len(in.URLs) {
		return replies, fmt.Errorf("curl answered %d of %d requests (exec: %v): %s", len(replies), len(in.URLs), err, stderr)
	}
	return replies, nil
}

// Balancer is a client-side load-balancing policy: the address request i goes to, out of a
// headless Service's answer.
type Balancer func(ips []string, i int) string

// RoundRobin sends request i to ips[i mod len]: what a client-side balancer (gRPC's
// round_robin) does with a headless Service's answer.
func RoundRobin(ips []string, i int) string { return ips[i%len(ips)] }

// FirstAddress sends every request to the first address, as a naive client that resolves once
// and dials the first result does. It is the negative control of client-side balancing.
func FirstAddress(ips []string, _ int) string { return ips[0] }

// BalancedURLs are n requests to port and path, addressed by the balancer over ips.
func BalancedURLs(balance Balancer, ips []string, n, port int, path string) []string {
	var urls []string
	for i := range n {
		urls = append(urls, fmt.Sprintf("http://%s%s", net.JoinHostPort(balance(ips, i), strconv.Itoa(port)), path))
	}
	return urls
}

// SameURL is n copies of one URL.
func SameURL(u string, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = u
	}
	return urls
}

// Tally counts the successful replies per answering pod.
func Tally(replies []Reply) map[string]int {
	t := map[string]int{}
	for _, r := range replies {
		if r.Code == 200 {
			t[r.Pod]++
		}
	}
	return t
}

// CheckEvenSpread fails unless every request succeeded, every reply came from the pod the
// request was addressed to (byIP: IP -> pod name), and every pod served exactly its share.
func CheckEvenSpread(replies []Reply, byIP map[string]string) error {
	if len(byIP) == 0 || len(replies)%len(byIP) != 0 {
		return fmt.Errorf("%d requests cannot be spread evenly over %d pods", len(replies), len(byIP))
	}
	for i, r := range replies {
		if r.Code != 200 {
			return fmt.Errorf("request %d to %s failed (HTTP %d)", i, r.URL, r.Code)
		}
		if want := byIP[r.Host()]; r.Pod != want || r.IP != r.Host() {
			return fmt.Errorf("request %d to %s was answered by %s (%s), want %s", i, r.URL, r.Pod, r.IP, want)
		}
	}
	share := len(replies) / len(byIP)
	tally := Tally(replies)
	for _, pod := range byIP {
		if tally[pod] != share {
			return fmt.Errorf("pod %s served %d requests, want exactly %d; tally %v", pod, tally[pod], share, tally)
		}
	}
	return nil
}

// CheckServedBy fails unless every request succeeded and each reply came from one of pods.
func CheckServedBy(replies []Reply, pods []string) error {
	for i, r := range replies {
		if r.Code != 200 {
			return fmt.Errorf("request %d to %s failed (HTTP %d)", i, r.URL, r.Code)
		}
		if !slices.Contains(pods, r.Pod) {
			return fmt.Errorf("request %d to %s was answered by %q, not one of %v", i, r.URL, r.Pod, pods)
		}
	}
	return nil
}

// FormatTally is a small table: one line per pod (every pod in pods, also those that served
// nothing), its count and a bar.
func FormatTally(title string, tally map[string]int, pods []string) string {
	var b strings.Builder
	total := 0
	for _, n := range tally {
		total += n
	}
	fmt.Fprintf(&b, "%s (%d requests)\n", title, total)
	names := slices.Clone(pods)
	sort.Strings(names)
	for _, p := range names {
		fmt.Fprintf(&b, "  %-20s %3d %s\n", p, tally[p], strings.Repeat("#", tally[p]))
	}
	return b.String()
}

// AwaitReplyInput is a URL to poll until it answers 200.
type AwaitReplyInput struct {
	From    headless.From
	URL     string
	Timeout time.Duration
}

func (in AwaitReplyInput) validate() error {
	if err := in.From.Validate(); err != nil {
		return err
	}
	if in.URL == "" || in.Timeout <= 0 {
		return fmt.Errorf("AwaitReplyInput needs URL and a Timeout > 0 (got %q, %s)", in.URL, in.Timeout)
	}
	return nil
}

// AwaitReply polls the URL until a 200 comes (a new Service's rules reach kube-proxy a little
// after the Service exists); on timeout the error says what the last try got.
func AwaitReply(ctx context.Context, in AwaitReplyInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	return poll.Retry(ctx, poll.Input{What: "GET " + in.URL, Timeout: in.Timeout, Interval: 200 * time.Millisecond}, func(ctx context.Context) (bool, string, error) {
		replies, err := Requests(ctx, RequestsInput{From: in.From, URLs: []string{in.URL}})
		if err != nil {
			return false, "", err
		}
		return replies[0].Code == 200, fmt.Sprintf("HTTP %d", replies[0].Code), nil
	})
}
