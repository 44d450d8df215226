package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A wait cut short by Ctrl-C must say so, not claim a timeout it never reached.
func TestPollSaysInterruptedNotTimedOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Poll(ctx, "waiting for the thing", time.Minute, time.Millisecond, func(context.Context) (bool, string, error) {
		return false, "2/3 ready", nil
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for the thing: interrupted (context canceled); last seen: 2/3 ready") {
		t.Fatalf("err = %v", err)
	}
}
