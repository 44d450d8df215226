#!/usr/bin/env bash
# Provokes each kind of bad input a user can give this project and checks that what it prints
# names the cause and the fix: no docker, no daemon, no permission on the socket, a cluster
# name already taken, KUBECONFIG pointing at nothing, a manifest that does not parse, an image
# that is not there, a pod in CrashLoopBackOff, a host that routes IPv6 but has no ip6tables,
# a DNS_PROFILE that names no setup, an IP_FAMILY that names no family, an IPv6 cluster asked
# on a docker network without IPv6, a cluster reused in another IP family than it has, a
# cluster this project did not create given to cluster-down.
# Prints each case with its exact message.
#
# Never touches the cluster named "kind": case 4 uses a lone container named like a node of
# cluster "badinput", cases 7 and 8 create (and delete) their own cluster "badinput-pods",
# cases 13 and 14 stand up three lone containers labelled as the nodes of an IPv4 cluster
# "badinput-v4" (kind lists clusters by that label; no cluster runs in them) that this
# project did not create.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
PATH=$REPO_ROOT/bin:$PATH
export OFFLINE=${OFFLINE:-1} # nothing here may contact a registry, unless OFFLINE=0 says so

readonly TAKEN=badinput             # case 4: a name whose control-plane container is taken
readonly PODS_CLUSTER=badinput-pods # cases 7, 8: the e2e feature's own cluster
readonly NOIP6_CLUSTER=badinput-noip6 # case 9: must never be created
readonly NOIPV6_NETWORK=headless-e2e-noipv6 # case 12: a docker network without IPv6
readonly V4_CLUSTER=badinput-v4             # case 13: stand-in nodes of an IPv4 cluster
readonly BOOL_CLUSTER=badinput-bool         # case 15: must never be created
work=$(mktemp -d)
chmod 755 "$work" # user nobody runs from here

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  docker rm -f "$TAKEN-control-plane" "$V4_CLUSTER-control-plane" "$V4_CLUSTER-worker" "$V4_CLUSTER-worker2" >/dev/null 2>&1 || true
  docker network rm "$NOIPV6_NETWORK" >/dev/null 2>&1 || true
  # The e2e run deletes its cluster itself; only an interrupted run leaves it behind.
  if KIND_CLUSTER_NAME=$PODS_CLUSTER go run ./cmd/cluster exists; then
    KIND_CLUSTER_NAME=$PODS_CLUSTER go run ./cmd/cluster down || rc=1
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0

# provoke CASE LOG CMD...: run CMD with its output into LOG; print the time it took.
# Failing is what CMD is for here, so its status is kept in $status, not acted on.
provoke() {
  local case=$1 log=$2 start=$SECONDS
  shift 2
  printf '\n%s--- %s%s\n' "$c_bold" "$case" "$c_reset"
  status=0
  "$@" >"$log" 2>&1 || status=$?
  echo "exit status $status after $((SECONDS - start))s"
}

# expect fail|pass LOG MESSAGE-REGEX PHRASE...: print the lines of LOG matching MESSAGE-REGEX
# (the message, exactly as printed); the case passes when the command failed (a bad-input
# command) or passed (a test that provokes the bad input itself), as said, and LOG holds every
# PHRASE: a fixed string, or an extended regex after a "~".
expect() {
  local want=$1 log=$2 message=$3 phrase bad=0
  shift 3
  echo "message:"
  grep -E -- "$message" "$log" | sed 's/^/  | /' || echo "  | (no line matches /$message/)"
  if [[ $want == fail && $status -eq 0 ]]; then
    warn "the command succeeded; it must fail"
    bad=1
  elif [[ $want == pass && $status -ne 0 ]]; then
    warn "the test failed"
    bad=1
  fi
  for phrase in "$@"; do
    if [[ $phrase == "~"* ]] && grep -qE -- "${phrase#"~"}" "$log"; then
      ok "names: ${phrase#"~"}"
    elif [[ $phrase != "~"* ]] && grep -qF -- "$phrase" "$log"; then
      ok "names: $phrase"
    else
      warn "does not name: ${phrase#"~"}"
      bad=1
    fi
  done
  if ((bad)); then
    failed=$((failed + 1))
    echo "full output:" && sed 's/^/  : /' "$log"
  else
    passed=$((passed + 1))
  fi
}

# as_nobody CMD...: run CMD as user nobody (not root, not in group docker), with a home of its
# own, as a fresh login would be.
as_nobody() {
  mkdir -p "$work/home"
  chown nobody:nogroup "$work/home"
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env HOME="$work/home" USER=nobody LOGNAME=nobody "$@"
}

