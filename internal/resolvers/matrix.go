package resolvers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// The resolver matrix: one cell per resolver and scenario, each the verdict of an assertion
// on what that resolver's documentation promises, with the figure measured.

// Cell is one resolver in one scenario.
type Cell struct {
	Scenario string `json:"scenario"`
	Resolver string `json:"resolver"`
	Pass     bool   `json:"pass"`
	Figure   string `json:"figure"`
	Error    string `json:"error,omitempty"`
}

// Matrix collects cells from features running side by side.
type Matrix struct {
	mu   sync.Mutex
	Date string `json:"date"`
	DNS  string `json:"dns"` // the cluster's DNS setup the cells were measured behind
	// Family is the cluster's IP family (IP_FAMILY: ipv4, ipv6, dual).
	Family string `json:"family,omitempty"`

	Versions  map[string]string `json:"versions"` // resolver -> library version
	Scenarios []string          `json:"scenarios"`
	Cells     []Cell            `json:"cells"`
}

// NewMatrix is an empty matrix with its scenarios' columns in order.
func NewMatrix(scenarios ...string) *Matrix {
	return &Matrix{Date: time.Now().UTC().Format("2006-01-02"), Versions: map[string]string{}, Scenarios: scenarios}
}

// SetVersions records each resolver's library version from the image's package list.
func (m *Matrix) SetVersions(packages map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range all {
		m.Versions[r.Name] = packages[r.Package]
	}
}

// Record adds a cell: err nil is a pass.
func (m *Matrix) Record(scenario string, r Resolver, figure string, err error) {
	c := Cell{Scenario: scenario, Resolver: r.Name, Pass: err == nil, Figure: figure}
	if err != nil {
		c.Error = err.Error()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Cells = append(m.Cells, c)
}

// Markdown is the matrix as a table: a row per resolver, a column per scenario.
func (m *Matrix) Markdown() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	cells := map[[2]string]Cell{}
	for _, c := range m.Cells {
		cells[[2]string{c.Resolver, c.Scenario}] = c
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Resolver matrix, %s (each cell: the documented behaviour asserted, and the figure measured)\n", m.Date)
	if m.Family != "" {
		fmt.Fprintf(&b, "IP family: %s\n", m.Family)
	}
	if m.DNS != "" {
		fmt.Fprintf(&b, "Cluster DNS: %s\n", m.DNS)
	}
	b.WriteString("\n")
	b.WriteString("| resolver | version | " + strings.Join(m.Scenarios, " | ") + " |\n")
	b.WriteString("|---|---|" + strings.Repeat("---|", len(m.Scenarios)) + "\n")
	for _, r := range all {
		row := []string{r.Name, m.Versions[r.Name]}
		for _, s := range m.Scenarios {
			c, ok := cells[[2]string{r.Name, s}]
			switch {
			case !ok:
				row = append(row, "not run")
			case c.Pass:
				row = append(row, "pass: "+c.Figure)
			default:
				row = append(row, "**FAIL**: "+c.Figure)
			}
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	var failed []string
	for _, c := range m.Cells {
		if !c.Pass {
			failed = append(failed, fmt.Sprintf("- %s / %s: %s", c.Resolver, c.Scenario, c.Error))
		}
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		b.WriteString("\nFailures:\n" + strings.Join(failed, "\n") + "\n")
	}
	return b.String()
}

// Write saves the matrix as resolvers.json and resolvers.md in dir; measured on another
// cluster than the default's (another DNS_PROFILE than kubeadm, another IP_FAMILY than ipv4),
// as resolvers-<variant>.json and .md, variant naming what differs (cache30, dual,
// nodelocal-ipv6), so the matrices sit side by side.
func (m *Matrix) Write(dir string, variant string) error {
	name := "resolvers"
	if variant != "" {
		name += "-" + variant
	}
	md := m.Markdown()
	m.mu.Lock()
	data, err := json.MarshalIndent(m, "", "  ")
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".md"), []byte(md), 0o644)
}
