#!/usr/bin/env bash
# Ctrl-C at each phase of an e2e run must tear down what the run created, in seconds, and
# leave nothing behind; a second Ctrl-C must end the run at once. This drives
# `go test ./e2e -count=1 -v` on a cluster of its own ("interrupt", never "kind"), sends
# SIGINT to its process group as a terminal does (the run starts in a session of its own),
# and checks after each phase that the run ended within 30 s of the signal and that no node
# container and no kind cluster "interrupt" is left.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
PATH=$REPO_ROOT/bin:$PATH

readonly NAME=interrupt
readonly TEARDOWN_LIMIT=30 # seconds from the first Ctrl-C to the end of the run
readonly SECOND_LIMIT=3    # seconds from the second Ctrl-C to the end of the run
# Only the course's features (area=course): the others are not needed to reach a feature, and
# area=faults restarts nodes. Non-matching tests are skipped at once.
readonly E2E_ARGS=(-args --labels area=course)
export OFFLINE=${OFFLINE:-1} KIND_CLUSTER_NAME=$NAME KEEP_CLUSTER=never # OFFLINE=0 to allow registries
unset USE_EXISTING_CLUSTER

# The node image built here holds the workload images already, so a run loads nothing. Phase 2
# needs a load to interrupt: the runs use the same images under names the nodes do not hold.
# (lib.sh has set HELLO_IMAGE and CLIENT_IMAGE from versions.env.)
docker tag "$HELLO_IMAGE" "${HELLO_IMAGE%:*}:interrupt-check"
docker tag "$CLIENT_IMAGE" "${CLIENT_IMAGE%:*}:interrupt-check"
export HELLO_IMAGE=${HELLO_IMAGE%:*}:interrupt-check CLIENT_IMAGE=${CLIENT_IMAGE%:*}:interrupt-check

work=$(mktemp -d)
export ARTIFACTS=$work/artifacts # an interrupted run collects some; they are not wanted here
run_pid="" # the go test process, leader of its own session and process group
log=""     # its output

kubeconfig=$(go run ./cmd/cluster kubeconfig) # the private kubeconfig a run writes for NAME

leftovers() { # the node containers, kind cluster and kubeconfig of NAME, one per line
  docker ps --all --filter "name=^$NAME-" --format '{{.Names}}'
  kind get clusters 2>/dev/null | grep -x "$NAME" | sed 's/^/kind cluster /' || true
  if [[ -e $kubeconfig ]]; then echo "$kubeconfig"; fi
}

# abandon WHY: a phase that could not be checked: say why, end its run, remove what it left.
abandon() {
  warn "$1"
  tail -n 30 "$log" | sed 's/^/  | /' >&2
  kill -KILL -- "-$run_pid" 2>/dev/null || true
  wait "$run_pid" || true
  run_pid=""
  if [[ -n $(leftovers) ]]; then go run ./cmd/cluster down || true; fi
  failed=$((failed + 1))
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $run_pid ]] && kill -0 -- "-$run_pid" 2>/dev/null; then
    warn "the run is still going: killing its process group $run_pid"
    kill -KILL -- "-$run_pid" 2>/dev/null || true
  fi
  if [[ -n $(leftovers) ]]; then
    info "removing what the runs left: $(leftovers | tr '\n' ' ')"
    go run ./cmd/cluster down || rc=1
  fi
  rm -rf "$work"
  docker rmi "$HELLO_IMAGE" "$CLIENT_IMAGE" >/dev/null 2>&1 || true # the tags only
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n $(leftovers) ]]; then
  info "cluster $NAME exists from an earlier check: deleting it, so each run creates its own"
  go run ./cmd/cluster down
fi
# Build the test binary now, so the first phase's timings are the run's, not the compiler's.
go test -c -o /dev/null ./e2e

