#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever hallbus needs to build, run
# and test that is not on the machine yet (the packaging test's too: dpkg-dev
# and file for CPack's dependencies, groff and man for the manual pages,
# systemd for systemd-analyze, sysusers, tmpfiles and the private systemd the
# package test boots, procps for its pgrep). Safe to run again: it installs only
# what is missing. Pass --browser to include headless Chromium for the
# dashboard tests.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git curl ca-certificates python3
      libzmq3-dev libczmq-dev libsodium-dev protobuf-c-compiler libprotobuf-c-dev
      liblmdb-dev lmdb-utils libuv1-dev libh2o-dev libssl-dev libjansson-dev
      libcmocka-dev libcurl4-openssl-dev faketime cppcheck clang-format libqrencode-dev
      python3-prometheus-client python3-yaml libjs-chart.js python3-icalendar python3-aiosmtpd
      dpkg-dev file fakeroot groff-base man-db bsdextrautils systemd init-system-helpers procps)
# libjs-chart.js: the charts of the dashboard's reports view, which hqd
# serves from /usr/share/javascript/chart.js/ (its chartjs setting).
# fonts-noto-cjk: the dashboard's and the hall pages' Chinese texts in the
# browser tests' screenshots (without a CJK font they show empty boxes).
if [[ "${1:-}" == "--browser" ]]; then
    pkgs+=(chromium chromium-driver fonts-noto-cjk)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
updated=false
if ((${#missing[@]} > 0)); then
    echo "install-deps: installing ${missing[*]}" >&2
    "${sudo_cmd[@]}" apt-get update -qq
    updated=true
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool checks the alert rules and the dashboard's queries
# (tests/integration/test_prometheus.c). Debian ships it only inside the
# `prometheus` package, whose maintainer scripts add a system user and
# enable and start a Prometheus server: a build machine must not get one.
# So the package is downloaded with apt and only its promtool (a static
# binary) is unpacked to /usr/local/bin. An installed prometheus package's
# /usr/bin/promtool does as well.
if ! command -v promtool >/dev/null 2>&1; then
    echo "install-deps: unpacking promtool from Debian's prometheus package" >&2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if ! $updated; then
        "${sudo_cmd[@]}" apt-get update -qq
    fi
    # apt's download user must be able to write there.
    chmod 0777 "$tmp"
    (cd "$tmp" && apt-get download -qq prometheus >/dev/null)
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
    "${sudo_cmd[@]}" install -m 0755 "$tmp/root/usr/bin/promtool" /usr/local/bin/promtool
    /usr/local/bin/promtool --version >/dev/null
fi
