package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// command runs name with args in dir, appending env to the current environment and sending
// stdout and stderr to log, after a "$ command" line so a log reads like a terminal.
func command(ctx context.Context, log io.Writer, dir string, env []string, name string, args ...string) error {
	fmt.Fprintf(log, "$ %s %s %s\n", strings.Join(env, " "), name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// output runs a command and returns its stdout; stderr goes to the error.
func output(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// compileProgress counts the packages `go build -v` names as it compiles them and reports the
// count every interval, so a 15-minute compile says what it is doing instead of going quiet.
type compileProgress struct {
	mu       sync.Mutex
	log      io.Writer
	packages int
	last     string
	partial  []byte
}

func (p *compileProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		line := string(p.partial[:i])
		p.partial = p.partial[i+1:]
		// go build -v prints bare import paths; anything with a space is a message.
		if line != "" && !strings.ContainsAny(line, " \t") {
			p.packages++
			p.last = line
		}
	}
	return p.log.Write(b)
}

func (p *compileProgress) status() (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.packages, p.last
}

// withCompileProgress runs fn with a writer that counts compiled packages, printing a status
// line through report every interval until fn returns.
func withCompileProgress(log io.Writer, report func(string), interval time.Duration, fn func(io.Writer) error) error {
	p := &compileProgress{log: log}
	stop := ticking(interval, func() {
		n, last := p.status()
		report(fmt.Sprintf("compiled %d packages so far, last %s", n, last))
	})
	defer stop()
	return fn(p)
}

// ticking calls fn every interval until the returned stop is called; stop waits for a call in
// progress, so nothing is printed after it returns.
func ticking(interval time.Duration, fn func()) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() { close(quit); <-finished }
}
