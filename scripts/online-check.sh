#!/usr/bin/env bash
# `make online-check`: the online path, simulated, as the course's reader runs it. No registry
# is reachable here, so the images a learner with internet would pull are put in docker under
# their public names first (this project's images, tagged: kindest/node, the course's
# paulbouwer/hello-kubernetes:1.7 and hwchiu/netutils), and the egress guard is up, so any pull
# fails loudly. Then a non-root user in the docker group, with Go, make and a kubectl of their
# own on PATH, runs the README's two commands from a clone of this checkout without OFFLINE:
# `make lab` (non-interactively) and `make test`. Prints the time to the lab's first step and to
# its cluster, and the whole run's.
#
# CLUSTER_ISOLATED=1 gives the cluster no upstream DNS and no registry (as OFFLINE does): the
# guard drops forwarded traffic, but CoreDNS's upstream and containerd's registry lookups ask
# the node's resolver, docker's, which relays from the host.
# What the simulation cannot show: a real pull (kind's node image is pinned by digest, which a
# tag made here cannot carry, so KIND_NODE_IMAGE names the tag), and the course's real images
# (what runs under their names is this project's).
#
# Needs root (it makes the user and raises the guard) and the images OFFLINE=1 make prepare
# built. ONLINE_USER (default headless-online) is kept between runs, with its Go caches.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

user=${ONLINE_USER:-headless-online}
cluster=online-check
node_tag=kindest/node:$(go run ./cmd/cluster published-node-version)
home=/home/$user
work=$home/headless-e2e
log=$ARTIFACTS/online-check.log
mkdir -p "$ARTIFACTS"

info "1. root, docker and the images built here"
[[ $(id -u) -eq 0 ]] || die "online-check makes a user and raises the egress guard: it needs root" "sudo make online-check"
docker info >/dev/null 2>&1 || die "docker does not answer" "make docker"
for img in "$NODE_IMAGE_REPO:$KUBERNETES_VERSION" "$HELLO_IMAGE" "$CLIENT_IMAGE" "$PROBE_IMAGE" "$RESOLVERS_IMAGE"; do
  docker image inspect "$img" >/dev/null 2>&1 || die "image $img is not in docker" "OFFLINE=1 make prepare"
done

info "2. the images a learner would pull, under their public names"
docker tag "$NODE_IMAGE_REPO:$KUBERNETES_VERSION" "$node_tag"
docker tag "$HELLO_IMAGE" "$COURSE_HELLO_IMAGE"
docker tag "$CLIENT_IMAGE" "$COURSE_CLIENT_IMAGE"
ok "$node_tag, $COURSE_HELLO_IMAGE, $COURSE_CLIENT_IMAGE (this project's images, tagged)"

info "3. the egress guard, up before any cluster (the user cannot raise it)"
scripts/egress-guard.sh up >/dev/null
scripts/egress-guard.sh check

info "4. user $user in the docker group, a kubectl of their own, a clone of this checkout"
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
usermod -aG docker "$user"
install -D -m 0755 -o "$user" bin/kubectl "$home/.local/bin/kubectl"
rm -rf "$work"
git clone --quiet "$REPO_ROOT" "$work"
chown -R "$user:" "$work"

as_user() { # as_user CMD...: run CMD in the clone as the user, with a learner's environment
  runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH="$home/.local/bin:$(dirname "$(command -v go)"):/usr/local/bin:/usr/bin:/bin" \
    GOPROXY="$(go env GOPROXY)" GOSUMDB="$(go env GOSUMDB)" NO_COLOR=1 CI=true \
    KIND_CLUSTER_NAME=$cluster KIND_NODE_IMAGE="$node_tag" CLUSTER_ISOLATED=1 "$@"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  as_user bash -c "cd '$work' && go run ./cmd/cluster down" >/dev/null 2>&1 || true
  # The guard root raised comes down as cluster-down lowers it: once no kind cluster is left.
  EGRESS_GUARD=1 KIND_CLUSTER_NAME=$cluster go run ./cmd/cluster down || rc=1
  rm -rf "$ARTIFACTS/online-check"
  cp -r "$work/_artifacts" "$ARTIFACTS/online-check" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

info "5. make lab, as $user, online (output: $log)"
start=$SECONDS
first='' cluster_ready=''
while IFS= read -r line; do
  printf '%s\n' "$line" >>"$log"
  case $line in
    "1. "*) first=${first:-$((SECONDS - start))} ;;
    "2. "*) cluster_ready=${cluster_ready:-$((SECONDS - start))} ;;
  esac
done < <(as_user bash -c "cd '$work' && make lab 2>&1; echo \"make lab exit \$?\"")
lab_time=$((SECONDS - start))
tail -n 3 "$log"
grep -qx "make lab exit 0" "$log" || die "make lab failed as $user (log: $log)" "read $log"
grep -qE "^StatefulSet +hello-kubernetes +$COURSE_HELLO_IMAGE$" "$log" || die "the lab did not run the course's image $COURSE_HELLO_IMAGE (log: $log)" "read $log"

info "6. make test, as $user, online"
start=$SECONDS
test_rc=0
as_user bash -c "cd '$work' && make test" >>"$log" 2>&1 || test_rc=$?
test_time=$((SECONDS - start))
grep -E '^(DONE|lab-check:|phase|unit|e2e|faults|teardown)' "$log" | tail -n 12 || true
((test_rc == 0)) || die "make test failed as $user (log: $log)" "read $log"

echo "online-check: make lab: first step after ${first}s, cluster ready (step 2) after ${cluster_ready}s, done after ${lab_time}s; make test ${test_time}s (user $user, no OFFLINE, images present, guard up)"