# 1. No docker at all, and no right to install it: a PATH with bash and coreutils only.
mkdir -p "$work/nodocker"
ln -s "$(command -v bash)" "$work/nodocker/bash"
while read -r tool; do ln -sf "$tool" "$work/nodocker/"; done < <(dpkg -L coreutils | grep '^/usr/bin/')
provoke "1. docker is absent (PATH without docker, user nobody): scripts/docker-up.sh" "$work/1.log" \
  as_nobody PATH="$work/nodocker" scripts/docker-up.sh
expect fail "$work/1.log" '^(error|  fix):' \
  "error: docker is not installed" "fix: sudo apt-get install -y docker.io"

# 2. A daemon that does not answer: DOCKER_HOST at a socket nobody listens on.
nodaemon=unix:///tmp/nonexistent.sock
provoke "2a. the daemon is down (DOCKER_HOST=$nodaemon): go run ./cmd/cluster up" "$work/2a.log" \
  env DOCKER_HOST=$nodaemon KIND_CLUSTER_NAME=$TAKEN go run ./cmd/cluster up
expect fail "$work/2a.log" '^error:' \
  "docker does not answer" "Cannot connect to the Docker daemon at $nodaemon" "run make docker"
provoke "2b. the daemon is down (DOCKER_HOST=$nodaemon): the e2e preflight" "$work/2b.log" \
  env DOCKER_HOST=$nodaemon KIND_CLUSTER_NAME=$TAKEN go test ./e2e -run TestClusterIsReady -count=1
expect fail "$work/2b.log" 'Setup failure:' \
  "docker does not answer" "Cannot connect to the Docker daemon at $nodaemon" "run make docker"

# 3. The real socket (root:docker 0660) as a user outside group docker.
provoke "3. no permission on /var/run/docker.sock (user nobody): scripts/docker-up.sh" "$work/3.log" \
  as_nobody PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin scripts/docker-up.sh
expect fail "$work/3.log" '^(error|  fix):' \
  "error: no permission on the Docker socket" 'fix: sudo usermod -aG docker "nobody" && newgrp docker'

# 4. A container holds the control-plane name of the cluster to create, without being a kind
#    node (created, never started: it needs no network).
docker rm -f "$TAKEN-control-plane" >/dev/null 2>&1 || true
docker create --name "$TAKEN-control-plane" "$HELLO_IMAGE" >/dev/null
provoke "4. the cluster name is taken (container $TAKEN-control-plane): go run ./cmd/cluster up" "$work/4.log" \
  env KIND_CLUSTER_NAME=$TAKEN EGRESS_GUARD=0 go run ./cmd/cluster up
expect fail "$work/4.log" '^error:' \
  "cluster name \"$TAKEN\" is taken" "docker rm -f $TAKEN-control-plane" "choose another name (KIND_CLUSTER_NAME=...)"
docker rm -f "$TAKEN-control-plane" >/dev/null

# 5. An existing cluster's kubeconfig that is not there.
provoke "5. KUBECONFIG points at nothing: USE_EXISTING_CLUSTER=1 KUBECONFIG=/nonexistent go test ./e2e" "$work/5.log" \
  env USE_EXISTING_CLUSTER=1 KUBECONFIG=/nonexistent go test ./e2e -count=1
expect fail "$work/5.log" '^e2e:' \
  "KUBECONFIG=/nonexistent cannot be read" "point KUBECONFIG at the cluster's kubeconfig file" "unset USE_EXISTING_CLUSTER"

# 6. Manifests that do not parse (unit test: in-memory files through kube.Deploy; it
#    passes when Deploy fails naming the file).
provoke "6. a manifest that does not parse: go test ./internal/kube -run TestDeployNamesTheManifestThatDoesNotParse" "$work/6.log" \
  go test ./internal/kube -run TestDeployNamesTheManifestThatDoesNotParse -count=1 -v
expect pass "$work/6.log" 'reported as:' \
  'failed to decode file "headless/service.yaml": yaml: line 4' 'failed to decode file "headless/hello.yaml": yaml: line 4' \
  'failed to decode file "headless/probe-pod.yaml"' "--- PASS: TestDeployNamesTheManifestThatDoesNotParse"

