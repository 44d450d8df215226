package course

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// QueryLog is one answer a continuous querier got.
type QueryLog struct {
	At     time.Time
	Query  dns.Query // as asked
	Answer dns.Answer
	Err    error // the exec failed: no answer
}

// Querier asks DNS for a set of names over and over from one pod until stopped, so a test can
// count what clients saw while something was torn down or replaced.
type Querier struct {
	mu   sync.Mutex
	log  []QueryLog
	stop context.CancelFunc
	done chan struct{}
}

// StartQuerier starts asking the queries (absolute names) in turn.
func StartQuerier(ctx context.Context, from headless.From, queries []dns.Query) *Querier {
	ctx, cancel := context.WithCancel(ctx)
	q := &Querier{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for ctx.Err() == nil {
			for _, query := range queries {
				a, err := from.Ask(ctx, query)
				if ctx.Err() != nil {
					return // a query cut short by Stop is no observation
				}
				q.mu.Lock()
				q.log = append(q.log, QueryLog{At: time.Now(), Query: query, Answer: a, Err: err})
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

// AnswerReport classifies a querier's log around the convergence time. After convergence,
// every answer that is not exactly right is a failure, whatever it is: an old IP (Stale), no
// such name, an empty answer, an exec that failed.
type AnswerReport struct {
	Queries          int
	StaleBefore      int // answers holding an old IP before convergence (expected)
	AfterConvergence int
	Failed           int // after convergence, answers not exactly right
	Stale            int // of those, answers holding an old IP
	NXDomain, Empty  int // of those, NXDOMAIN and NOERROR without records
	ExecErrors       int // of those, execs that failed
	Examples         []string
}

func (r AnswerReport) String() string {
	return fmt.Sprintf("%d queries; before convergence %d answers held an old IP; after convergence %d queries, %d failed (%d stale, %d NXDOMAIN, %d empty, %d exec errors)",
		r.Queries, r.StaleBefore, r.AfterConvergence, r.Failed, r.Stale, r.NXDomain, r.Empty, r.ExecErrors)
}

// CountAnswers classifies the log: answers at or after since must pass want of their query;
// old are the addresses, of any family, the answers must have let go of.
func CountAnswers(log []QueryLog, want map[dns.Query]dns.Want, old []string, since time.Time) AnswerReport {
	oldSet := map[string]bool{}
	for _, ip := range old {
		oldSet[ip] = true
	}
	var r AnswerReport
	for _, l := range log {
		r.Queries++
		stale := false
		for _, ip := range append(l.Answer.Values("A"), l.Answer.Values("AAAA")...) {
			stale = stale || oldSet[ip]
		}
		if l.At.Before(since) {
			if stale {
				r.StaleBefore++
			}
			continue
		}
		r.AfterConvergence++
		err := l.Err
		if err == nil {
			judge, known := want[l.Query]
			if !known {
				err = fmt.Errorf("%s: no expectation for this query", l.Answer)
			} else {
				err = judge(l.Answer)
			}
		}
		if err == nil {
			continue
		}
		r.Failed++
		switch {
		case l.Err != nil:
			r.ExecErrors++
		case stale:
			r.Stale++
		case l.Answer.Rcode == "NXDOMAIN":
			r.NXDomain++
		case l.Answer.Rcode == "NOERROR" && len(l.Answer.Records) == 0:
			r.Empty++
		}
		if len(r.Examples) < 5 {
			r.Examples = append(r.Examples, fmt.Sprintf("at +%s: %v", l.At.Sub(since).Round(time.Millisecond), err))
		}
	}
	return r
}
