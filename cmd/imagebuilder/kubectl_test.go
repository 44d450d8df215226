package main

import "testing"

func TestMinor(t *testing.T) {
	for v, want := range map[string]int{"v1.37.2": 37, "v1.36.0-rc.1": 36, "1.38": 38, "v1": -1, "vx.y": -1} {
		if got := minor(v); got != want {
			t.Errorf("minor(%q) = %d, want %d", v, got, want)
		}
	}
}
