// Command timings ends `make test`: it prints the phase table and writes it, with every
// feature's duration from the JUnit reports, as JSON into ARTIFACTS, so the next change can be
// compared run against run.
//
//	timings ARTIFACTS_DIR NAME=SECONDS...
//
// Features are the e2e-framework features of the e2e reports in ARTIFACTS_DIR
// (junit-e2e.xml, junit-faults.xml): the test cases named <TestFunction>/<feature>.
package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report is the JSON written to ARTIFACTS_DIR/make-test-timings.json.
type Report struct {
	Finished time.Time `json:"finished"`
	Phases   []Phase   `json:"phases"`
	Total    float64   `json:"total_seconds"` // the phases' sum; side-by-side phases are one phase
	Features []Feature `json:"features"`
}

// Phase is one step of make test, wall time.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Feature is one feature's wall time, from its JUnit test case.
type Feature struct {
	Report  string  `json:"report"` // the JUnit file
	Test    string  `json:"test"`
	Feature string  `json:"feature"`
	Seconds float64 `json:"seconds"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: timings ARTIFACTS_DIR NAME=SECONDS...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "timings:", err)
		os.Exit(1)
	}
}

func run(dir string, phases []string) error {
	r := Report{Finished: time.Now().UTC()}
	for _, p := range phases {
		name, secs, ok := strings.Cut(p, "=")
		s, err := strconv.ParseFloat(secs, 64)
		if !ok || err != nil {
			return fmt.Errorf("phase %q: want NAME=SECONDS", p)
		}
		r.Phases = append(r.Phases, Phase{name, s})
		r.Total += s
	}
	for _, report := range []string{"junit-e2e.xml", "junit-faults.xml"} {
		path := filepath.Join(dir, report)
		if _, err := os.Stat(path); err != nil {
			continue // that phase did not run
		}
		fs, err := features(path)
		if err != nil {
			return err
		}
		r.Features = append(r.Features, fs...)
	}
	sort.Slice(r.Features, func(i, j int) bool { return r.Features[i].Seconds > r.Features[j].Seconds })
	fmt.Println("timings:")
	for _, p := range r.Phases {
		fmt.Printf("  %-14s %6.1fs\n", p.Name, p.Seconds)
	}
	fmt.Printf("  %-14s %6.1fs\n", "total", r.Total)
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "make-test-timings.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("  (phases and %d feature durations in %s)\n", len(r.Features), path)
	return nil
}

// junit is the part of gotestsum's JUnit XML read here.
type junit struct {
	Suites []struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Seconds string    `xml:"time,attr"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// features are the test cases <TestFunction>/<feature> that ran (not skipped by label).
func features(path string) ([]Feature, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j junit
	if err := xml.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Feature
	for _, s := range j.Suites {
		for _, c := range s.Cases {
			test, feature, ok := strings.Cut(c.Name, "/")
			if !ok || strings.Contains(feature, "/") || c.Skipped != nil {
				continue
			}
			secs, _ := strconv.ParseFloat(c.Seconds, 64)
			out = append(out, Feature{Report: filepath.Base(path), Test: test, Feature: feature, Seconds: secs})
		}
	}
	return out, nil
}
