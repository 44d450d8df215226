package resolvers

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// fakeStreamer prints lines as a probe would, then exits with err.
type fakeStreamer struct {
	stdout, stderr string
	err            error
}

func (f fakeStreamer) Exec(context.Context, string, string, []string) (string, string, error) {
	return "", "", errors.New("not used")
}

func (f fakeStreamer) Stream(_ context.Context, _, _ string, _ []string, stdout, stderr io.Writer) error {
	io.WriteString(stderr, f.stderr)
	for _, line := range strings.SplitAfter(f.stdout, "\n") {
		if _, err := io.WriteString(stdout, line); err != nil {
			return err
		}
	}
	return f.err
}

func probeInput(t *testing.T, s fakeStreamer) ProbeInput {
	return ProbeInput{From: headless.From{Exec: s, Namespace: "ns", Pod: "resolvers"}, Resolver: resolver(t, "glibc"), Names: []string{"headless-demo"}}
}

func TestProbeCollectsLookups(t *testing.T) {
	out := `{"name":"headless-demo","at":1800000000000,"ms":0.8,"addrs":["10.244.1.2","10.244.2.3"],"error":""}
{"name":"headless-demo","at":1800000000100,"ms":0.5,"addrs":[],"error":"Name or service not known"}
`
	lookups, err := RunProbe(context.Background(), probeInput(t, fakeStreamer{stdout: out}))
	if err != nil {
		t.Fatal(err)
	}
	if len(lookups) != 2 || lookups[0].Addrs[1] != "10.244.2.3" || lookups[1].Error == "" || lookups[1].Time().UnixMilli() != 1800000000100 {
		t.Fatalf("lookups %+v", lookups)
	}
}

func TestProbeFailuresNameTheCause(t *testing.T) {
	// A probe that cannot start: no lookup, its stderr in the error, and the wait for first
	// lookups ends on that error, not on its deadline.
	p, err := StartProbe(context.Background(), probeInput(t, fakeStreamer{stderr: "exec: gai-glibc: not found", err: errors.New("command terminated with exit code 127")}))
	if err != nil {
		t.Fatal(err)
	}
	err = AwaitProbesStarted(context.Background(), []*Probe{p}, 30*time.Second)
	wantErr(t, err, "glibc", "exit code 127", "gai-glibc: not found")
	if strings.Contains(err.Error(), "no lookup yet") {
		t.Errorf("the wait ran to its deadline instead of stopping on the probe's end: %v", err)
	}
	// A line that is not a lookup.
	_, err = RunProbe(context.Background(), probeInput(t, fakeStreamer{stdout: "Segmentation fault\n"}))
	wantErr(t, err, `glibc: printed "Segmentation fault", not a lookup`)
	_, err = RunProbe(context.Background(), probeInput(t, fakeStreamer{stdout: `{"addrs":["10.0.0.1"]}` + "\n"}))
	wantErr(t, err, "a lookup without its name or time")
	// Not a streaming executor.
	_, err = StartProbe(context.Background(), ProbeInput{From: headless.From{Exec: execOnly{}, Namespace: "ns", Pod: "p"}, Resolver: resolver(t, "dig"), Names: []string{"x"}})
	wantErr(t, err, "cannot stream")
}

type execOnly struct{}

func (execOnly) Exec(context.Context, string, string, []string) (string, string, error) {
	return "", "", nil
}
