package harness

import "testing"

// Must is for assessments: Must(f())(t) returns f's value, or ends the test with f's error.
// Helpers here return errors instead of failing a test themselves, so they also serve the
// bench and the lab; Must joins the two in one expression.
func Must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
