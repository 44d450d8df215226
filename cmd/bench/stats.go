package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Summary is the distribution of one measured interval over the rounds.
type Summary struct {
	N   int    `json:"n"`
	P50 Millis `json:"p50_ms"`
	P95 Millis `json:"p95_ms"`
	Max Millis `json:"max_ms"`
}

// Millis is a duration in milliseconds, so the JSON reads without unit arithmetic.
type Millis float64

func ms(d time.Duration) Millis {
	return Millis(math.Round(float64(d)/float64(time.Microsecond)) / 1000)
}

func (m Millis) String() string {
	d := time.Duration(float64(m) * float64(time.Millisecond))
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// Summarize takes p50 and p95 by nearest rank (a sample that was actually measured, no
// interpolation between rounds: with K=10, p95 is the max).
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Sorted(slices.Values(samples))
	return Summary{N: len(s), P50: ms(rank(s, 0.50)), P95: ms(rank(s, 0.95)), Max: ms(s[len(s)-1])}
}

func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func (Summary) header() string { return fmt.Sprintf("%8s %8s %8s", "p50", "p95", "max") }

func (s Summary) cells() string {
	if s.N == 0 {
		return fmt.Sprintf("%8s %8s %8s", "-", "-", "-")
	}
	return fmt.Sprintf("%8s %8s %8s", s.P50, s.P95, s.Max)
}
