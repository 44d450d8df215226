#!/usr/bin/env bash
# Runs the e2e suite N times, as `make e2e` runs it (the same binary and flags), and prints
# passes, failures and each run's wall time. By default
# on one reused cluster (created first if missing, kept afterwards); with SCRATCH=1 every run
# creates its own cluster and deletes it. Nothing is retried: a flake is a failure.
#
#   scripts/soak.sh N          e.g. make soak N=20
#   SCRATCH=1 scripts/soak.sh 3
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
PATH=$REPO_ROOT/bin:$PATH

n=${1:-20}
[[ -n ${ARGS:-} ]] || die "ARGS (the e2e-framework flags of make test's suite) is unset" "make soak N=20"
[[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || die "N must be a positive number, got '$n'" "make soak N=20"
logs=$ARTIFACTS/soak-$(date +%Y%m%d-%H%M%S)
mkdir -p "$logs"
if [[ $(flag SCRATCH) == true ]]; then
  export KIND_CLUSTER_NAME=${KIND_CLUSTER_NAME:-soak} KEEP_CLUSTER=never
  mode="from scratch (cluster $KIND_CLUSTER_NAME created and deleted by every run)"
else
  go run ./cmd/cluster up >"$logs/cluster.log" 2>&1 || die "cluster did not come up (log: $logs/cluster.log)" "make cluster"
  mode="on one reused cluster ($cluster_name)"
fi
info "soak: $n runs $mode; logs in $logs"

passes=0 failures=0 times=()
for i in $(seq "$n"); do
  start=$SECONDS
  if make --no-print-directory e2e ARTIFACTS="$logs" JUNIT="junit-run-$i.xml" >"$logs/run-$i.log" 2>&1; then
    passes=$((passes + 1)) result=pass
  else
    failures=$((failures + 1)) result=FAIL
  fi
  times+=($((SECONDS - start)))
  printf '  run %2d/%d  %-4s %4ss\n' "$i" "$n" "$result" "${times[-1]}"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
printf 'soak %s: min %ss, median %ss, max %ss\n' "$mode" "$(head -1 <<<"$sorted")" \
  "$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")" "$(tail -1 <<<"$sorted")"
echo "soak: $passes passed, $failures failed"
((failures == 0)) || die "$failures of $n runs failed (logs: $logs)" "grep -l FAIL $logs/run-*.log"
