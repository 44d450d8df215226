#!/usr/bin/env bash
# Times `make node-image` three ways and prints every stage's wall time:
#   cold      empty Go build cache and empty stage cache (modules already downloaded)
#   warm      the same caches again, images rebuilt from cached stages
#   unchanged the ordinary cache hit (docker already has the image with the current inputs)
# It replaces the node image with an identical-input one. Needs ~25 min and ~8 GB in TMPDIR.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

work=$(mktemp -d "${TMPDIR:-/tmp}/headless-e2e-timing.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/imagebuilder" ./cmd/imagebuilder

timed() { # timed LABEL CMD...
  local label=$1 start=$SECONDS
  shift
  info "$label"
  "$@" | tee "$work/$label.log"
  printf '%s: %ss\n' "$label" $((SECONDS - start)) | tee -a "$work/summary"
}

timed cold env GOCACHE="$work/gocache" "$work/imagebuilder" -cache "$work/stages" -rebuild node
du -sh "$work/gocache" | awk '{print "Go build cache after the cold build: " $1}' | tee -a "$work/summary"
timed warm env GOCACHE="$work/gocache" "$work/imagebuilder" -cache "$work/stages" -rebuild node
timed unchanged "$work/imagebuilder" node
docker image inspect --format '{{.Size}}' "$NODE_IMAGE_REPO:$KUBERNETES_VERSION" | awk '{printf "node image size: %.0f MB\n", $1/1e6}' | tee -a "$work/summary"
echo
cat "$work/summary"
