#!/usr/bin/env bash
# Builds the previous tagged release's hqd, branchd and hallctl for the
# upgrade test (tests/integration/test_upgrade.c) and prints the folder that
# holds them. Not a release tool: it builds from `git archive` of the tag,
# Release, only those three targets, and keeps the result in a cache keyed by
# the tag's commit, so a second run (or the sanitizer build's run of the same
# test) costs nothing.
#
#   prev-release.sh SOURCE_DIR
#
# The previous release is the newest tag v* that HEAD contains and that does
# not point at HEAD itself; HB_PREV_RELEASE=TAG names another. A clone made
# without tags gets them with `git fetch --tags` from its origin, and failing
# that the release list in deploy/releases (name and commit, kept in the
# repository) names it, if HEAD's history holds that commit. Exit 0 with
# the folder on stdout; 77 when no tag can be found (the test then skips with
# a loud message); anything else is a failure.
# Cache: $HB_RELEASE_CACHE, else $XDG_CACHE_HOME/hallbus/releases, else
# ~/.cache/hallbus/releases; one folder per commit.
set -euo pipefail
src=${1:?usage: prev-release.sh SOURCE_DIR}
cd "$src"

if ! git rev-parse --git-dir >/dev/null 2>&1; then
    echo "prev-release: $src is not a git checkout: no release tags to build from" >&2
    exit 77
fi

head=$(git rev-parse HEAD)
find_tag() {
    if [[ -n ${HB_PREV_RELEASE:-} ]]; then
        git rev-parse -q --verify "refs/tags/$HB_PREV_RELEASE" >/dev/null && echo "$HB_PREV_RELEASE"
        return 0
    fi
    local t
    for t in $(git tag --list 'v[0-9]*' --merged HEAD --sort=-v:refname); do
        if [[ $(git rev-parse "$t^{commit}") != "$head" ]]; then
            echo "$t"
            return 0
        fi
    done
}
# From deploy/releases: the newest listed release whose commit is in HEAD's
# history and is not HEAD; prints "NAME COMMIT".
find_listed() {
    local list=deploy/releases name commit found=
    [[ -f $list ]] || return 0
    while read -r name commit _; do
        [[ -z $name || $name == \#* ]] && continue
        if [[ -n ${HB_PREV_RELEASE:-} && $name != "$HB_PREV_RELEASE" ]]; then
            continue
        fi
        git cat-file -e "$commit^{commit}" 2>/dev/null || continue
        git merge-base --is-ancestor "$commit" HEAD || continue
        [[ $(git rev-parse "$commit^{commit}") == "$head" ]] && continue
        found="$name $commit"
    done <"$list"
    [[ -n $found ]] && echo "$found"
    return 0
}
tag=$(find_tag)
if [[ -z $tag ]] && git remote get-url origin >/dev/null 2>&1; then
    echo "prev-release: no release tag here; fetching tags from origin" >&2
    git fetch --quiet --tags origin >&2 || true
    tag=$(find_tag)
fi
commit=
if [[ -n $tag ]]; then
    commit=$(git rev-parse "$tag^{commit}")
else
    if [[ $(git rev-parse --is-shallow-repository) == true ]] &&
        git remote get-url origin >/dev/null 2>&1; then
        echo "prev-release: a shallow clone; fetching its history from origin" >&2
        git fetch --quiet --unshallow origin >&2 || true
    fi
    listed=$(find_listed)
    if [[ -n $listed ]]; then
        read -r tag commit <<<"$listed"
        echo "prev-release: no tag; deploy/releases names $tag ($commit)" >&2
    fi
fi
if [[ -z $tag ]]; then
    echo "prev-release: no release tag v* before HEAD, nor one in deploy/releases" \
        "that HEAD's history holds (${HB_PREV_RELEASE:-none named})" >&2
    exit 77
fi

cache=${HB_RELEASE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hallbus/releases}
out=$cache/$commit
mkdir -p "$cache"
# One build at a time per cache: two test runs (the plain and the sanitizer
# build, or two checkouts) wait for each other instead of building twice.
exec 9>"$cache/.lock"
flock 9
if [[ ! -f $out/done ]]; then
    echo "prev-release: building $tag ($commit) into $out" >&2
    work=$(mktemp -d "$cache/.build.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    git archive --format=tar "$commit" | tar -x -C "$work" -f -
    cmake -S "$work" -B "$work/build" -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 ||
        { cat "$work/cmake.log" >&2; exit 1; }
    cmake --build "$work/build" -j2 --target hqd branchd hallctl >"$work/build.log" 2>&1 ||
        { tail -50 "$work/build.log" >&2; exit 1; }
    rm -rf "$out" "$out.new"
    mkdir -p "$out.new/bin"
    # Where a release keeps each binary in its build tree is its own affair.
    for b in hqd branchd hallctl; do
        f=$(find "$work/build" -type f -name "$b" -perm -u+x | head -1)
        [[ -n $f ]] || { echo "prev-release: $tag built no $b" >&2; exit 1; }
        cp "$f" "$out.new/bin/"
    done
    echo "$tag $commit" >"$out.new/release"
    touch "$out.new/done"
    mv "$out.new" "$out"
fi
echo "prev-release: $(cat "$out/release") in $out/bin" >&2
echo "$out/bin"
