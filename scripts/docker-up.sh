#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs it when missing (Debian/Ubuntu: docker.io),
# starts dockerd when none answers, and applies the privileged-container capability fix only
# when a probe shows this host's capability bounding set lacks something privileged
# containers ask for. Idempotent: a second run changes nothing.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/headless-e2e-dockerd.log}
CAPFIX=$HEADLESS_E2E_CACHE/bin/runc-capfix
is_root() { [[ $(id -u) -eq 0 ]]; }
answers() { docker info >/dev/null 2>&1; }
has_systemd() { [[ -d /run/systemd/system ]]; }

# 1. The docker CLI.
if ! command -v docker >/dev/null; then
  if is_root && command -v apt-get >/dev/null; then
    info "1. docker is not installed: installing Debian's docker.io"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  else
    die "docker is not installed" "sudo apt-get install -y docker.io   (or install Docker Engine for your OS)"
  fi
fi
ok "1. docker CLI: $(command -v docker)"

# A socket this user may not open means an engine is there but not for this user. Say so
# before the engine checks below: they would report it as a missing or stopped dockerd (for a
# non-root user dockerd, in /usr/sbin, is not even on PATH).
no_permission() {
  local err
  err=$(docker info 2>&1 >/dev/null) && return 1
  [[ $err == *"permission denied"* ]]
}
die_no_permission() {
  die "no permission on the Docker socket" "sudo usermod -aG docker \"${USER:-$(id -un)}\" && newgrp docker   (or run as root)"
}
if no_permission; then die_no_permission; fi

# 2. The engine. A CLI can exist without one (this is the case on a fresh machine here).
if ! command -v dockerd >/dev/null && ! answers; then
  if is_root && command -v apt-get >/dev/null; then
    info "2. no Docker engine: installing Debian's docker.io"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  else
    die "the docker CLI is here but no Docker engine (dockerd) is installed" "sudo apt-get install -y docker.io"
  fi
fi

# 3. Capability probe: does this host's bounding set lack capabilities privileged containers
#    ask for? Then runc must drop them (runc-capfix), or `docker run --privileged` fails with
#    "unable to apply caps: operation not permitted".
mkdir -p "$(dirname "$CAPFIX")"
(cd "$REPO_ROOT" && CGO_ENABLED=0 go build -o "$CAPFIX.tmp" ./cmd/runc-capfix) && mv "$CAPFIX.tmp" "$CAPFIX"
needs_capfix=false
if missing=$("$CAPFIX" probe); then
  ok "3. capability bounding set is complete: plain runc"
else
  needs_capfix=true
  ok "3. capability bounding set lacks $(echo "$missing" | tr '\n' ' ')-> docker's default runtime must be runc-capfix"
fi

start_dockerd() {
  is_root || die "the Docker daemon is not running" "sudo systemctl start docker   (or run this as root)"
  if has_systemd; then
    systemctl start docker
  else
    local flags=()
    if $needs_capfix; then flags=(--add-runtime "capfix=$CAPFIX" --default-runtime capfix); fi
    info "starting dockerd ${flags[*]} (log: $DOCKERD_LOG)"
    nohup dockerd "${flags[@]}" >"$DOCKERD_LOG" 2>&1 &
  fi
  local deadline=$((SECONDS + 60))
  until answers; do
    if ((SECONDS > deadline)); then
      tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || journalctl -u docker -n 20 --no-pager >&2 || true
      die "dockerd did not answer within 60s (its log tail is above)" "read $DOCKERD_LOG, fix what it says, then run: make docker"
    fi
    sleep 0.5
  done
}

# 4. The daemon answers, and with the right runtime.
if ! answers; then
  start_dockerd
fi
err=$(docker info 2>&1 >/dev/null) || {
  [[ $err == *"permission denied"* ]] && die_no_permission
  die "docker info fails: $err" "make docker"
}
runtime=$(docker info --format '{{.DefaultRuntime}}')
if $needs_capfix && [[ $runtime != capfix ]]; then
  if is_root && ! has_systemd && [[ -f /var/run/docker.pid ]]; then
    info "restarting dockerd with runc-capfix as its default runtime"
    pid=$(cat /var/run/docker.pid)
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    start_dockerd
    runtime=$(docker info --format '{{.DefaultRuntime}}')
  else
    die "dockerd runs with runtime $runtime, but this host needs runc-capfix for privileged containers" \
      "add to /etc/docker/daemon.json: {\"runtimes\": {\"capfix\": {\"path\": \"$CAPFIX\"}}, \"default-runtime\": \"capfix\"}" \
      "then: sudo systemctl restart docker"
  fi
fi
ok "4. Docker $(docker version --format '{{.Server.Version}}') answers, default runtime $runtime"