# 7, 8. A pod whose image is not there and a pod that crash-loops, on a cluster of their own
#    (the e2e feature area=badinput; the run creates and deletes cluster badinput-pods).
provoke "7, 8. a crash loop, a missing image: go test ./e2e -run TestBadInputPodsFailTheWaitWithTheirCause (cluster $PODS_CLUSTER)" "$work/78.log" \
  env KIND_CLUSTER_NAME=$PODS_CLUSTER KEEP_CLUSTER=never go test ./e2e -run TestBadInputPodsFailTheWaitWithTheirCause -count=1 -v -timeout 20m
expect pass "$work/78.log" '^ {4}badinput_test.go|^ {8}|^--- (PASS|FAIL)|^    --- |deleted in' \
  "pod crash-loop is stuck in CrashLoopBackOff" "events of pod crash-loop:" "boom: config missing" \
  "~pod missing-image is stuck in (ErrImagePull|ImagePullBackOff)" "events of pod missing-image:" "headless-e2e/does-not-exist:0.0.0" \
  "--- PASS: TestBadInputPodsFailTheWaitWithTheirCause" "cluster \"$PODS_CLUSTER\" deleted"

# 9. This host routes IPv6 off the machine, but ip6tables is missing (a PATH with every command
#    but ip6tables*): make cluster must refuse before any cluster exists, naming the fix.
if [[ -z $(ip -6 route show default) ]]; then
  printf '\n%s--- 9. (not applicable: this host has no IPv6 default route, so there is no IPv6 to guard; make egress-check case 8 shows it in a namespace)%s\n' "$c_bold" "$c_reset"
