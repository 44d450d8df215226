package framework

import (
	"testing"
	"time"
)

func TestCountStale(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ans := func(ips ...string) Answer { return Answer{Name: "n", IPs: ips, Rcode: "NOERROR"} }
	log := []QueryLog{
		{At: at(0.1), Answer: ans("10.0.0.1")},             // old, before convergence
		{At: at(0.5), Answer: ans("10.0.0.9")},             // new, before
		{At: at(1.0), Answer: ans("10.0.0.9")},             // new, after
		{At: at(1.2), Answer: ans("10.0.0.9", "10.0.0.1")}, // stale after
		{At: at(1.3), Err: errFake},
	}
	r := CountStale(log, []string{"10.0.0.1"}, at(1.0))
	if r.Queries != 5 || r.Errors != 1 || r.StaleBefore != 1 || r.AfterConvergence != 2 || r.StaleAfter != 1 || len(r.Examples) != 1 {
		t.Fatalf("CountStale = %+v", r)
	}
}

var errFake = fakeErr("exec failed")

type fakeErr string

func (e fakeErr) Error() string { return string(e) }
