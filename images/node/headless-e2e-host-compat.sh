#!/bin/sh
# Host compatibility fixes for a kind node, each applied only when this host is detected to
# need it; on a host that needs none, this changes nothing. Runs once per boot, before
# containerd and kubelet (headless-e2e-host-compat.service).
set -o errexit -o nounset

log() { echo "headless-e2e-host-compat: $*"; }

# 1. cgroup v1. kubelet >= 1.35 refuses v1 unless told otherwise, and the node's systemd mounts
#    some v1 hierarchies (hugetlb, perf_event, net_cls) only after kind's entrypoint created
#    /kubelet.slice in the others, so kubelet fails with "cgroup [kubelet] has some missing
#    paths". Create the kubelet roots in every v1 hierarchy and let kubelet run on v1.
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  for d in /sys/fs/cgroup/*/; do
    [ -f "${d}cgroup.procs" ] || continue
    case "$d" in */unified/) continue ;; esac
    mkdir -p "${d}kubelet" "${d}kubelet.slice"
  done
  if ! grep -q -- '--fail-cgroupv1=false' /etc/default/kubelet; then
    sed -i 's|^KUBELET_EXTRA_ARGS=|KUBELET_EXTRA_ARGS=--fail-cgroupv1=false |' /etc/default/kubelet
    log "cgroup v1 host: kubelet runs with --fail-cgroupv1=false"
  fi
fi

# 2. No CAP_SYS_RESOURCE (bit 24) in the bounding set: nothing in the node may lower
#    oom_score_adj, so every pod sandbox fails until containerd clamps the values it asks
#    for, as kind already does for rootless nodes.
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $(( (0x$capbnd >> 24) & 1 )) -eq 0 ]; then
  if grep -q 'restrict_oom_score_adj = false' /etc/containerd/config.toml; then
    sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
    log "no CAP_SYS_RESOURCE: containerd runs with restrict_oom_score_adj = true"
  fi
fi
