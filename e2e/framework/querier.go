package framework

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// QueryLog is one answer a continuous querier got.
type QueryLog struct {
	At     time.Time
	Answer Answer
	Err    error
}

// Querier asks DNS for a set of names over and over from the client pod until stopped, so a
// test can count what clients saw while something was being torn down or replaced.
type Querier struct {
	mu   sync.Mutex
	log  []QueryLog
	stop context.CancelFunc
	done chan struct{}
}

// StartQuerier starts querying names in turn, from the pod in in.
func StartQuerier(ctx context.Context, in LookupInput, names []string) *Querier {
	ctx, cancel := context.WithCancel(ctx)
	q := &Querier{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for ctx.Err() == nil {
			for _, n := range names {
				li := in
				li.Name = n
				a, err := Lookup(ctx, li)
				if ctx.Err() != nil {
					return
				}
				q.mu.Lock()
				q.log = append(q.log, QueryLog{At: time.Now(), Answer: a, Err: err})
				q.mu.Unlock()
			}
		}
	}()
	return q
}

// Stop ends the querying and returns everything it saw.
func (q *Querier) Stop() []QueryLog {
	q.stop()
	<-q.done
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]QueryLog(nil), q.log...)
}

// StaleReport counts, among answers given at or after since, those containing any of the old
// IPs; it also counts the whole log for context.
type StaleReport struct {
	Queries, Errors              int
	AfterConvergence, StaleAfter int
	StaleBefore                  int
	Examples                     []string
}

func (r StaleReport) String() string {
	return fmt.Sprintf("%d queries (%d exec errors); before convergence %d answers held an old IP; after convergence %d queries, %d stale",
		r.Queries, r.Errors, r.StaleBefore, r.AfterConvergence, r.StaleAfter)
}

// CountStale classifies a querier's log around the convergence time.
func CountStale(log []QueryLog, old []string, since time.Time) StaleReport {
	oldSet := map[string]bool{}
	for _, ip := range old {
		oldSet[ip] = true
	}
	var r StaleReport
	for _, l := range log {
		r.Queries++
		if l.Err != nil {
			r.Errors++
			continue
		}
		stale := false
		for _, ip := range l.Answer.IPs {
			stale = stale || oldSet[ip]
		}
		if l.At.Before(since) {
			if stale {
				r.StaleBefore++
			}
			continue
		}
		r.AfterConvergence++
		if stale {
			r.StaleAfter++
			if len(r.Examples) < 5 {
				r.Examples = append(r.Examples, fmt.Sprintf("%s at +%s: %s", l.Answer.Name, l.At.Sub(since).Round(time.Millisecond), l.Answer))
			}
		}
	}
	return r
}
