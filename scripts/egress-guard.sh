#!/usr/bin/env bash
# Keeps everything a kind cluster sends on this machine.
#
#   egress-guard.sh up [CIDR...]   drop container traffic leaving through the uplink, and
#                                  blackhole the given cluster CIDRs (pod, service) on the host
#   egress-guard.sh down           remove exactly what `up` added
#   egress-guard.sh check          exit 0 and list the rules if the guard is up, 1 if not
#
# Why: before kube-proxy's first rule sync, a pod's packets to a Service VIP follow the node's
# default route to this host, and from here the host's default route would carry them off the
# machine. The blackhole routes stop that on the host; the DOCKER-USER rule (docker consults it
# before its own forwarding rules) stops anything else forwarded from a container to the uplink.
# Traffic between containers, and from the host to containers, is untouched.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly COMMENT=headless-e2e-egress-guard
readonly ROUTE_PROTO=222 # marks our routes so `down` and `check` find only them

uplink() { ip -o route show default | awk '{print $5; exit}'; }

rule() { # iptables args for the drop rule on the given uplink
  echo "DOCKER-USER -o $1 -m comment --comment $COMMENT -j DROP"
}

up() {
  [[ $(id -u) -eq 0 ]] || die "the egress guard needs root (iptables, ip route)" "run as root, or: sudo $0 up $*"
  iptables -nL DOCKER-USER >/dev/null 2>&1 || die "iptables has no DOCKER-USER chain: dockerd is not running or not managing iptables" "make docker"
  local dev cidr
  dev=$(uplink)
  [[ -n $dev ]] || die "no default route: cannot tell which interface leaves this machine" "ip route"
  # shellcheck disable=SC2046
  iptables -C $(rule "$dev") 2>/dev/null || iptables -I $(rule "$dev")
  for cidr in "$@"; do
    ip route replace blackhole "$cidr" proto "$ROUTE_PROTO"
  done
  ok "egress guard up: container traffic to $dev dropped; blackholed: ${*:-nothing}"
}

down() {
  local spec kind dst
  while spec=$(iptables -S DOCKER-USER 2>/dev/null | grep -m1 -- "--comment $COMMENT"); do
    # shellcheck disable=SC2086
    iptables -D ${spec#-A }
  done
  while read -r kind dst; do
    ip route del "$kind" "$dst" proto "$ROUTE_PROTO"
  done < <(ip route show proto "$ROUTE_PROTO" | awk '{print $1, $2}')
  ok "egress guard down"
}

check() {
  local rules routes
  rules=$(iptables -S DOCKER-USER 2>/dev/null | grep -- "--comment $COMMENT" || true)
  routes=$(ip route show proto "$ROUTE_PROTO")
  if [[ -z $rules ]]; then
    echo "egress guard: DOWN (no DOCKER-USER rule)"
    return 1
  fi
  echo "egress guard: UP"
  local line
  while read -r line; do echo "  iptables $line"; done <<<"$rules"
  while read -r line; do echo "  route $line"; done <<<"${routes:-(no blackhole routes)}"
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
check) check ;;
*) die "usage: $0 up [CIDR...] | down | check" "$0 check" ;;
esac
