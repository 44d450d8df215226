package poll

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetryChecksInputUpFront(t *testing.T) {
	calls := 0
	check := func(context.Context) (bool, string, error) { calls++; return true, "", nil }
	for _, in := range []Input{
		{What: "x"},
		{What: "x", Timeout: -time.Second},
		{What: "x", Timeout: time.Second, Interval: -1},
		{Timeout: time.Second},
	} {
		if err := Retry(context.Background(), in, check); err == nil {
			t.Errorf("%+v: no error", in)
		}
	}
	if calls != 0 {
		t.Fatalf("check called %d times for invalid inputs", calls)
	}
}

// A wait cut short by Ctrl-C must say so, not claim a timeout it never reached.
func TestRetrySaysInterruptedNotTimedOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Retry(ctx, Input{What: "waiting for the thing", Timeout: time.Minute, Interval: time.Millisecond}, func(context.Context) (bool, string, error) {
		return false, "2/3 ready", nil
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for the thing: interrupted (context canceled)") {
		t.Fatalf("err = %v", err)
	}
}

// The last observation survives a final call that the deadline cut short: the message must
// say "CoreDNS 0 of 0 available", not the API error the deadline caused.
func TestRetryKeepsTheLastObservationNotTheCutShortCall(t *testing.T) {
	n := 0
	err := Retry(context.Background(), Input{What: "CoreDNS Available", Timeout: 50 * time.Millisecond, Interval: time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			n++
			if n == 1 {
				return false, "coredns available 0/0", nil
			}
			<-ctx.Done() // the API call that the deadline interrupts
			return false, "API server: " + ctx.Err().Error(), ctx.Err()
		})
	if err == nil || !strings.Contains(err.Error(), "last seen (at +") || !strings.Contains(err.Error(), "coredns available 0/0") || strings.Contains(err.Error(), "API server") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryReportsTransientErrorsAndKeepsGoing(t *testing.T) {
	n := 0
	err := Retry(context.Background(), Input{What: "w", Timeout: time.Second, Interval: time.Millisecond}, func(context.Context) (bool, string, error) {
		n++
		if n < 3 {
			return false, "", errors.New("connection refused")
		}
		return true, "ok", nil
	})
	if err != nil || n != 3 {
		t.Fatalf("err %v after %d checks", err, n)
	}
	err = Retry(context.Background(), Input{What: "w", Timeout: 20 * time.Millisecond, Interval: time.Millisecond}, func(context.Context) (bool, string, error) {
		return false, "1/3", errors.New("exec failed")
	})
	if err == nil || !strings.Contains(err.Error(), "last seen (at +") || !strings.Contains(err.Error(), "1/3; last error: exec failed") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryStopsAtOnceOnStop(t *testing.T) {
	start := time.Now()
	cause := errors.New("pod x is stuck in CrashLoopBackOff")
	err := Retry(context.Background(), Input{What: "3 Ready pods", Timeout: time.Minute, Interval: time.Millisecond}, func(context.Context) (bool, string, error) {
		return false, "", Stop(cause)
	})
	if !errors.Is(err, cause) || err.Error() != "3 Ready pods: pod x is stuck in CrashLoopBackOff" || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestRetryChecksImmediately(t *testing.T) {
	start := time.Now()
	if err := Retry(context.Background(), Input{What: "x", Timeout: time.Minute, Interval: time.Minute}, func(context.Context) (bool, string, error) { return true, "", nil }); err != nil || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}
