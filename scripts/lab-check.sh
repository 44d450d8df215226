#!/usr/bin/env bash
# Runs the lab non-interactively, as CI does, and checks it: the lab's own verdicts (cmd/lab,
# exact IP sets: the Service name answered exactly the 3 pods before the delete, each pod name
# exactly its pod, and after the delete every pod had a new IP, its name exactly that IP and
# the Service name exactly the new set) made it exit 0, and the transcript shows the learner
# every nslookup the course asks for (with LAB_RESOLVERS=1, also dig, glibc and musl after the
# delete, and the verdict on the Java client). DNS output is not parsed here. The transcript
# goes to ARTIFACTS.
set -o errexit -o nounset -o pipefail
# The image knobs as given, read before lib.sh, through which everything else reads them.
asked_hello=${HELLO_IMAGE:-} asked_client=${CLIENT_IMAGE:-}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$ARTIFACTS"
log=$ARTIFACTS/lab.log
start=$SECONDS
if ! LAB_AUTO=1 NO_COLOR=1 "$REPO_ROOT/scripts/lab.sh" </dev/null 2>&1 | tee "$log"; then
  die "the lab failed (transcript: $log)" "read the end of $log"
fi
info "lab ran in $((SECONDS - start))s; checking its transcript"

failures=0 passes=0
check() { # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then ok "$what"; passes=$((passes + 1)); else warn "FAILED: $what"; failures=$((failures + 1)); fi
}
# shown N COMMAND: the transcript shows the learner COMMAND exactly N times.
shown() { [[ $(grep -cFx -- "\$ $2" "$log") -eq $1 ]]; }

# The images the lab was to run (HELLO_IMAGE, CLIENT_IMAGE as given, else cmd/lab's defaults)
# are the ones the learner saw applied.
mapfile -t want_images < <("$REPO_ROOT/bin/lab" images)
want_hello=${asked_hello:-${want_images[0]}} want_client=${asked_client:-${want_images[1]}}
check "the lab ran the hello image it was to run ($want_hello)" grep -qE "^StatefulSet +hello-kubernetes +$want_hello$" "$log"
check "the lab ran the client image it was to run ($want_client)" grep -qE "^Deployment +client +$want_client$" "$log"

client=$(sed -n 's/^\$ kubectl exec \([^ ]*\) -- nslookup headless-demo$/\1/p' "$log" | head -n 1)
check "the learner saw nslookup headless-demo" shown 1 "kubectl exec $client -- nslookup headless-demo"
# With a DNS cache (DNS_PROFILE cache30, nodelocal) the lab asks hello-kubernetes-0 once more,
# right after the delete, and follows it until it answers the new IP.
cached=false
if [[ ${DNS_PROFILE:-kubeadm} != kubeadm ]]; then cached=true; fi
for i in 0 1 2; do
  times=2
  if $cached && ((i == 0)); then times=3; fi
  check "the learner saw nslookup hello-kubernetes-$i.headless-demo before and after the delete ($times times)" \
    shown "$times" "kubectl exec $client -- nslookup hello-kubernetes-$i.headless-demo"
done
if $cached; then
  check "the lab said which cache holds answers ($DNS_PROFILE)" grep -q "^lab: this cluster's DNS is $DNS_PROFILE: " "$log"
  check "the lab showed the name following after the cache let go" grep -qE "^lab: followed after [0-9.]+ s: hello-kubernetes-0.headless-demo answers" "$log"
fi
if [[ ${IP_FAMILY:-ipv4} == dual ]]; then
  check "the learner saw the Service's two families" grep -qE "^PreferDualStack +\[IPv4 IPv6\]$" "$log"
  check "the learner saw nslookup answer IPv6 addresses too" grep -q "^Address: fd00:10:244:" "$log"
fi
check "the learner saw the pods deleted" shown 1 "kubectl delete pod hello-kubernetes-0 hello-kubernetes-1 hello-kubernetes-2"
check "the lab's verdict: every name followed its pod" grep -q "^lab: every name followed its pod" "$log"
if [[ $(flag LAB_RESOLVERS) == true ]]; then
  resolvers_pod=$(sed -n 's/^\$ kubectl exec \([^ ]*\) -- resolve -dig .*/\1/p' "$log" | head -n 1)
  for probe in "resolve -dig" gai-glibc gai-musl; do
    check "the learner saw $probe look up hello-kubernetes-0 after the delete" \
      shown 1 "kubectl exec $resolvers_pod -- $probe 0 0 hello-kubernetes-0.headless-demo"
  done
  check "the lab's verdict on the Java client started before the delete" grep -q "^lab: the Java client asked for hello-kubernetes-0" "$log"
fi
((failures == 0)) || die "$failures lab check(s) failed (transcript: $log)" "read $log"
echo "lab-check: $passes passed, 0 failed"
