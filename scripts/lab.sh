#!/usr/bin/env bash
# The course's headless-Service lab, narrated: each step prints what it does and why, the
# exact command a learner would type, then its real output. Pauses for Enter between steps on
# a terminal; runs straight through when CI=true, LAB_AUTO=1 or there is no terminal.
# LAB_RESOLVERS=1 (or true, yes) adds a step: right after the replacement, the same name through dig, glibc,
# musl 1.2.3 and a Java client that was running before the delete (make resolvers has the
# whole matrix). DNS_PROFILE=cache30 or nodelocal makes the cluster's DNS cache (package
# dnsprofile): right after the delete, the lab then shows a name still answering the old IP,
# then following. Re-running reuses the cluster; `make lab-down` removes it.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
PATH=$REPO_ROOT/bin:$PATH # the pinned kind and kubectl (make tools)
mkdir -p "$ARTIFACTS"
# What the lab writes (its manifests when the images differ, the Java client's output) goes
# under ARTIFACTS, shown as a path the learner can type from the checkout.
artifacts=$(realpath --relative-to=. "$ARTIFACTS")

resolvers=$(flag LAB_RESOLVERS)
interactive=false
if [[ -t 0 && -t 1 && ${CI:-} != true && $(flag LAB_AUTO) == false ]]; then interactive=true; fi
go build -o "$REPO_ROOT/bin/lab" ./cmd/lab
# The images the lab runs (cmd/lab images): hello, client, the checks' probe, the resolvers'.
mapfile -t lab_images < <("$REPO_ROOT/bin/lab" images)
KUBECONFIG=$(go run ./cmd/cluster kubeconfig)
export KUBECONFIG
PODS=(hello-kubernetes-0 hello-kubernetes-1 hello-kubernetes-2)
step_no=0

# step HEADING: a numbered heading, then a pause on a terminal.
step() {
  step_no=$((step_no + 1))
  if $interactive && ((step_no > 1)); then read -r -p "${c_yellow}(Enter for the next step)${c_reset} " _; fi
  printf '\n%s%d. %s%s\n' "$c_bold" "$step_no" "$1" "$c_reset"
}

# show CMD...: print the command as typed, run it, and stop with the fix if it fails.
show() {
  printf '%s$ %s%s\n' "$c_green" "$*" "$c_reset"
  if ! "$@"; then
    die "step $step_no failed: $*" "${FIX:-read the output above, then re-run: make lab}"
  fi
}

# wait_for WHAT SECONDS CMD...: poll CMD until it succeeds, quietly; on timeout say what.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      kubectl get pods -o wide >&2 || true
      die "$what did not happen within ${seconds}s (pods above)" "kubectl describe pods -l app=hello-kubernetes   # see the events" "then re-run: make lab"
    fi
    sleep 0.5
  done
}

