#!/usr/bin/env bash
# Installs the Debian packages the image build and the linters need, when missing:
# debootstrap (root filesystems), libseccomp-dev + pkg-config (runc with seccomp),
# ShellCheck and Ruby (make lint), iptables (ip6tables, both backends) and ping (make egress-check). Needs root and apt-get; elsewhere it says what to install.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# command-or-file -> package
declare -A wanted=(
  [debootstrap]=debootstrap
  [/usr/share/keyrings/debian-archive-keyring.gpg]=debian-archive-keyring
  [/usr/include/seccomp.h]=libseccomp-dev
  [pkg-config]=pkg-config
  [shellcheck]=shellcheck
  [ruby]=ruby
  [ip6tables-legacy]=iptables
  [ping]=iputils-ping
)
missing=()
for probe in "${!wanted[@]}"; do
  if [[ $probe == /* ]]; then [[ -e $probe ]] && continue; else command -v "$probe" >/dev/null && continue; fi
  missing+=("${wanted[$probe]}")
done
if ((${#missing[@]} == 0)); then
  ok "host packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  die "missing host packages: ${missing[*]}" "sudo apt-get install -y ${missing[*]}"
fi
info "installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ok "installed ${missing[*]}"
