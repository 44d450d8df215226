package parallel

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestDoRunsEveryCallWithinTheLimit(t *testing.T) {
	var running, most, calls atomic.Int32
	err := Do(10, 3, func(i int) error {
		calls.Add(1)
		now := running.Add(1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		if i == 4 || i == 7 {
			return errors.New("call failed")
		}
		return nil
	})
	if calls.Load() != 10 || most.Load() > 3 || most.Load() < 2 {
		t.Fatalf("%d calls, at most %d at once", calls.Load(), most.Load())
	}
	if err == nil || err.Error() != "call failed\ncall failed" {
		t.Fatalf("err = %v", err)
	}
	if err := Do(0, 0, func(int) error { return errors.New("never called") }); err != nil {
		t.Fatal(err)
	}
}
