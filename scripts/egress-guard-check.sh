#!/usr/bin/env bash
# Shows that scripts/egress-guard.sh stops forwarded traffic in IPv4 and IPv6, without sending a
# packet off this machine: three network namespaces made here, linked only to each other,
# stand in for the world, this host and a container. The guard runs inside the stand-in host,
# whose default routes (both families) lead to the stand-in world, so the uplink it finds is a
# veth of ours. Every case pings from the container to the world and reads the rules back.
#
# Addresses: 198.18.0.0/15 (RFC 2544 benchmarking) and 2001:db8::/32 (RFC 3849 documentation),
# on interfaces of these namespaces only; the namespaces have no link to the host's network.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "network namespaces and iptables need root" "sudo $0"
for t in ip ping iptables ip6tables ip6tables-legacy; do
  command -v "$t" >/dev/null || die "$t is not installed" "make host-deps"
done

readonly WORLD=he2e-guard-world HOST=he2e-guard-host BOX=he2e-guard-box
readonly FAR4=198.18.99.1 FAR6=2001:db8:99::1 # the world's addresses: "off the machine"
readonly GUARD=$REPO_ROOT/scripts/egress-guard.sh
work=$(mktemp -d)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for ns in "$BOX" "$HOST" "$WORLD"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
on_host() { in_ns "$HOST" "$@"; }

# The topology: box (b0) -- (hb0) host (up0) -- (w0) world, which also holds FAR4/FAR6.
for ns in "$WORLD" "$HOST" "$BOX"; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
done
ip link add up0 netns "$HOST" type veth peer name w0 netns "$WORLD"
ip link add hb0 netns "$HOST" type veth peer name b0 netns "$BOX"
in_ns "$WORLD" ip addr add 198.18.0.1/24 dev w0
in_ns "$WORLD" ip addr add 2001:db8:0:1::1/64 dev w0 nodad
in_ns "$WORLD" ip addr add "$FAR4/32" dev lo
in_ns "$WORLD" ip addr add "$FAR6/128" dev lo
on_host ip addr add 198.18.0.2/24 dev up0
on_host ip addr add 2001:db8:0:1::2/64 dev up0 nodad
on_host ip addr add 198.18.1.1/24 dev hb0
on_host ip addr add 2001:db8:0:2::1/64 dev hb0 nodad
in_ns "$BOX" ip addr add 198.18.1.2/24 dev b0
in_ns "$BOX" ip addr add 2001:db8:0:2::2/64 dev b0 nodad
for ns in "$WORLD" "$HOST" "$BOX"; do
  for dev in $(in_ns "$ns" ls /sys/class/net); do in_ns "$ns" ip link set "$dev" up; done
done
in_ns "$WORLD" ip route add 198.18.1.0/24 via 198.18.0.2
in_ns "$WORLD" ip route add 2001:db8:0:2::/64 via 2001:db8:0:1::2
on_host ip route add default via 198.18.0.1
on_host ip route add default via 2001:db8:0:1::1
in_ns "$BOX" ip route add default via 198.18.1.1
in_ns "$BOX" ip route add default via 2001:db8:0:2::1
on_host sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# Docker as on this host: it manages IPv4 (FORWARD's first rule jumps to DOCKER-USER) and, in
# its default before 27.0, not IPv6.
on_host iptables -N DOCKER-USER
on_host iptables -A DOCKER-USER -j RETURN
on_host iptables -I FORWARD -j DOCKER-USER
# IPv6 neighbour discovery takes a moment on new links: wait (10 s at most) until the world
# answers in both families, so that case 1 asserts a network that has settled.
for _ in $(seq 20); do in_ns "$BOX" ping -6 -c 1 -W 1 "$FAR6" >/dev/null 2>&1 && break; sleep 0.5; done

passed=0 failed=0
verdict() { # NAME OK(0|1) DETAIL
  if [[ $2 == 0 ]]; then
    ok "$1"
    passed=$((passed + 1))
  else
    warn "FAILED: $1: $3"
    failed=$((failed + 1))
  fi
}
# expect_reach CASE FAMILY ADDR yes|no: does the container's ping reach ADDR?
expect_reach() {
  local got=no
  in_ns "$BOX" ping "-$2" -c 1 -W 1 "$3" >/dev/null 2>&1 && got=yes
  verdict "$1: container -> $3 (IPv$2) reaches: $4" "$([[ $got == "$4" ]] && echo 0 || echo 1)" "it reached: $got"
}
# run_guard ARGS...: the guard inside the stand-in host; output in $work/out, status in $last_status.
run_guard() {
  last_status=0
  on_host "$GUARD" "$@" >"$work/out" 2>&1 || last_status=$?
}
# expect_guard CASE STATUS PHRASE...: the guard's last run exited STATUS and printed every PHRASE.
expect_guard() {
  local case=$1 status=$2 phrase bad=""
  shift 2
  [[ $last_status == "$status" ]] || bad+="exit status $last_status, want $status; "
  for phrase in "$@"; do grep -qF -- "$phrase" "$work/out" || bad+="does not print \"$phrase\"; "; done
  verdict "$case: exit $status, names what it did" "$([[ -z $bad ]] && echo 0 || echo 1)" "$bad"
  sed 's/^/    | /' "$work/out"
}
# state: the stand-in host's rules (no counters) and routes, to show what `down` leaves. The
# legacy table is listed only where it exists (listing it would create it).
state() {
  on_host iptables-nft -S 2>/dev/null # its warning that legacy tables exist is not state
  on_host ip6tables-nft -S 2>/dev/null
  if on_host grep -qx filter /proc/net/ip6_tables_names; then on_host ip6tables-legacy -S; fi
  on_host ip -4 route
  on_host ip -6 route
}
# dropped FAMILY CHAIN: packets our rule in CHAIN counted.
dropped() {
  local t=iptables
  [[ $1 == 6 ]] && t=ip6tables
  on_host "$t" -L "$2" -v -x -n | awk '/headless-e2e-egress-guard/ {print $1; exit}'
}

