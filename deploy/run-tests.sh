#!/usr/bin/env bash
# Installs what is missing, builds hallbus three times and runs every test in
# the plain build, the browser tests included, and every test but the
# browser ones again with ASan+UBSan. The third build is Release, configured for /usr as the
# Debian packages are: -O2 without debug info brings warnings of its own
# (format truncation), and they are errors; after the tests its packages are
# built, installed into this machine, run, purged and checked
# (deploy/test-packages.sh, as root).
# This is the second quick-start command, and what CI runs (.ci/run).
# The integration and browser tests run one at a time and mostly wait (on
# daemons, timers, a browser), so what no test needs yet (the ASan build;
# the Release build and cppcheck) runs beside the plain build's tests at the
# lowest CPU priority: the tests get a core whenever they want one, and the
# rest takes what is left instead of minutes of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
# --browser: the dashboard's tests drive Debian's headless Chromium. They
# skip without it, so make sure here that CI never runs them skipped.
./deploy/install-deps.sh --browser
for bin in /usr/bin/chromium /usr/bin/chromedriver; do
    if [[ ! -x $bin ]]; then
        echo "run-tests: $bin is missing after install-deps.sh --browser" >&2
        exit 1
    fi
done

# The upgrade test builds the previous release from its tag (cached under
# ~/.cache/hallbus/releases): it skips where a checkout has no tag, but CI's
# clone has them, so here it must not skip.
export HB_REQUIRE_PREV_RELEASE=1

jobs=$(nproc)
# configure DIR [CMAKE_ARGS...]
configure() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
}
# run_tests DIR [CTEST_ARGS...]
run_tests() {
    local dir=$1
    shift
    (cd "$dir" && ctest --output-on-failure --timeout 900 -j"$jobs" "$@")
}

# Work in the background at the lowest priority (nice 19, and idle I/O
# where the disk's scheduler heeds it), in a process group of its own so
# that it can be stopped whole; its output is kept in a file and shown when
# it is waited for. bg_run NAME COMMAND... sets bg_pid[NAME].
bg_logs=$(mktemp -d /tmp/hb-run-tests-XXXXXX)
declare -A bg_pid=()
bg_run() {
    local name=$1
    shift
    setsid -w nice -n 19 ionice -c 3 "$@" >"$bg_logs/$name.log" 2>&1 &
    bg_pid[$name]=$!
}
# Waits for NAME, shows its output and fails when it failed.
bg_wait() {
    local name=$1 rc=0
    wait "${bg_pid[$name]}" || rc=$?
    unset "bg_pid[$name]"
    cat "$bg_logs/$name.log"
    if ((rc != 0)); then
        echo "run-tests: $name failed ($rc)" >&2
        exit "$rc"
    fi
}
bg_stop() {
    local name
    for name in "${!bg_pid[@]}"; do
        kill -- "-${bg_pid[$name]}" 2>/dev/null || true
        wait "${bg_pid[$name]}" 2>/dev/null || true
    done
    rm -rf "$bg_logs"
}
trap bg_stop EXIT

echo "== the file map =="
./deploy/archmap.py --check
echo "== build and test (release with debug info) =="
configure build
cmake --build build -j"$jobs"
# Meanwhile, in the background: the ASan build, and the Release build
# (configured for /usr: the packages' tree; -O2 without debug info brings
# warnings of its own, format truncation, and they are errors) followed by
# cppcheck and the layout check on it (deploy/check-static.sh needs its
# generated protobuf-c headers).
configure build-asan -DHB_SANITIZE=ON
bg_run asan cmake --build build-asan -j"$jobs"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
# shellcheck disable=SC2016 # $1 is bash -c's own argument, not this script's
bg_run release-static bash -c 'cmake --build build-release -j"$1" && ./deploy/check-static.sh build-release' \
    release-static "$jobs"
run_tests build
echo "== build and test (AddressSanitizer + UndefinedBehaviorSanitizer) =="
echo "-- the ASan build, made during the tests above:"
bg_wait asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The browser tests drive pages (JavaScript) through the same C the other
# tests run under the sanitizers already; under ASan they only take CI's
# time (minutes), so that run leaves them out.
run_tests build-asan -LE browser
unset ASAN_OPTIONS UBSAN_OPTIONS
echo "== build only (release, for /usr) and static analysis (cppcheck), made during the tests above =="
bg_wait release-static
echo "== the Debian packages: built, installed, run, purged =="
# It installs packages: as root, or through sudo as install-deps.sh does.
if [[ $(id -u) -eq 0 ]]; then
    ./deploy/test-packages.sh build-release
else
    sudo ./deploy/test-packages.sh build-release
fi
