#!/usr/bin/env bash
# `make test` after the unit tests: one cluster for the e2e suite and the lab check, created if
# missing and then deleted again unless KEEP_CLUSTER says otherwise (never | on-failure |
# always; a cluster that existed before is never deleted: `cluster finish` applies the policy,
# the same code as the suite's). Ctrl-C runs the same cleanup. Prints each phase's wall time.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
PATH=$REPO_ROOT/bin:$PATH

name=${KIND_CLUSTER_NAME:-kind}
existed=false
if kind get clusters 2>/dev/null | grep -qx "$name"; then existed=true; fi
timings=()

phase() { # phase NAME CMD...: run and time it
  local name=$1 start=$SECONDS
  shift
  info "$name"
  "$@"
  timings+=("$(printf '%-12s %4ss' "$name" $((SECONDS - start)))")
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  phase teardown go run ./cmd/cluster finish "$existed" "$rc" || rc=1
  ((${#timings[@]} == 0)) || printf '%s\n' "timings:" "${timings[@]/#/  }"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase cluster go run ./cmd/cluster up
phase e2e make --no-print-directory e2e
phase lab-check scripts/lab-check.sh
phase faults make --no-print-directory faults
