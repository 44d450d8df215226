// Package build makes everything the offline kind cluster runs (the node image, the images
// preloaded into it, the workload images) from Debian packages and Go modules only.
//
// The work is a small graph of Stages. A stage's key hashes what determines its output (the
// versions, flags and file contents it uses, and the keys of the stages it consumes), so an
// unchanged stage is found in the cache and changing one component rebuilds that component
// and what consumes it, nothing else. Outputs live in a cache directory outside the checkout,
// so a fresh clone on the same machine reuses them.
package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/headless-e2e/headless-e2e/pkg/parallel"
)

// Pool names the resource a stage mostly uses. Compiles take every core, so they run one at a
// time; downloads wait on the network, so they run beside the compiles.
type Pool string

const (
	// CPU stages run one at a time.
	CPU Pool = "cpu"
	// Network stages run concurrently with everything else.
	Network Pool = "network"
)

// Stage is one cacheable step. Run writes the stage's products into dir, an empty directory
// that becomes the cached output only if Run succeeds.
type Stage struct {
	Name string
	// Inputs are everything besides Deps that determines the output. Include the exact
	// commands and flags: changing how a stage builds must change its key.
	Inputs []string
	Deps   []*Stage
	Pool   Pool
	Run    func(ctx context.Context, dir string, log io.Writer) error
}

// Key is a short content hash of the stage's name, inputs and dependencies' keys.
func (s *Stage) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "stage %s\n", s.Name)
	for _, in := range s.Inputs {
		fmt.Fprintf(h, "input %d %s\n", len(in), in)
	}
	for _, d := range s.Deps {
		fmt.Fprintf(h, "dep %s %s\n", d.Name, d.Key())
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// HashFiles returns an input string that changes whenever any of the files' paths (relative to
// root) or contents change. Directories are walked. It lets a stage depend on source trees.
func HashFiles(root string, paths ...string) (string, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hashing inputs: %w", err)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("hashing inputs: %w", err)
		}
		info, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s %o %d\n", filepath.ToSlash(rel), info.Mode().Perm()&0o111, len(data))
		h.Write(data)
	}
	return "files " + hex.EncodeToString(h.Sum(nil)), nil
}

// Runner builds stages into a cache directory and reports one line per stage.
type Runner struct {
	CacheDir string
	Out      io.Writer // progress lines
	// Rebuild makes Target.Ensure build even when docker already has the image with the
	// current inputs key; stages still come from CacheDir.
	Rebuild bool
	// Heartbeat is how often a stage still running says so, with the last line of its log
	// (a Kubernetes compile takes minutes, a debootstrap too): 30 s when zero.
	Heartbeat time.Duration
	now       func() time.Time

	mu      sync.Mutex
	cpu     chan struct{}
	running map[*Stage]*result
}

type result struct {
	done chan struct{}
	err  error
}

// NewRunner returns a Runner caching under cacheDir and printing progress to out.
func NewRunner(cacheDir string, out io.Writer) *Runner {
	return &Runner{CacheDir: cacheDir, Out: out, now: time.Now, cpu: make(chan struct{}, 1), running: map[*Stage]*result{}}
}

// Dir is where the stage's output lives once built.
func (r *Runner) Dir(s *Stage) string { return stageDir(r.CacheDir, s) }

// Cached reports whether the stage's output is in the cache.
func (r *Runner) Cached(s *Stage) bool {
	_, err := os.Stat(filepath.Join(r.Dir(s), ".done"))
	return err == nil
}

// LogPath is where a stage's command output goes; a failure prints its tail.
func (r *Runner) LogPath(s *Stage) string {
	return filepath.Join(r.CacheDir, "logs", s.Name+".log")
}

// Build makes sure every given stage and its dependencies are built. Independent stages run
// concurrently (CPU stages one at a time). The first failure cancels the rest.
func (r *Runner) Build(ctx context.Context, stages ...*Stage) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	err := parallel.Do(len(stages), 0, func(i int) error {
		err := r.build(ctx, stages[i])
		if err != nil {
			cancel(err)
		}
		return err
	})
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func (r *Runner) build(ctx context.Context, s *Stage) error {
	r.mu.Lock()
	res, started := r.running[s]
	if !started {
		res = &result{done: make(chan struct{})}
		r.running[s] = res
	}
	r.mu.Unlock()
	if started {
		select {
		case <-res.done:
			return res.err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	res.err = r.buildOnce(ctx, s)
	close(res.done)
	return res.err
}

func (r *Runner) buildOnce(ctx context.Context, s *Stage) error {
	if err := r.Build(ctx, s.Deps...); err != nil {
		return err
	}
	if r.Cached(s) {
		r.printf("%-22s cached  %s", s.Name, s.Key())
		return nil
	}
	if s.Pool == CPU {
		select {
		case r.cpu <- struct{}{}:
			defer func() { <-r.cpu }()
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	start := r.now()
	r.printf("%-22s build   %s", s.Name, s.Key())
	dir := r.Dir(s)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.LogPath(s)), 0o755); err != nil {
		return err
	}
	logf, err := os.Create(r.LogPath(s))
	if err != nil {
		return err
	}
	defer logf.Close()
	defer r.progress(s.Name, r.LogPath(s), start)()
	if err := s.Run(ctx, tmp, logf); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("stage %s failed after %s: %w\n%s", s.Name, r.since(start), err, tail(r.LogPath(s), 25))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), nil, 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	r.printf("%-22s built   %s in %s", s.Name, s.Key(), r.since(start))
	return nil
}

// progress prints, every Heartbeat until the returned stop is called, that the stage is still
// running, for how long, and the last line its log has: a long stage is never silent.
func (r *Runner) progress(name, logPath string, start time.Time) (stop func()) {
	every := r.Heartbeat
	if every == 0 {
		every = 30 * time.Second
	}
	return ticking(every, func() {
		r.printf("%-22s running %s so far; log %s: %s", name, r.since(start).Round(time.Second), logPath, lastLine(logPath))
	})
}

// lastLine is the last non-empty line of a log, cut to 100 characters.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log yet)"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if len(line) > 100 {
		line = line[:100] + "..."
	}
	if line == "" {
		return "(empty so far)"
	}
	return line
}

func (r *Runner) since(t time.Time) time.Duration {
	return r.now().Sub(t).Round(100 * time.Millisecond)
}

func (r *Runner) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.Out, "==> "+format+"\n", args...)
}

// tail returns the last n lines of a log file, indented, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    last lines of " + path + ":\n    " + strings.Join(lines, "\n    ")
}

// Do runs fn as a stage's last step, timed and logged like a build but not cached on disk,
// because its product lives elsewhere (a docker image).
func (r *Runner) Do(ctx context.Context, s *Stage, fn func(context.Context, io.Writer) error) error {
	step := &Stage{Name: s.Name + "-docker"}
	if err := os.MkdirAll(filepath.Dir(r.LogPath(step)), 0o755); err != nil {
		return err
	}
	logf, err := os.Create(r.LogPath(step))
	if err != nil {
		return err
	}
	defer logf.Close()
	start := r.now()
	r.printf("%-22s docker  %s", s.Name, s.Key())
	defer r.progress(s.Name, r.LogPath(step), start)()
	if err := fn(ctx, logf); err != nil {
		return fmt.Errorf("%s failed after %s: %w\n%s", step.Name, r.since(start), err, tail(r.LogPath(step), 25))
	}
	r.printf("%-22s done    %s in %s", s.Name, s.Key(), r.since(start))
	return nil
}
