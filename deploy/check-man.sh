#!/usr/bin/env bash
# The manual pages say what --help says: every setting of hqd and branchd,
# every command of hallctl with every option it takes, each under its own
# entry; and groff has nothing to warn about in any of them (-ww: all
# warnings). Run by CTest (deploy.man_pages) with the build's pages.
#   check-man.sh MAN_DIR HQD BRANCHD HALLCTL
set -euo pipefail
man_dir=$1 hqd=$2 branchd=$3 hallctl=$4
fail=0
say() { echo "check-man: $*" >&2; fail=1; }

# The page as a reader sees it, without bold or underlining.
render() { MANWIDTH=200 MAN_KEEP_FORMATTING=0 man -l "$1" 2>/dev/null | col -bx; }

for page in "$man_dir"/hqd.8 "$man_dir"/branchd.8 "$man_dir"/hallctl.1; do
    [[ -s $page && -s $page.gz ]] || { say "$page or its .gz is missing"; continue; }
    warnings=$(groff -man -ww -z "$page" 2>&1 || true)
    [[ -z $warnings ]] || say "groff warns about $page: $warnings"
    cmp -s "$page" <(gzip -dc "$page.gz") || say "$page.gz is not $page"
done

# A daemon: each "--name" line of --help is an entry ("       --name VALUE").
check_daemon() {
    local prog=$1 page=$2 text names n=0
    text=$(render "$page")
    names=$("$prog" --help | sed -n 's/^  --\([a-z_]*\).*/\1/p')
    for name in $names; do
        n=$((n + 1))
        grep -Eq "^ +--$name( |$)" <<<"$text" || say "$(basename "$page"): no entry for --$name"
    done
    ((n > 10)) || say "$prog --help listed only $n settings"
}
check_daemon "$hqd" "$man_dir/hqd.8"
check_daemon "$branchd" "$man_dir/branchd.8"
# The installed hqd's dashboard is the installed one, and the page says so.
# (Read whole first: grep -q would end the pipe early, and pipefail fail it.)
text=$(render "$man_dir/hqd.8")
grep -q "default: .*/share/hallbus/dashboard" <<<"$text" ||
    say "hqd.8 does not give the installed dashboard as the default"

# hallctl: each command is a subsection, holding each option of its --help.
text=$(render "$man_dir/hallctl.1")
commands=$("$hallctl" help | sed -n 's/^  hallctl \([a-z-]*\).*/\1/p' | grep -vx help)
n=0
for cmd in $commands; do
    n=$((n + 1))
    section=$(awk -v c="hallctl $cmd" '
        /^   hallctl / { on = (index($0, "   " c " ") == 1 || $0 == "   " c) ; next }
        /^[A-Z]/ { on = 0 }
        on { print }' <<<"$text")
    [[ -n $section ]] || { say "hallctl.1: no subsection for hallctl $cmd"; continue; }
    for opt in $("$hallctl" "$cmd" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p'); do
        [[ $opt == help || $opt == version ]] && continue
        grep -Eq "^ +--$opt( |$)" <<<"$section" || say "hallctl.1: hallctl $cmd has no --$opt"
    done
done
((n > 10)) || say "hallctl help listed only $n commands"

((fail == 0)) && echo "check-man: hqd.8, branchd.8 and hallctl.1 match --help; groff is silent"
exit $fail
