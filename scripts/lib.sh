# Shared by the scripts in this directory: logging that honours NO_COLOR and only colours a
# terminal, and die() which always ends with the exact fix.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HEADLESS_E2E_CACHE=${HEADLESS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/headless-e2e}
export HEADLESS_E2E_CACHE

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  c_bold=$'\e[1m' c_red=$'\e[31m' c_green=$'\e[32m' c_yellow=$'\e[33m' c_reset=$'\e[0m'
else
  c_bold='' c_red='' c_green='' c_yellow='' c_reset=''
fi

info() { printf '%s==>%s %s\n' "$c_bold" "$c_reset" "$*"; }
ok() { printf '%s ok%s %s\n' "$c_green" "$c_reset" "$*"; }
warn() { printf '%swarn%s %s\n' "$c_yellow" "$c_reset" "$*" >&2; }

# die WHAT FIX...: print what is wrong and, on the following lines, exactly what to run.
die() {
  local what=$1
  shift
  printf '%serror:%s %s\n' "$c_red" "$c_reset" "$what" >&2
  local line
  for line in "$@"; do printf '  fix: %s\n' "$line" >&2; done
  exit 1
}

# flag NAME: prints true or false for the boolean knob NAME, read as the Go commands read
# booleans (1/true/yes, 0/false/no or unset); any other value stops the script, naming it.
flag() {
  local out
  out=$(cd "$REPO_ROOT" && go run ./cmd/cluster flag "$1" 2>&1) || die "$(head -n 1 <<<"$out")" "set $1 to 1, true or yes (on), or 0, false or no (off)"
  echo "$out"
}

# versions.env is the one source of versions, image names and the knobs' defaults. An image
# knob set in the environment wins over it (HELLO_IMAGE=... make lab), as in the Makefile and
# the Go commands: sourcing would otherwise overwrite it, exported value and all.
declare -A from_env=()
for knob in HELLO_IMAGE CLIENT_IMAGE RESOLVERS_IMAGE PROBE_IMAGE; do
  if [[ -n ${!knob:-} ]]; then from_env[$knob]=${!knob}; fi
done
# shellcheck source=../versions.env
source "$REPO_ROOT/versions.env"
for knob in "${!from_env[@]}"; do printf -v "$knob" '%s' "${from_env[$knob]}"; done
# The knobs' values where a script needs them; the Go commands read the same defaults.
# shellcheck disable=SC2034 # read by the scripts that source this file
cluster_name=${KIND_CLUSTER_NAME:-$DEFAULT_CLUSTER_NAME}
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/$DEFAULT_ARTIFACTS}
export ARTIFACTS