passed=0 failed=0
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
seconds_since() { # seconds_since MS: seconds, one decimal, from MS to now
  local d=$(($(now_ms) - $1))
  printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# phase NAME TRIGGER SIGNALS LIMIT: start the run, wait until its output matches the extended
# regex TRIGGER, send SIGINT SIGNALS times (1 s apart) to its process group, and check that
# the whole group is gone within LIMIT seconds of the last signal, and nothing is left behind.
# After two signals the teardown is skipped on purpose: the cluster is then removed as a user
# would (cluster down), and that must leave nothing.
phase() {
  local name=$1 trigger=$2 signals=$3 limit=$4
  local start deadline sent i took status=0 bad=0 left
  printf '\n%s--- phase: %s%s\n' "$c_bold" "$name" "$c_reset"
  log=$work/${name%% *}.log
  setsid go test ./e2e -count=1 -v -timeout 30m "${E2E_ARGS[@]}" >"$log" 2>&1 &
  run_pid=$!
  start=$SECONDS
  until grep -qE -- "$trigger" "$log"; do
    if ! kill -0 "$run_pid" 2>/dev/null; then
      abandon "the run ended before its output showed /$trigger/"
      return
    fi
    if ((SECONDS - start > 900)); then
      abandon "no /$trigger/ in the output after 900s"
      return
    fi
    sleep 0.1
  done
  echo "trigger: $(grep -m1 -E -- "$trigger" "$log") (after $((SECONDS - start))s)"
  for ((i = 1; i <= signals; i++)); do
    ((i == 1)) || sleep 1
    sent=$(now_ms)
    kill -INT -- "-$run_pid"
    echo "SIGINT $i sent to process group $run_pid"
  done
  deadline=$((sent + 1000 * limit))
  # The run is over when no process of its group is left (go test, the test binary, and
  # every docker or kind command they started).
  while kill -0 -- "-$run_pid" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.1; done
  took=$(seconds_since "$sent")
  if kill -0 -- "-$run_pid" 2>/dev/null; then
    warn "still running ${limit}s after the last SIGINT: $(pgrep -g "$run_pid" -a | tr '\n' ';')"
    kill -KILL -- "-$run_pid" 2>/dev/null || true
    bad=1
  fi
  wait "$run_pid" || status=$?
  run_pid=""
  echo "the run's last lines:"
  tail -n 12 "$log" | sed 's/^/  | /'
  echo "exit status $status, ${took}s after the last SIGINT (limit ${limit}s)"
  left=$(leftovers)
  if ((signals > 1)) && [[ -n $left ]]; then
    echo "left, as a second Ctrl-C means: $(echo "$left" | tr '\n' ' ')(node states: $(docker ps --all --filter "name=^$NAME-" --format '{{.Names}}={{.State}}' | tr '\n' ' ')) -> go run ./cmd/cluster down"
    go run ./cmd/cluster down 2>&1 | sed 's/^/  | /' || bad=1
    left=$(leftovers)
  fi
  if [[ -n $left ]]; then
    warn "left behind: $(echo "$left" | tr '\n' ' ')"
    bad=1
  else
    echo "leftovers: none (docker ps -a --filter name=^$NAME-: nothing; kind get clusters: no $NAME; no $kubeconfig)"
  fi
  if ((bad)); then
    failed=$((failed + 1))
    warn "FAILED: $name"
  else
    passed=$((passed + 1))
    ok "$name: ended ${took}s after the signal, nothing left"
  fi
}

# PHASES picks some, e.g. PHASES="1 4", when working on one.
for p in ${PHASES:-1 2 3 4}; do
  case $p in
  1) phase "1 cluster creation" 'Creating cluster' 1 $TEARDOWN_LIMIT ;;
  2) phase "2 image load" "loaded onto" 1 $TEARDOWN_LIMIT ;; # the first image is on the nodes, the second on its way
  3) phase "3 feature" '=== RUN   TestServiceIsHeadless' 1 $TEARDOWN_LIMIT ;;
  4) phase "4 second Ctrl-C during a feature" '=== RUN   TestServiceIsHeadless' 2 $SECOND_LIMIT ;;
  *) die "PHASES=${PHASES:-}: phases are 1 2 3 4" "PHASES='1 2 3 4' $0" ;;
  esac
done

echo
echo "interrupt-check: $passed passed, $failed failed"
((failed == 0))
