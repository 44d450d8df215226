package dnsprofile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// The scenarios a profile is measured in, the columns of the table.
const (
	ScenarioReplacement = "replacement: a replaced pod's old IP"
	ScenarioNegative    = "a new pod's NXDOMAIN (scale 3 -> 4)"
	ScenarioReadiness   = "an unready pod's IP in the Service's answer"
)

var scenarios = []string{ScenarioReplacement, ScenarioNegative, ScenarioReadiness}

// Row is one DNS setup's measurements: each scenario's figure, and whether it kept the bound.
type Row struct {
	Bounds   Bounds
	Cells    map[string]Cell
	Measured string // the date
}

// Cell is one scenario's outcome.
type Cell struct {
	Pass   bool
	Figure string // what was measured, e.g. "old IP until Ready+26.4s (p50 24.1s) over 3 pods"
	Err    string `json:",omitempty"`
}

// Table gathers the rows of one run (one profile) and merges them into the file earlier runs
// wrote, so `make profiles` ends with one table of every setup.
type Table struct {
	mu   sync.Mutex
	rows map[Profile]*Row
}

// Record sets a scenario's cell for the setup b.
func (t *Table) Record(b Bounds, scenario, figure string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rows == nil {
		t.rows = map[Profile]*Row{}
	}
	r := t.rows[b.Profile]
	if r == nil {
		r = &Row{Bounds: b, Cells: map[string]Cell{}, Measured: time.Now().Format(time.DateOnly)}
		t.rows[b.Profile] = r
	}
	c := Cell{Pass: err == nil, Figure: figure}
	if err != nil {
		c.Err = err.Error()
	}
	r.Cells[scenario] = c
}

// Empty reports whether nothing was recorded.
func (t *Table) Empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rows) == 0
}

// Write merges this run's rows into dir/dns-profiles.json (a row per setup, this run's
// replacing an earlier one of the same setup) and writes dir/dns-profiles.md from the result.
// It returns the Markdown.
func (t *Table) Write(dir string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	path := filepath.Join(dir, "dns-profiles.json")
	all := map[Profile]*Row{}
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &all); err != nil {
			return "", fmt.Errorf("%s: %w (delete it to start a new table)", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	for p, r := range t.rows {
		all[p] = r
	}
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	md := markdown(all)
	return md, os.WriteFile(filepath.Join(dir, "dns-profiles.md"), []byte(md), 0o644)
}

func markdown(rows map[Profile]*Row) string {
	var b strings.Builder
	b.WriteString("DNS setups: how long a client may be told an old answer, documented and measured (each cell: kept the bound, and the figure)\n\n")
	b.WriteString("| setup | success bound | denial bound | caches per client | " + strings.Join(scenarios, " | ") + " | measured | source |\n")
	b.WriteString("|---|---|---|---|" + strings.Repeat("---|", len(scenarios)) + "---|---|\n")
	var order []Profile
	for p := range rows {
		order = append(order, p)
	}
	sort.Slice(order, func(i, j int) bool { return rank(order[i]) < rank(order[j]) })
	for _, p := range order {
		r := rows[p]
		fmt.Fprintf(&b, "| %s | %s | %s | %d |", p, r.Bounds.Success, r.Bounds.Denial, r.Bounds.Caches)
		for _, s := range scenarios {
			c, ok := r.Cells[s]
			switch {
			case !ok:
				b.WriteString(" not run |")
			case c.Pass:
				fmt.Fprintf(&b, " pass: %s |", c.Figure)
			default:
				fmt.Fprintf(&b, " FAIL: %s |", strings.ReplaceAll(c.Err, "|", "/"))
			}
		}
		fmt.Fprintf(&b, " %s | %s |\n", r.Measured, r.Bounds.Source)
	}
	return b.String()
}

// rank orders the known profiles first, as All lists them.
func rank(p Profile) int {
	for i, q := range all {
		if p == q {
			return i
		}
	}
	return len(all)
}
