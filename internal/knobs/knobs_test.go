package knobs

import (
	"strings"
	"testing"
)

func TestParseBool(t *testing.T) {
	for _, v := range []string{"1", "true", "TRUE", "True", "yes", "Yes", " true "} {
		if got, err := ParseBool("OFFLINE", v); err != nil || !got {
			t.Errorf("ParseBool(%q) = %v, %v; want true", v, got, err)
		}
	}
	for _, v := range []string{"", "0", "false", "FALSE", "no", "No"} {
		if got, err := ParseBool("OFFLINE", v); err != nil || got {
			t.Errorf("ParseBool(%q) = %v, %v; want false", v, got, err)
		}
	}
	for _, v := range []string{"ture", "2", "on", "y", "-1"} {
		_, err := ParseBool("OFFLINE", v)
		if err == nil || !strings.Contains(err.Error(), `OFFLINE="`+v+`" is not a boolean`) {
			t.Errorf("ParseBool(%q): err = %v; want one naming the knob and its value", v, err)
		}
	}
}

func TestBoolOr(t *testing.T) {
	t.Setenv("EGRESS_GUARD", "")
	if got, err := BoolOr("EGRESS_GUARD", true); err != nil || !got {
		t.Errorf("unset: %v, %v; want the default, true", got, err)
	}
	t.Setenv("EGRESS_GUARD", "no")
	if got, err := BoolOr("EGRESS_GUARD", true); err != nil || got {
		t.Errorf("no: %v, %v; want false", got, err)
	}
}
