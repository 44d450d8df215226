package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 10; i >= 1; i-- {
		s = append(s, time.Duration(i)*100*time.Millisecond)
	}
	got := Summarize(s)
	want := Summary{N: 10, P50: 500, P95: 1000, Max: 1000}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if got := Summarize(s[:1]); got.P50 != 1000 || got.P95 != 1000 {
		t.Fatalf("one sample: %+v", got)
	}
	if got := Summarize(nil); got.N != 0 {
		t.Fatalf("no sample: %+v", got)
	}
	var many []time.Duration
	for i := 1; i <= 40; i++ {
		many = append(many, time.Duration(i)*time.Millisecond)
	}
	if got := Summarize(many); got.P50 != 20 || got.P95 != 38 || got.Max != 40 {
		t.Fatalf("40 samples: %+v, want p50 20ms p95 38ms max 40ms", got)
	}
}

func TestMillis(t *testing.T) {
	if m := ms(1234567 * time.Microsecond); m != 1234.567 || m.String() != "1.235s" {
		t.Fatalf("ms = %v (%s)", float64(m), m)
	}
}
