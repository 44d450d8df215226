#!/usr/bin/env bash
# Keeps everything a kind cluster sends on this machine, in IPv4 and in IPv6.
#
#   egress-guard.sh up [CIDR...]   drop traffic forwarded to an uplink (every interface a default
#                                  route leaves by, per address family), and blackhole the given
#                                  cluster CIDRs (pod, service; IPv4 or IPv6) on the host
#   egress-guard.sh down           remove exactly what `up` added
#   egress-guard.sh check          list the guard per family; exit 1 if a family that has a
#                                  default route has no drop rule that forwarded packets reach
#
# Why: before kube-proxy's first rule sync, a pod's packets to a Service VIP follow the node's
# default route to this host, and from here the host's default route would carry them off the
# machine. The blackhole routes stop that on the host; the drop rule stops anything else
# forwarded from a container to the uplink. The `kind` Docker network has an IPv6 subnet and
# every node an IPv6 default route even in an IPv4 cluster, so IPv6 needs the same rule.
# Traffic between containers, and from the host to containers, is untouched.
#
# Where the rule goes, per family: a DROP in any netfilter base chain at the forward hook is
# final, whichever backend (nf_tables or legacy x_tables) holds it, but a rule in a chain that
# nothing jumps to guards nothing. Docker re-inserts its own rules at the top of FORWARD and
# leaves only DOCKER-USER alone, so where docker manages a family (FORWARD's first rule jumps to
# DOCKER-USER, in either backend) the rule goes into that backend's DOCKER-USER; where it does
# not (docker's default for IPv6 before 27.0), at the top of the default backend's FORWARD,
# which docker does not touch for that family.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly COMMENT=headless-e2e-egress-guard
readonly ROUTE_PROTO=222 # marks our routes so `down` and `check` find only them
readonly FAMILIES=(4 6)

# tool FAMILY: iptables or ip6tables.
tool() { if [[ $1 == 4 ]]; then echo iptables; else echo ip6tables; fi; }

# uplinks FAMILY: the interfaces the family's default routes leave by (multipath included).
uplinks() { ip -o "-$1" route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | sort -u; }

# backends FAMILY: the iptables commands that can hold a rule for the family: both backends
# where Debian's alternatives provide them, else the plain command. A legacy table is listed
# only when the kernel already has it (/proc/net/ip*_tables_names): listing it with the legacy
# command would create it.
backends() {
  local t names cmd
  t=$(tool "$1")
  names=/proc/net/ip_tables_names
  [[ $1 == 6 ]] && names=/proc/net/ip6_tables_names
  for cmd in "$t-nft" "$t-legacy"; do
    command -v "$cmd" >/dev/null || continue
    if [[ $cmd == *-legacy ]] && ! grep -qx filter "$names" 2>/dev/null; then continue; fi
    echo "$cmd"
  done
  if ! command -v "$t-nft" >/dev/null && ! command -v "$t-legacy" >/dev/null && command -v "$t" >/dev/null; then
    echo "$t"
  fi
}

# docker_user CMD: true when that backend's FORWARD first jumps to DOCKER-USER (docker manages it).
docker_user() { [[ $("$1" -S FORWARD 2>/dev/null | grep -m1 '^-A FORWARD') == "-A FORWARD -j DOCKER-USER" ]]; }

# chain FAMILY: "CMD CHAIN" lines, where `up` puts the family's drop rules (see the header).
chains() {
  local cmd found=0
  for cmd in $(backends "$1"); do
    if docker_user "$cmd"; then
      echo "$cmd DOCKER-USER"
      found=1
    fi
  done
  if ((!found)); then echo "$(tool "$1") FORWARD"; fi
}

joined() { local IFS=';' all; all="$*"; echo "${all//;/; }"; } # ARGS joined by "; "

rule() { # CHAIN DEV: the drop rule's arguments after -I/-C/-D
  echo "$1 -o $2 -m comment --comment $COMMENT -j DROP"
}

# ours CMD: our rules in that backend, as `-S` prints them.
ours() { "$1" -S 2>/dev/null | grep -- "--comment $COMMENT" || true; }

# first CMD CHAIN SPEC: true when only our own rules stand before SPEC in CHAIN.
first() {
  local line
  while read -r line; do
    [[ $line == "$3" ]] && return 0
    [[ $line == *"--comment $COMMENT "* ]] || return 1
  done < <("$1" -S "$2" 2>/dev/null | grep "^-A $2 ")
  return 1
}

# reached CMD SPEC: true when forwarded packets reach the rule SPEC (an `-A CHAIN ...` line): it
# heads FORWARD, or heads DOCKER-USER and FORWARD's first rule jumps there.
reached() {
  case $2 in
  "-A FORWARD "*) first "$1" FORWARD "$2" ;;
  "-A DOCKER-USER "*) docker_user "$1" && first "$1" DOCKER-USER "$2" ;;
  *) false ;;
  esac
}

