#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever hallbus needs to build, run
# and test that is not on the machine yet. Safe to run again: it installs only
# what is missing. Pass --browser to include headless Chromium for the
# dashboard tests.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git curl ca-certificates python3
      libzmq3-dev libczmq-dev libsodium-dev protobuf-c-compiler libprotobuf-c-dev
      liblmdb-dev lmdb-utils libuv1-dev libh2o-dev libssl-dev libjansson-dev
      libcmocka-dev libcurl4-openssl-dev faketime
      libjs-chart.js)
# libjs-chart.js: the charts of the dashboard's reports view, which hqd
# serves from /usr/share/javascript/chart.js/ (its chartjs setting).
# fonts-noto-cjk: the dashboard's Chinese texts in the browser tests'
# screenshots.
if [[ "${1:-}" == "--browser" ]]; then
    pkgs+=(chromium chromium-driver fonts-noto-cjk)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
