package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the server so that the real main, with its
// signal handling and exit code, can be checked without building anything.
func TestMain(m *testing.M) {
	if os.Getenv("HELLO_TEST_MAIN") == "1" {
		os.Args = append(os.Args[:1], "-listen", "127.0.0.1:0")
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSIGTERMExitsZero(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HELLO_TEST_MAIN=1", "POD_NAME=hello-kubernetes-1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("server exited early")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no log line")
		}
		return ""
	}
	// Signal only once the start line shows the handler is installed.
	if l := next(); !strings.Contains(l, "serving hello-kubernetes-1") || !strings.Contains(l, "127.0.0.1:") {
		t.Fatalf("start line %q", l)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if l := next(); !strings.Contains(l, "shut down") {
		t.Errorf("shutdown line %q", l)
	}
	// Wait may only run once stderr is drained; the pipe closing is also
	// the first sign that the process is gone.
	deadline := time.After(shutdownGrace + 3*time.Second)
	for open := true; open; {
		select {
		case _, open = <-lines:
		case <-deadline:
			t.Fatal("did not exit after SIGTERM")
		}
	}
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit code %d, want 0", ee.ExitCode())
		}
		t.Fatal(err)
	}
}
