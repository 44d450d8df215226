package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// graph is a small plan: two leaves, a stage consuming both, and an unrelated leaf.
type graph struct {
	mu                         sync.Mutex
	runs                       map[string]int
	compiler, rootfs, image, x *Stage
}

func newGraph(compilerVersion string) *graph {
	g := &graph{runs: map[string]int{}}
	stage := func(name string, pool Pool, inputs []string, deps ...*Stage) *Stage {
		return &Stage{Name: name, Pool: pool, Inputs: inputs, Deps: deps, Run: func(ctx context.Context, dir string, log io.Writer) error {
			g.mu.Lock()
			g.runs[name]++
			g.mu.Unlock()
			return os.WriteFile(filepath.Join(dir, "out"), []byte(name), 0o644)
		}}
	}
	g.compiler = stage("compiler", CPU, []string{compilerVersion})
	g.rootfs = stage("rootfs", Network, []string{"bookworm"})
	g.image = stage("image", CPU, nil, g.compiler, g.rootfs)
	g.x = stage("unrelated", CPU, []string{"1"})
	return g
}

func TestKeyChangesWithInputsAndDependencies(t *testing.T) {
	a, b := newGraph("v1"), newGraph("v2")
	if a.rootfs.Key() != b.rootfs.Key() || a.x.Key() != b.x.Key() {
		t.Fatal("stages that do not depend on the compiler changed key")
	}
	if a.compiler.Key() == b.compiler.Key() {
		t.Fatal("changing an input did not change the key")
	}
	if a.image.Key() == b.image.Key() {
		t.Fatal("changing a dependency's input did not change the consumer's key")
	}
	if newGraph("v1").image.Key() != a.image.Key() {
		t.Fatal("keys are not deterministic")
	}
}

func TestChangingOneComponentRebuildsOnlyWhatDependsOnIt(t *testing.T) {
	cache := t.TempDir()
	var out bytes.Buffer
	first := newGraph("v1")
	if err := NewRunner(cache, &out).Build(context.Background(), first.image, first.x); err != nil {
		t.Fatal(err)
	}
	again := newGraph("v1")
	if err := NewRunner(cache, &out).Build(context.Background(), again.image, again.x); err != nil {
		t.Fatal(err)
	}
	if len(again.runs) != 0 {
		t.Fatalf("unchanged inputs rebuilt %v", again.runs)
	}
	changed := newGraph("v2")
	if err := NewRunner(cache, &out).Build(context.Background(), changed.image, changed.x); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"compiler": 1, "image": 1}
	if len(changed.runs) != len(want) || changed.runs["compiler"] != 1 || changed.runs["image"] != 1 {
		t.Fatalf("after changing the compiler, rebuilt %v, want %v", changed.runs, want)
	}
	if !strings.Contains(out.String(), "rootfs                 cached") {
		t.Fatalf("progress does not say rootfs was cached:\n%s", out.String())
	}
}

func TestFailedStageLeavesNoCacheEntryAndShowsItsLog(t *testing.T) {
	cache := t.TempDir()
	s := &Stage{Name: "broken", Pool: CPU, Run: func(ctx context.Context, dir string, log io.Writer) error {
		io.WriteString(log, "compiler said: undefined: foo\n")
		return errors.New("exit status 1")
	}}
	r := NewRunner(cache, io.Discard)
	err := r.Build(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "undefined: foo") {
		t.Fatalf("error %v does not carry the log tail", err)
	}
	if r.Cached(s) {
		t.Fatal("a failed stage was cached")
	}
}

func TestSharedDependencyBuildsOnce(t *testing.T) {
	g := newGraph("v1")
	other := &Stage{Name: "other", Pool: CPU, Deps: []*Stage{g.compiler}, Run: func(ctx context.Context, dir string, log io.Writer) error { return nil }}
	if err := NewRunner(t.TempDir(), io.Discard).Build(context.Background(), g.image, other); err != nil {
		t.Fatal(err)
	}
	if g.runs["compiler"] != 1 {
		t.Fatalf("shared dependency built %d times", g.runs["compiler"])
	}
}

func TestHashFilesSeesContentModeAndNames(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "1", 0o644)
	h1, _ := HashFiles(dir, ".")
	write("a", "2", 0o644)
	h2, _ := HashFiles(dir, ".")
	os.Chmod(filepath.Join(dir, "a"), 0o755)
	h3, _ := HashFiles(dir, ".")
	os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	h4, _ := HashFiles(dir, ".")
	if h1 == h2 || h2 == h3 || h3 == h4 {
		t.Fatalf("hash missed a change: %s %s %s %s", h1, h2, h3, h4)
	}
	if _, err := HashFiles(dir, "missing"); err == nil {
		t.Fatal("hashing a missing path must fail")
	}
}

// syncBuffer is a bytes.Buffer the heartbeat goroutine and the test read and write together.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A long stage is never silent: it says it is still running, with its log's last line, and
// stops saying so when it ends.
func TestALongStageSaysItIsStillRunning(t *testing.T) {
	out := &syncBuffer{}
	s := &Stage{Name: "kubernetes", Pool: CPU, Run: func(ctx context.Context, dir string, log io.Writer) error {
		io.WriteString(log, "compiling k8s.io/kubernetes/cmd/kubelet\n")
		for i := 0; i < 500 && !strings.Contains(out.String(), "running"); i++ {
			time.Sleep(10 * time.Millisecond) // until the heartbeat spoke, or 5 s
		}
		return nil
	}}
	r := NewRunner(t.TempDir(), out)
	r.Heartbeat = 5 * time.Millisecond
	if err := r.Build(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !regexp.MustCompile(`==> kubernetes +running \S+ so far; log \S+kubernetes\S*: compiling k8s.io/kubernetes/cmd/kubelet\n`).MatchString(got) {
		t.Fatalf("no heartbeat with the log's last line in:\n%s", got)
	}
	after := len(out.String())
	time.Sleep(30 * time.Millisecond)
	if extra := out.String()[after:]; extra != "" {
		t.Errorf("the heartbeat went on after the stage ended: %q", extra)
	}
}