info "1. before the guard: the stand-in network carries both families"
expect_reach "1" 4 "$FAR4" yes
expect_reach "1" 6 "$FAR6" yes
before=$(state)

info "2. up: both families dropped at the uplink, both families' CIDRs blackholed"
run_guard up 198.18.200.0/24 2001:db8:200::/56
expect_guard "2 up" 0 "IPv4 to up0 dropped (iptables-nft DOCKER-USER)" "IPv6 to up0 dropped (ip6tables FORWARD)"
run_guard check
expect_guard "2 check" 0 "egress guard: UP" "ipv4 iptables-nft -A DOCKER-USER -o up0" "ipv6 ip6tables-nft -A FORWARD -o up0" "route blackhole 198.18.200.0/24" "route blackhole 2001:db8:200::/56"
expect_reach "2" 4 "$FAR4" no
expect_reach "2" 6 "$FAR6" no
n4=$(dropped 4 DOCKER-USER) n6=$(dropped 6 FORWARD)
verdict "2: the drop rules counted the packets (IPv4 ${n4:-none}, IPv6 ${n6:-none})" "$([[ ${n4:-0} -ge 1 && ${n6:-0} -ge 1 ]] && echo 0 || echo 1)" "a rule that counted nothing did not stop them"

info "3. down: exactly what up added is gone, traffic flows again"
run_guard down
expect_guard "3 down" 0 "egress guard down"
after=$(state)
verdict "3: rules and routes as before up" "$([[ $before == "$after" ]] && echo 0 || echo 1)" "$(diff <(echo "$before") <(echo "$after") || true)"
expect_reach "3" 6 "$FAR6" yes
run_guard check
expect_guard "3 check after down" 1 "egress guard: DOWN" "ipv4: no drop rule that forwarded packets reach for uplink up0" "ipv6: no drop rule that forwarded packets reach for uplink up0"

info "4. the IPv6 rule removed by hand: check fails naming the family"
run_guard up
on_host ip6tables -D FORWARD 1
run_guard check
expect_guard "4 check" 1 "egress guard: DOWN (ipv6: no drop rule that forwarded packets reach for uplink up0)"
run_guard down

info "5. an ACCEPT put above the rule (as a firewall reloaded after the guard would): not reached, and check says so"
run_guard up
on_host ip6tables -I FORWARD -j ACCEPT
expect_reach "5 (the rule is bypassed)" 6 "$FAR6" yes
run_guard check
expect_guard "5 check" 1 "NOT reached" "ipv6: no drop rule that forwarded packets reach"
on_host ip6tables -D FORWARD -j ACCEPT
run_guard down

info "6. docker managing IPv6 in the legacy backend while ip6tables is nf_tables: the rule goes where FORWARD leads"
on_host ip6tables-legacy -N DOCKER-USER
on_host ip6tables-legacy -I FORWARD -j DOCKER-USER
before6=$(state)
run_guard up
expect_guard "6 up" 0 "IPv6 to up0 dropped (ip6tables-legacy DOCKER-USER)"
expect_reach "6" 6 "$FAR6" no
run_guard check
expect_guard "6 check" 0 "ipv6 ip6tables-legacy -A DOCKER-USER -o up0"
run_guard down
verdict "6: down removed the legacy rule and nothing else" "$([[ $before6 == "$(state)" ]] && echo 0 || echo 1)" "$(diff <(echo "$before6") <(state) || true)"
on_host ip6tables-legacy -D FORWARD -j DOCKER-USER
on_host ip6tables-legacy -X DOCKER-USER

info "7. no IPv6 default route: nothing to guard in IPv6, and check says so"
on_host ip -6 route del default
run_guard up
expect_guard "7 up" 0 "IPv6: no default route, nothing to guard"
run_guard check
expect_guard "7 check" 0 "egress guard: UP" "ipv6: no default route, nothing to guard"
run_guard down
on_host ip -6 route add default via 2001:db8:0:1::1

info "8. IPv6 routed but no ip6tables (a PATH without it): up fails before adding anything"
mkdir -p "$work/bin"
for t in bash sh env dirname ip iptables grep awk sort sed head cat id tail; do ln -sf "$(command -v "$t")" "$work/bin/$t"; done
before8=$(state)
last_status=0
on_host env PATH="$work/bin" "$GUARD" up 198.18.200.0/24 >"$work/out" 2>&1 || last_status=$?
expect_guard "8 up" 1 "error: IPv6 is routed off this machine (default route via up0) but ip6tables is not installed" "fix: apt-get install -y iptables"
verdict "8: nothing was added" "$([[ $before8 == "$(state)" ]] && echo 0 || echo 1)" "$(diff <(echo "$before8") <(state) || true)"

echo
echo "egress-guard: $passed passed, $failed failed"
((failed == 0))
