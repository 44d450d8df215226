// Package knobs reads the environment variables the project's entry points take, the same way
// in every one of them, so a value means one thing everywhere.
package knobs

import (
	"fmt"
	"os"
	"strings"
)

// ParseBool reads a boolean knob the way Go users write one (envtest's USE_EXISTING_CLUSTER=true,
// a Makefile's OFFLINE=1): 1, true, yes are true; 0, false, no and the empty string are false,
// in any case. Anything else is an error naming the knob and the values it takes, so a typo
// (OFFLINE=ture) stops a run instead of silently meaning false.
func ParseBool(name, value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "1", "true", "yes":
		return true, nil
	case "", "0", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q is not a boolean: use 1, true or yes (on), 0, false or no (off)", name, value)
}

// Bool is ParseBool of the environment variable name.
func Bool(name string) (bool, error) { return ParseBool(name, os.Getenv(name)) }

// BoolOr is Bool with a default for an unset or empty variable.
func BoolOr(name string, def bool) (bool, error) {
	if os.Getenv(name) == "" {
		return def, nil
	}
	return Bool(name)
}
