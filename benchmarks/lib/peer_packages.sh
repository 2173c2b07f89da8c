# Sourced by the benchmark scripts (benchmarks/echo.sh, benchmarks/micro/compare.sh):
#
#   source "$repo_root/benchmarks/lib/peer_packages.sh"
#   install_peer_packages librust-tokio-dev libboost-dev
#
# install_peer_packages installs, with apt-get, whichever of the given Debian packages are
# missing, plus Debian's cargo when the machine has no Rust toolchain: the peers build from
# Debian's packages, installed the way ./bazelw installs Keel's dependencies (one
# `apt-get update` first, only when something is missing). Progress goes to stderr.
install_peer_packages() {
  local pkgs=("$@") missing=() pkg
  command -v cargo >/dev/null || pkgs+=(cargo)
  for pkg in "${pkgs[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]] ||
      missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "installing with apt-get: ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}