else
  mkdir -p "$work/noip6"
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    for tool in "$dir"/*; do
      [[ -x $tool && ! -e $work/noip6/${tool##*/} && ${tool##*/} != ip6tables* ]] && ln -s "$tool" "$work/noip6/"
    done
  done
  provoke "9. IPv6 routed, no ip6tables (PATH without it): go run ./cmd/cluster up (cluster $NOIP6_CLUSTER)" "$work/9.log" \
    env PATH="$work/noip6" KIND_CLUSTER_NAME=$NOIP6_CLUSTER EGRESS_GUARD=1 go run ./cmd/cluster up
  echo "containers of $NOIP6_CLUSTER: $(docker ps --all --quiet --filter "name=^$NOIP6_CLUSTER-" | wc -l)" >>"$work/9.log"
  expect fail "$work/9.log" '^(error|  fix):|^containers' \
    "egress guard (no cluster was created)" "IPv6 is routed off this machine" "but ip6tables is not installed" \
    "fix: apt-get install -y iptables" "containers of $NOIP6_CLUSTER: 0"
fi

# 10. A DNS setup that does not exist: an error naming the ones that do, before any cluster.
provoke "10. DNS_PROFILE=cache5: go run ./cmd/cluster up" "$work/10.log" \
  env DNS_PROFILE=cache5 KIND_CLUSTER_NAME=$TAKEN go run ./cmd/cluster up
echo "containers of $TAKEN: $(docker ps --all --quiet --filter "name=^$TAKEN-" | wc -l)" >>"$work/10.log"
expect fail "$work/10.log" '^error:|^containers' \
  "error: DNS_PROFILE=cache5 is not a profile: use one of kubeadm cache30 nodelocal" "containers of $TAKEN: 0"

# 11. An IP family that does not exist: an error naming the ones that do, before any cluster.
provoke "11. IP_FAMILY=ipv5: go run ./cmd/cluster up" "$work/11.log" \
  env IP_FAMILY=ipv5 KIND_CLUSTER_NAME=$TAKEN go run ./cmd/cluster up
echo "containers of $TAKEN: $(docker ps --all --quiet --filter "name=^$TAKEN-" | wc -l)" >>"$work/11.log"
expect fail "$work/11.log" '^error:|^containers' \
  "error: IP_FAMILY=ipv5 is not an IP family: use ipv4, ipv6 or dual" "containers of $TAKEN: 0"

# 12. An IPv6 cluster on a docker network without IPv6 (kind reuses the network it finds: here
#     KIND_EXPERIMENTAL_DOCKER_NETWORK names one made without --ipv6): refused before any cluster.
docker network create "$NOIPV6_NETWORK" >/dev/null
provoke "12. IP_FAMILY=dual on a docker network without IPv6: go run ./cmd/cluster up" "$work/12.log" \
  env IP_FAMILY=dual KIND_EXPERIMENTAL_DOCKER_NETWORK=$NOIPV6_NETWORK KIND_CLUSTER_NAME=$TAKEN go run ./cmd/cluster up
echo "containers of $TAKEN: $(docker ps --all --quiet --filter "name=^$TAKEN-" | wc -l)" >>"$work/12.log"
expect fail "$work/12.log" '^error:|^containers' \
  "error: IP_FAMILY=dual: the docker network \"$NOIPV6_NETWORK\" the nodes join has IPv6 off (EnableIPv6 false)" \
  "docker network rm $NOIPV6_NETWORK" "(no cluster was created)" "containers of $TAKEN: 0"

# 13. An existing cluster of another IP family than asked: its nodes' kubeadm configuration
#     says ipv4, IP_FAMILY=dual is asked; refused, naming both, and the cluster is left alone.
for node in control-plane worker worker2; do
  docker run --detach --name "$V4_CLUSTER-$node" --network none --label "io.x-k8s.kind.cluster=$V4_CLUSTER" \
    --label "io.x-k8s.kind.role=${node%2}" --entrypoint sleep "$CLIENT_IMAGE" infinity >/dev/null
done
docker exec --user 0 "$V4_CLUSTER-control-plane" sh -c 'mkdir -p /kind && printf "networking:\n  podSubnet: 10.244.0.0/16\n" >/kind/kubeadm.conf'
provoke "13. IP_FAMILY=dual on an existing ipv4 cluster: go run ./cmd/cluster up (cluster $V4_CLUSTER)" "$work/13.log" \
  env IP_FAMILY=dual KIND_CLUSTER_NAME=$V4_CLUSTER go run ./cmd/cluster up
echo "nodes of $V4_CLUSTER still there: $(docker ps --quiet --filter "label=io.x-k8s.kind.cluster=$V4_CLUSTER" | wc -l)" >>"$work/13.log"
expect fail "$work/13.log" '^error:|^nodes' \
  "kind cluster \"$V4_CLUSTER\" exists as IP_FAMILY=ipv4 (pod subnets 10.244.0.0/16), but IP_FAMILY=dual was asked" \
  "run with IP_FAMILY=ipv4" "make cluster-down KIND_CLUSTER_NAME=$V4_CLUSTER" "nodes of $V4_CLUSTER still there: 3"

# 14. make cluster-down (and lab-down) on a cluster this project did not create: the stand-in
#     nodes of case 13 carry no headless-e2e/created-by label; refused, and they are left alone.
provoke "14. cluster-down on a cluster headless-e2e did not create: go run ./cmd/cluster down (cluster $V4_CLUSTER)" "$work/14.log" \
  env KIND_CLUSTER_NAME=$V4_CLUSTER go run ./cmd/cluster down
echo "nodes of $V4_CLUSTER still there: $(docker ps --quiet --filter "label=io.x-k8s.kind.cluster=$V4_CLUSTER" | wc -l)" >>"$work/14.log"
expect fail "$work/14.log" '^error:|^nodes' \
  "kind cluster \"$V4_CLUSTER\" was not created by headless-e2e (its nodes have no label headless-e2e/created-by=headless-e2e)" \
  "kind delete cluster --name $V4_CLUSTER" "nodes of $V4_CLUSTER still there: 3"

# 15. A boolean knob with a value that is none of 1/true/yes, 0/false/no: a typo must not mean
#     false (here: a cluster made online). Refused before anything is made.
provoke "15. OFFLINE=ture: go run ./cmd/cluster up (cluster $BOOL_CLUSTER)" "$work/15.log" \
  env OFFLINE=ture KIND_CLUSTER_NAME=$BOOL_CLUSTER go run ./cmd/cluster up
echo "containers of $BOOL_CLUSTER: $(docker ps --all --quiet --filter "name=^$BOOL_CLUSTER-" | wc -l)" >>"$work/15.log"
expect fail "$work/15.log" '^error:|^containers' \
  'error: OFFLINE="ture" is not a boolean: use 1, true or yes (on), 0, false or no (off)' "containers of $BOOL_CLUSTER: 0"

# 16. HELLO_IMAGE naming an image docker does not have, offline: the lab's preparation refuses
#     before any cluster, naming it, where the lab's kind load would fail minutes later.
provoke "16. OFFLINE=1 HELLO_IMAGE=example.invalid/absent:1: go run ./cmd/imagebuilder prepare lab" "$work/16.log" \
  env OFFLINE=1 HELLO_IMAGE=example.invalid/absent:1 go run ./cmd/imagebuilder prepare lab
expect fail "$work/16.log" '^imagebuilder:' \
  "image example.invalid/absent:1 is not in docker, and OFFLINE forbids pulling it" "docker load, docker tag"

echo
echo "bad-input: $passed passed, $failed failed"
((failed == 0))
