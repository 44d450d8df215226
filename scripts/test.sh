#!/usr/bin/env bash
# `make test` once the images are built: the unit tests while the cluster comes up, then the
# e2e suite (its features side by side) while the lab runs non-interactively in its own
# namespace and the library's example (examples/headless) in another, then the faults, alone, on the same cluster. The cluster is created if missing and
# deleted again unless KEEP_CLUSTER says otherwise (never | on-failure | always; a cluster that
# existed before is never deleted: `cluster finish` applies the policy, the same code as the
# suite's). Ctrl-C runs the same cleanup. Ends with the phase table; cmd/timings writes it,
# with each feature's duration, to ARTIFACTS/make-test-timings.json.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
PATH=$REPO_ROOT/bin:$PATH
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/junit-*.xml # this run's reports only, for the timings

existed=false
if go run ./cmd/cluster exists; then existed=true; fi
timings=()
background=()

phase() { # phase NAME CMD...: run and time it
  local name=$1 start=$SECONDS
  shift
  info "$name"
  "$@"
  timings+=("$name=$((SECONDS - start))")
}

# beside LOG CMD...: start CMD in the background, its output in LOG; `joined LOG` waits for it
# and shows its output.
beside() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  background+=("$!")
}
joined() {
  local log=$1 rc=0
  wait "${background[0]}" || rc=$?
  background=("${background[@]:1}")
  sed "s|^|$(basename "$log" .log): |" "$log"
  return "$rc"
}
# live LOG CMD...: like beside, but CMD's lines also show as they come, prefixed with LOG's
# name: the cluster's creation takes a minute, and says what it is doing meanwhile.
live() {
  local log=$1 name
  name=$(basename "$1" .log)
  shift
  (set -o pipefail; "$@" 2>&1 | tee "$log" | sed -u "s|^|$name: |") &
  background+=("$!")
}
unit_then_cluster() {
  live "$ARTIFACTS/cluster-up.log" go run ./cmd/cluster up
  make --no-print-directory unit
  local rc=0
  wait "${background[0]}" || rc=$?
  background=("${background[@]:1}")
  return "$rc"
}
e2e_beside_lab() {
  beside "$ARTIFACTS/lab-check.log" scripts/lab-check.sh
  beside "$ARTIFACTS/example.log" make --no-print-directory example
  local rc=0
  make --no-print-directory e2e || rc=$?
  joined "$ARTIFACTS/lab-check.log" || rc=$?
  joined "$ARTIFACTS/example.log" || rc=$?
  return "$rc"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  phase teardown go run ./cmd/cluster finish "$existed" "$rc" || rc=1
  go run ./cmd/timings "$ARTIFACTS" "${timings[@]}" || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase unit+cluster unit_then_cluster
phase e2e+lab e2e_beside_lab
phase faults make --no-print-directory faults
