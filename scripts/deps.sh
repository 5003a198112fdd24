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
  # redis-server and nginx must not start their system services (ports
  # 6379 and 80): the tests start their own, on free ports of 127.0.0.1.
  # policy-rc.d is Debian's switch for that; removed again right after.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e $policy ]; then
    printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy &&
      made_policy=1
  fi
  local rc=0
  apt-get update -qq || rc=$?
  if [ $rc -eq 0 ]; then
    apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >/dev/null || rc=$?
  fi
  if [ $made_policy = 1 ]; then rm -f $policy; fi
  return $rc
}