# verdict VERB...: the lab's checks, in Go (cmd/lab): exact IP sets through pkg/headless. The
# learner sees nslookup's own output; nothing here parses it.
verdict() {
  "$REPO_ROOT/bin/lab" "$@" || die "the lab's check failed (lab $*: see above)" "kubectl describe pods   # see the events" "then re-run: make lab"
}
all_replaced() {
  local p
  for p in "${PODS[@]}"; do
    [[ $(kubectl get pod "$p" -o jsonpath='{.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == *" True" ]] || return 1
    [[ $(kubectl get pod "$p" -o jsonpath='{.metadata.uid}') != "${old_uid[$p]}" ]] || return 1
  done
}

printf '%sThe headless Service lab%s: a StatefulSet of three servers behind a Service with no\n' "$c_bold" "$c_reset"
echo "cluster IP. DNS gives every pod a stable name and the whole endpoint list, so L7 clients"
echo "(gRPC...) can balance load themselves. kubectl talks to the lab cluster through"
echo "KUBECONFIG=$KUBECONFIG"

step "Create the course's 3-node kind cluster (1 control plane, 2 workers), or reuse it"
FIX="make docker && make lab   (if the cluster is broken: make lab-down && make lab)" show go run ./cmd/cluster up
show kubectl get nodes -o wide

step "Give the nodes the images: the server, the client, and the probe the lab's checks ask DNS from"
echo "kind's nodes run their own containerd; kind load copies each image from docker onto every node."
images=("${lab_images[@]:0:3}")
if $resolvers; then images+=("${lab_images[3]}"); fi
show kind load docker-image --name "$cluster_name" "${images[@]}"
MANIFESTS=$("$REPO_ROOT/bin/lab" manifests headless "$artifacts/lab-manifests/headless")

step "Read the Service: clusterIP None is what makes it headless"
show cat "$MANIFESTS/service.yaml"

step "Create the StatefulSet, the client Deployment and the headless Service"
show kubectl apply -R -f "$MANIFESTS"
show kubectl get statefulset,deployment -o "custom-columns=KIND:.kind,NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image"
FIX="kubectl describe pods   # look at the events" show kubectl rollout status statefulset/hello-kubernetes --timeout=120s
FIX="kubectl describe pods -l app=client" show kubectl rollout status deployment/client --timeout=120s

step "Each StatefulSet pod has a stable name (hello-kubernetes-N) and its own IP"
show kubectl get pods -l app=hello-kubernetes -o wide

step "The Service has no cluster IP: CLUSTER-IP is None"
show kubectl get svc

step "Its endpoints are the three pods' IP:8080"
show kubectl get endpoints headless-demo
echo "v1 Endpoints is deprecated (hence kubectl's warning); EndpointSlices are what DNS and kube-proxy read:"
show kubectl get endpointslices -l kubernetes.io/service-name=headless-demo
if [[ ${IP_FAMILY:-ipv4} == dual ]]; then
  echo "IP_FAMILY=dual: every pod has an IPv4 and an IPv6 address; the Service asks ipFamilyPolicy"
  echo "PreferDualStack, so it has both families and one EndpointSlice per family (v1 Endpoints, the"
  echo "first family only). DNS answers A records from the IPv4 slice, AAAA from the IPv6 one:"
  show kubectl get svc headless-demo -o custom-columns=POLICY:.spec.ipFamilyPolicy,FAMILIES:.spec.ipFamilies
fi

client=$(kubectl get pod -l app=client -o jsonpath='{.items[0].metadata.name}')
declare -A old_uid
for p in "${PODS[@]}"; do old_uid[$p]=$(kubectl get pod "$p" -o jsonpath='{.metadata.uid}'); done
snapshot=$(mktemp)
trap 'rm -f "$snapshot"' EXIT
verdict await >/dev/null
verdict snapshot "$snapshot"

step "Ask DNS for the Service: it answers every pod's IP, not one virtual IP"
echo "(Lines \";; Got recursion not available from 10.96.0.10\" around the answer are BIND 9.18's nslookup"
echo " noting that CoreDNS answers cluster names itself, authoritatively, without the RA flag: it"
echo " does so on every cluster, with kubeadm's upstream forward or without. The course's transcript"
echo " shows none: its client had another nslookup. The Name and Address lines are the answer.)"
show kubectl exec "$client" -- nslookup headless-demo
if [[ ${IP_FAMILY:-ipv4} != ipv4 ]]; then
  echo "(nslookup asks for A and AAAA records: on IP_FAMILY=$IP_FAMILY it shows the pods' IPv6 addresses too.)"
fi

step "Ask DNS for each pod by name: <pod>.<service> answers that pod's IP"
for p in "${PODS[@]}"; do show kubectl exec "$client" -- nslookup "$p.headless-demo"; done

if $resolvers; then
  step "Start a Java client that looks up hello-kubernetes-0 every second, before the delete"
  echo "Applications do not use nslookup: they ask their C library (glibc, musl), their runtime (Go,"
  echo "the JVM). The resolvers pod carries each of them as a small probe printing one line per lookup."
  resolvers_manifests=$("$REPO_ROOT/bin/lab" manifests resolvers "$artifacts/lab-manifests/resolvers")
  show kubectl apply -f "$resolvers_manifests/resolvers.yaml"
  FIX="kubectl describe pods -l app=resolvers" show kubectl rollout status deployment/resolvers --timeout=120s
  resolvers_pod=$(kubectl get pod -l app=resolvers -o jsonpath='{.items[0].metadata.name}')
  jvm_log=$artifacts/lab-jvm.log
  jvm=(kubectl exec "$resolvers_pod" -- java -cp /usr/local/lib/resolvers Probe 1000 45000 hello-kubernetes-0.headless-demo)
  printf '%s$ %s > %s &%s\n' "$c_green" "${jvm[*]}" "$jvm_log" "$c_reset"
  "${jvm[@]}" >"$jvm_log" 2>&1 &
  jvm_pid=$!
  wait_for "the Java client's first lookup" 60 test -s "$jvm_log"
fi

step "Delete the three pods: the StatefulSet recreates them, with new IPs"
show kubectl delete pod "${PODS[@]}"
wait_for "all three pods recreated and Ready" 120 all_replaced
show kubectl get pods -o wide

cached=$(verdict cached)
if [[ $cached == yes ]]; then
  step "Right away: the same name may still answer the old IP, from a cache"
  verdict profile
  show kubectl exec "$client" -- nslookup hello-kubernetes-0.headless-demo
  echo "The name follows once the cached answer expires; asking every half second:"
  verdict follow "$snapshot"
fi

verdict await >/dev/null
step "Ask DNS for the same names: they follow the new pods"
for p in "${PODS[@]}"; do show kubectl exec "$client" -- nslookup "$p.headless-demo"; done

if $resolvers; then
  step "The same name, right after the replacement, through the resolvers applications use"
  probe=(kubectl exec "$resolvers_pod" --)
  echo "BIND's dig (the reference), then getaddrinfo linked with glibc and with musl 1.2.3, each a new process:"
  show "${probe[@]}" resolve -dig 0 0 hello-kubernetes-0.headless-demo
  show "${probe[@]}" gai-glibc 0 0 hello-kubernetes-0.headless-demo
  show "${probe[@]}" gai-musl 0 0 hello-kubernetes-0.headless-demo
  echo "The Java client started before the delete, its last three lookups:"
  show tail -n 3 "$jvm_log"
  verdict jvm "$jvm_log" "$snapshot"
  kill "$jvm_pid" 2>/dev/null || true
fi

step "Summary: same names, new IPs"
verdict summary "$snapshot"
echo
echo "A headless Service gives each StatefulSet pod a stable DNS name and publishes the whole"
echo "endpoint list: clients that balance load themselves (gRPC, databases) resolve the name"
echo "and talk to every pod directly. Remove the cluster with: make lab-down"
