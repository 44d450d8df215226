package course

import (
	"context"
	"strings"
	"testing"
)

// Every helper checks its Input up front: a zero Input is an error naming what is missing.
func TestZeroInputsAreErrors(t *testing.T) {
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"DeployCourseInput": func() error { _, err := DeployCourse(ctx, DeployCourseInput{}); return err },
		"CrossNodeInput":    func() error { _, err := CheckCrossNode(ctx, CrossNodeInput{}); return err },
		"RequestsInput":     func() error { _, err := Requests(ctx, RequestsInput{}); return err },
		"AwaitReplyInput":   func() error { return AwaitReply(ctx, AwaitReplyInput{}) },
		"ReplaceInput":      func() error { _, err := ReplacePods(ctx, ReplaceInput{}); return err },
		"HoldInput":         func() error { _, err := StartHold(ctx, HoldInput{}); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "From") && !strings.Contains(err.Error(), name) {
			t.Errorf("%s{}: got %v, want an error naming it (or its From)", name, err)
		}
	}
}
