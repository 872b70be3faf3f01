#!/usr/bin/env bash
# Static analysis of hallbus's C with cppcheck: warnings and portability,
# then the layout: every C file as .clang-format (Debian 12's clang-format
# 14) lays it out, so that a change's diff is its content, not its spacing.
# on every daemon, library and tool (tests are left out: cmocka's macros
# read to cppcheck as dereferences of what the test has just checked). A
# finding fails the run; a false positive is suppressed where it stands,
# with `cppcheck-suppress ID` and a sentence saying why.
# Usage: deploy/check-static.sh BUILD_DIR (a configured build, for the
# generated protobuf-c headers). Run by deploy/run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: deploy/check-static.sh BUILD_DIR}
if [[ ! -d $build/proto/gen ]]; then
    echo "check-static: $build/proto/gen is missing: build $build first" >&2
    exit 2
fi
out=$(cppcheck --enable=warning,portability --std=c11 --quiet --inline-suppr \
    -I common/include -I "$build/proto/gen" -I branchd -I branchd/engine -I hqd \
    --include=/usr/include/jansson.h --suppress=missingIncludeSystem -j"$(nproc)" \
    --template='{file}:{line}: {severity}: {id}: {message}' \
    common branchd hqd tools 2>&1 | grep -E '^[^ ]+:[0-9]+: ' || true)
if [[ -n $out ]]; then
    echo "$out" >&2
    echo "check-static: cppcheck has $(wc -l <<<"$out") finding(s)" >&2
    exit 1
fi
echo "check-static: cppcheck clean ($(cppcheck --version))"

# The layout. `clang-format -i FILE` puts a file right.
mapfile -t sources < <(git ls-files '*.c' '*.h')
report=$(clang-format --dry-run --Werror "${sources[@]}" 2>&1 || true)
bad=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: error' <<<"$report" | cut -d: -f1 | sort -u || true)
if [[ -n $bad ]]; then
    echo "$bad" >&2
    echo "check-static: $(wc -l <<<"$bad") file(s) not laid out as .clang-format says;" \
        "run clang-format -i on them" >&2
    exit 1
fi
echo "check-static: ${#sources[@]} C files laid out as .clang-format says ($(clang-format --version))"
