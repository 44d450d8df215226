// Package poll is the one way headless-e2e waits for an eventually-consistent system: the
// suite, the library, the bench and the cluster tooling all wait through Retry. A wait has a
// deadline, and when it ends without success its error says what was last actually observed,
// when, and the last error, so a failure reads as the state of the system rather than as
// "timed out".
package poll

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Input describes one wait. It is checked up front: a zero Timeout would poll once and report
// a timeout that never was, so it is an error at the call.
type Input struct {
	What     string        // what is awaited, for messages: "3 Ready pods app=hello in ns"
	Timeout  time.Duration // > 0
	Interval time.Duration // between checks; 0 checks back to back (each check is itself a round trip)
}

func (in Input) validate() error {
	switch {
	case in.What == "":
		return errors.New("poll: Input.What is empty: say what is awaited, for the failure message")
	case in.Timeout <= 0:
		return fmt.Errorf("poll %s: Timeout %s: want a deadline > 0", in.What, in.Timeout)
	case in.Interval < 0:
		return fmt.Errorf("poll %s: Interval %s is negative", in.What, in.Interval)
	}
	return nil
}

// Observer observes the system once. It returns done when the wait is over, and state, a
// description of what it saw (kept for the failure message). An error is transient (the API
// server did not answer, an exec failed): it is reported alongside the last state and the
// wait goes on, unless it is wrapped with Stop.
type Observer func(ctx context.Context) (done bool, state string, err error)

// stopError marks a condition that waiting cannot heal.
type stopError struct{ err error }

func (s stopError) Error() string { return s.err.Error() }
func (s stopError) Unwrap() error { return s.err }

// Stop wraps err so that Retry returns it at once: a pod in CrashLoopBackOff, a Deployment
// scaled to zero, a Service whose selector matches nothing do not heal by waiting, and waiting
// out the deadline would only hide the cause.
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return stopError{err}
}

// Retry calls observe until it reports done, returns a Stop error, or the deadline passes.
// An error observe returns is retried, as a transient one (the API server did not answer, an
// exec failed): kept for the message, and the wait goes on. This is the reverse of
// apimachinery's wait.PollUntilContextTimeout, whose condition ends the wait with any error:
// here only an error wrapped with Stop ends it at once, hence the name. The state and error
// kept for the message are those of calls that completed before the deadline: a call the
// deadline cut short (its "context deadline exceeded") says nothing about the system and does
// not overwrite what was seen.
func Retry(ctx context.Context, in Input, observe Observer) error {
	if err := in.validate(); err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	last, lastAt, lastErr := "nothing observed yet", time.Duration(0), error(nil)
	for {
		done, state, err := observe(ctx)
		var stop stopError
		if errors.As(err, &stop) {
			return fmt.Errorf("%s: %w", in.What, stop.err)
		}
		if ctx.Err() == nil {
			if state != "" {
				last, lastAt = state, time.Since(start)
			}
			if err != nil {
				lastErr = err
			}
		}
		if done && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return timeoutError(ctx, in, last, lastAt, lastErr)
		case <-time.After(in.Interval):
		}
	}
}

func timeoutError(ctx context.Context, in Input, last string, lastAt time.Duration, lastErr error) error {
	seen := fmt.Sprintf("last seen (at +%s): %s", lastAt.Round(time.Millisecond), last)
	if lastErr != nil {
		seen += fmt.Sprintf("; last error: %v", lastErr)
	}
	// An interrupted wait (Ctrl-C) is no timeout: say which it was.
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: interrupted (%w); %s", in.What, ctx.Err(), seen)
	}
	return fmt.Errorf("%s: not done after %s; %s", in.What, in.Timeout, seen)
}

// IsStop reports whether err, or an error it wraps, was made by Stop.
func IsStop(err error) bool {
	var s stopError
	return errors.As(err, &s)
}
