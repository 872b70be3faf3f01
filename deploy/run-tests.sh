#!/usr/bin/env bash
# Installs what is missing, builds hallbus three times and runs every test in
# the plain build, the browser tests included, and every test but the
# browser ones again with ASan+UBSan. The third build is Release, configured for /usr as the
# Debian packages are: -O2 without debug info brings warnings of its own
# (format truncation), and they are errors; after the tests its packages are
# built, installed into this machine, run, purged and checked
# (deploy/test-packages.sh, as root).
# This is the second quick-start command, and what CI runs (.ci/run).
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
# build_and_test DIR [CMAKE_ARGS...] [-- CTEST_ARGS...]
build_and_test() {
    local dir=$1
    shift
    local cmake_args=() ctest_args=()
    while (($# > 0)) && [[ $1 != -- ]]; do
        cmake_args+=("$1")
        shift
    done
    if (($# > 0)); then
        shift
        ctest_args=("$@")
    fi
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}" >/dev/null
    cmake --build "$dir" -j"$jobs"
    (cd "$dir" && ctest --output-on-failure --timeout 900 -j"$jobs" "${ctest_args[@]}")
}

echo "== build only (release, for /usr: the packages' tree) =="
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build-release -j"$jobs"
echo "== static analysis (cppcheck) and the file map =="
./deploy/check-static.sh build-release
./deploy/archmap.py --check
echo "== build and test (release with debug info) =="
build_and_test build
echo "== build and test (AddressSanitizer + UndefinedBehaviorSanitizer) =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The browser tests drive pages (JavaScript) through the same C the other
# tests run under the sanitizers already; under ASan they only take CI's
# time (minutes), so that run leaves them out.
build_and_test build-asan -DHB_SANITIZE=ON -- -LE browser
unset ASAN_OPTIONS UBSAN_OPTIONS
echo "== the Debian packages: built, installed, run, purged =="
# It installs packages: as root, or through sudo as install-deps.sh does.
if [[ $(id -u) -eq 0 ]]; then
    ./deploy/test-packages.sh build-release
else
    sudo ./deploy/test-packages.sh build-release
fi
