package cluster

import (
	"context"
	"fmt"
	"io"
)

// Keep says when a run leaves a cluster it created behind (KEEP_CLUSTER). A cluster that
// existed before the run is never deleted, whatever Keep says.
type Keep string

// KEEP_CLUSTER values.
const (
	KeepNever     Keep = "never"
	KeepOnFailure Keep = "on-failure"
	KeepAlways    Keep = "always"
)

// Validate is nil for a known value.
func (k Keep) Validate() error {
	switch k {
	case KeepNever, KeepOnFailure, KeepAlways:
		return nil
	}
	return fmt.Errorf("KEEP_CLUSTER=%q: want never, on-failure or always", string(k))
}

// Keeps reports whether a created cluster stays, given whether the run failed.
func (k Keep) Keeps(failed bool) bool {
	return k == KeepAlways || (k == KeepOnFailure && failed)
}

// Finish applies the keep policy to a cluster the run created: it deletes it, or says how to
// delete it later. The suite (Suite.Finish) and `make test` (cmd/cluster finish) both end
// through it, so the policy lives in one place.
func Finish(ctx context.Context, keep Keep, failed bool, out io.Writer, opts ...Option) (deleted bool, err error) {
	if err := keep.Validate(); err != nil {
		return false, err
	}
	if keep.Keeps(failed) {
		name := newOptions(opts).name
		fmt.Fprintf(out, "keeping cluster %q (KEEP_CLUSTER=%s); delete it with: make cluster-down KIND_CLUSTER_NAME=%s\n", name, keep, name)
		return false, nil
	}
	return true, remove(ctx, newOptions(opts))
}