# preflight FAMILY: fail before anything is added when the family is routed off this machine
# but cannot be guarded.
preflight() {
  local devs t
  devs=$(uplinks "$1")
  [[ -n $devs ]] || return 0
  t=$(tool "$1")
  command -v "$t" >/dev/null ||
    die "IPv$1 is routed off this machine (default route via ${devs//$'\n'/ }) but $t is not installed, so the guard cannot drop IPv$1 traffic from the cluster" \
      "apt-get install -y iptables   (Debian/Ubuntu: it provides $t), then run $0 up again"
  "$t" -S FORWARD >/dev/null 2>&1 ||
    die "$t cannot read the filter table's FORWARD chain: $("$t" -S FORWARD 2>&1 | tail -n 1)" \
      "run '$t -S FORWARD' as root and fix what it says (kernel support for IPv$1 netfilter)"
}

up() {
  [[ $(id -u) -eq 0 ]] || die "the egress guard needs root (iptables, ip6tables, ip route)" "run as root, or: sudo $0 up $*"
  if ! command -v iptables >/dev/null || ! iptables -nL DOCKER-USER >/dev/null 2>&1; then
    die "iptables has no DOCKER-USER chain: dockerd is not running or not managing iptables" "make docker"
  fi
  [[ -n $(uplinks 4) ]] || die "no IPv4 default route: cannot tell which interface leaves this machine" "ip route"
  local fam dev cmd chain cidr said=()
  for fam in "${FAMILIES[@]}"; do preflight "$fam"; done
  for fam in "${FAMILIES[@]}"; do
    if [[ -z $(uplinks "$fam") ]]; then
      said+=("IPv$fam: no default route, nothing to guard")
      continue
    fi
    for dev in $(uplinks "$fam"); do
      while read -r cmd chain; do
        # shellcheck disable=SC2046
        "$cmd" -C $(rule "$chain" "$dev") 2>/dev/null || "$cmd" -I $(rule "$chain" "$dev")
        said+=("IPv$fam to $dev dropped ($cmd $chain)")
      done < <(chains "$fam")
    done
  done
  for cidr in "$@"; do
    ip route replace blackhole "$cidr" proto "$ROUTE_PROTO"
  done
  ok "egress guard up: $(joined "${said[@]}"); blackholed: ${*:-nothing}"
}

down() {
  local fam cmd spec kind dst
  for fam in "${FAMILIES[@]}"; do
    for cmd in $(backends "$fam"); do
      while spec=$(ours "$cmd" | head -n 1) && [[ -n $spec ]]; do
        # shellcheck disable=SC2086
        "$cmd" -D ${spec#-A }
      done
    done
    while read -r kind dst; do
      [[ -n $kind ]] && ip "-$fam" route del "$kind" "$dst" proto "$ROUTE_PROTO"
    done < <(ip "-$fam" route show proto "$ROUTE_PROTO" | awk '{print $1, $2}')
  done
  ok "egress guard down"
}

check() {
  local fam dev cmd spec lines=() missing=() guarded
  for fam in "${FAMILIES[@]}"; do
    if [[ -z $(uplinks "$fam") ]]; then
      lines+=("ipv$fam: no default route, nothing to guard")
      continue
    fi
    if ! command -v "$(tool "$fam")" >/dev/null; then
      missing+=("ipv$fam: routed, but $(tool "$fam") is not installed")
      continue
    fi
    for dev in $(uplinks "$fam"); do
      guarded=0
      for cmd in $(backends "$fam"); do
        while read -r spec; do
          [[ $spec == *" -o $dev "* ]] || continue
          if reached "$cmd" "$spec"; then
            lines+=("ipv$fam $cmd $spec")
            guarded=1
          else
            lines+=("ipv$fam $cmd $spec   (NOT reached: FORWARD does not lead to it first)")
          fi
        done < <(ours "$cmd")
      done
      ((guarded)) || missing+=("ipv$fam: no drop rule that forwarded packets reach for uplink $dev")
    done
  done
  local routes
  routes=$( (ip -4 route show proto "$ROUTE_PROTO"; ip -6 route show proto "$ROUTE_PROTO") | sed '/^$/d')
  if ((${#missing[@]})); then
    echo "egress guard: DOWN ($(joined "${missing[@]}"))"
  else
    echo "egress guard: UP"
  fi
  local line
  for line in "${lines[@]}"; do echo "  $line"; done
  while read -r line; do echo "  route $line"; done <<<"${routes:-(no blackhole routes)}"
  ((${#missing[@]} == 0))
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
check) check ;;
*) die "usage: $0 up [CIDR...] | down | check" "$0 check" ;;
esac
