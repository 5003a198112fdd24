#!/usr/bin/env bash
# deps.sh - installs the Debian packages in scripts/deps-apt.txt that are
# missing (as root, non-interactively).  Sourced by build.sh and test.sh.
install_missing_debs() {
  local list=$1 pkgs=() missing=() p
  mapfile -t pkgs < <(grep -v '^\s*#' "$list" | grep -v '^\s*$')
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
