#!/usr/bin/env bash
# Runs the lab non-interactively and checks what a learner would have seen: the Service name
# answered with 3 addresses, each pod name answered with one, the IPs changed after the
# pods were deleted, and every name followed its pod. The transcript goes to ARTIFACTS.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
mkdir -p "$ARTIFACTS"
log=$ARTIFACTS/lab.log
start=$SECONDS
if ! LAB_AUTO=1 NO_COLOR=1 "$REPO_ROOT/scripts/lab.sh" </dev/null 2>&1 | tee "$log"; then
  die "the lab failed (transcript: $log)" "read the end of $log"
fi
info "lab ran in $((SECONDS - start))s; checking its transcript"

# answers CMD-SUFFIX: the addresses nslookup answered after each "$ ... nslookup NAME" line
# (the resolver's own "Address: ...#53" line is not an answer).
answers() {
  awk -v want="nslookup $1" '
    /^\$ / { inblock = (substr($0, length($0) - length(want) + 1) == want); if (inblock) n++; next }
    inblock && /^Address: / && $2 !~ /#/ { print n, $2 }' "$log"
}

failures=0 passes=0
check() { # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then ok "$what"; passes=$((passes + 1)); else warn "FAILED: $what"; failures=$((failures + 1)); fi
}
count() { wc -l | tr -d ' '; }

check "the Service name answered 3 addresses" test "$(answers headless-demo | count)" -eq 3
for i in 0 1 2; do
  name=hello-kubernetes-$i.headless-demo
  check "$name answered one address before and one after the delete" \
    test "$(answers "$name" | awk '{print $1}' | sort -u | tr '\n' ' ')" = "1 2 "
  before=$(answers "$name" | awk '$1 == 1 {print $2}')
  after=$(answers "$name" | awk '$1 == 2 {print $2}')
  check "$name moved from $before to a new IP ($after)" test -n "$before" -a -n "$after" -a "$before" != "$after"
  check "the summary says hello-kubernetes-$i's name followed" grep -Eq "^hello-kubernetes-$i +$before +$after +yes$" "$log"
done
((failures == 0)) || die "$failures lab check(s) failed (transcript: $log)" "read $log"
echo "lab-check: $passes passed, 0 failed"
