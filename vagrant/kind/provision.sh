#!/usr/bin/env bash
# Provisions the course VM (run by `vagrant up` as root, with the repository's path in the
# guest as $1) so that `vagrant ssh` followed by `make lab` works. Idempotent: `vagrant
# provision` again only redoes what is missing. Unlike the rest of the project this VM
# assumes internet access: Ubuntu's mirrors, go.dev and the Go module proxy.
set -o errexit -o nounset -o pipefail

REPO=${1:-/home/vagrant/headless-e2e}
USER_NAME=vagrant
USER_HOME=/home/$USER_NAME
GO_ROOT=/usr/local/go

step() { printf '==> %s\n' "$*"; }

[[ -f $REPO/go.mod ]] || { echo "error: $REPO/go.mod not found: is the repository synced into the VM?" >&2; exit 1; }

# 1. Packages. shellcheck and ruby are here although the lab never lints: scripts/host-deps.sh
#    probes for them before every image build, and as user vagrant it could only refuse.
#    jq reads go.dev's release list for the Go checksum.
packages=(docker.io make git debootstrap debian-archive-keyring libseccomp-dev pkg-config
  shellcheck ruby curl ca-certificates jq)
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
  step "1. apt: installed ${missing[*]}"
else
  step "1. apt: all packages present"
fi

# 2. Docker for user vagrant. The group applies from the next login, which `vagrant ssh` is.
systemctl enable --now --quiet docker
if [[ " $(id -nG "$USER_NAME") " == *" docker "* ]]; then
  step "2. docker: running, $USER_NAME already in group docker"
else
  usermod -aG docker "$USER_NAME"
  step "2. docker: running, $USER_NAME added to group docker"
fi

# 3. Go at exactly what go.mod asks for, so no GOTOOLCHAIN download happens mid-lab.
#    Since Go 1.21 a release's first tarball is goX.Y.0, so a bare `go X.Y` line means X.Y.0.
go_version=$(awk '$1 == "go" { print $2; exit }' "$REPO/go.mod")
[[ $go_version =~ ^[0-9]+\.[0-9]+$ ]] && go_version+=.0
have=$(GOTOOLCHAIN=local "$GO_ROOT/bin/go" env GOVERSION 2>/dev/null || true)
if [[ $have == "go$go_version" ]]; then
  step "3. go: go$go_version already in $GO_ROOT"
else
  arch=$(dpkg --print-architecture) # amd64 and arm64 are spelt as Go spells them
  file=go$go_version.linux-$arch.tar.gz
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/$file" "https://go.dev/dl/$file"
  # The checksum comes from go.dev's own release list, so a truncated or substituted
  # download is caught before it replaces a working toolchain.
  sum=$(curl -fsSL --retry 3 'https://go.dev/dl/?mode=json&include=all' |
    jq -r --arg f "$file" '.[].files[] | select(.filename == $f) | .sha256')
  [[ -n $sum ]] || { echo "error: go.dev lists no $file (go.mod says go $go_version)" >&2; exit 1; }
  echo "$sum  $tmp/$file" | sha256sum --check --quiet -
  rm -rf "$GO_ROOT"
  tar -C "$(dirname "$GO_ROOT")" -xzf "$tmp/$file"
  step "3. go: installed go$go_version into $GO_ROOT (was: ${have:-none})"
fi

# 4. PATH for login shells, which is what `vagrant ssh` opens. The repo's bin/ holds kind,
#    kubectl and gotestsum at the pinned versions, ahead of anything else on the system.
cat >/etc/profile.d/headless-e2e.sh <<EOF
# Written by vagrant/kind/provision.sh.
export PATH="$GO_ROOT/bin:$REPO/bin:\$PATH"
EOF
step "4. PATH: $GO_ROOT/bin and $REPO/bin via /etc/profile.d/headless-e2e.sh"

# 5. Land in the repository on `vagrant ssh`, where every make target is run from.
bashrc=$USER_HOME/.bashrc
cd_line="cd $REPO"
if grep -qxF "$cd_line" "$bashrc" 2>/dev/null; then
  step "5. shell: ~/.bashrc already starts in $REPO"
else
  echo "$cd_line" >>"$bashrc"
  chown "$USER_NAME:$USER_NAME" "$bashrc"
  step "5. shell: ~/.bashrc now starts in $REPO"
fi

# 6. Every kind node runs systemd, kubelet and containerd, each holding inotify instances and
#    watches; Ubuntu's defaults (128 instances) run out with three nodes and pods then fail
#    with "too many open files".
cat >/etc/sysctl.d/99-kind.conf <<'EOF'
# Written by vagrant/kind/provision.sh: a 3-node kind cluster exhausts the defaults.
fs.inotify.max_user_watches = 524288
fs.inotify.max_user_instances = 512
EOF
sysctl --system >/dev/null
step "6. sysctl: inotify max_user_watches=$(sysctl -n fs.inotify.max_user_watches) max_user_instances=$(sysctl -n fs.inotify.max_user_instances)"

# 7. The pinned tools, built as user vagrant so ./bin and the Go caches belong to whoever
#    runs the lab rather than to root.
sudo -u "$USER_NAME" -H env "PATH=$GO_ROOT/bin:$PATH" make --no-print-directory -C "$REPO" tools
step "7. tools: $("$REPO/bin/kind" version | cut -d' ' -f1-2), kubectl and gotestsum in $REPO/bin"

# 8. The workload images, built as root because debootstrap and chroot need it. Images are
#    cached by the hash of their inputs in docker labels, so `make lab` run later as user
#    vagrant finds them ready and needs no root.
env "PATH=$GO_ROOT/bin:$PATH" make --no-print-directory -C "$REPO" images
step "8. images: the hello and client images are in docker"

step "done: vagrant ssh, then make lab"
