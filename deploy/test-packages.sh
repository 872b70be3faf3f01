#!/usr/bin/env bash
# The Debian packages, tested as an operator meets them: builds them (cpack
# in a Release tree configured for /usr), checks the units
# (systemd-analyze verify clean, security exposure at most 2.0), installs
# the three packages into this machine with apt-get (so their dependencies
# resolve), checks what the install did (the user, the folders and their
# modes, the units enabled and not started, the manual pages), then runs
# both daemons under systemd, sandbox and all: the machine's own where
# systemd is PID 1; otherwise a private one, PID 1 of its own PID and mount
# namespaces (see boot_private_systemd); and where neither can be had (or
# HB_PKG_RUN=exec), as the units' ExecStart would (the same command, as
# the units' user, with their umask, open-files limit and systemd's
# variables, reading the notify socket systemd would), which leaves the
# sandbox untested. A unit without settings is not started (its
# condition); a hall is enrolled, its event reaches HQ, both /v1/status
# answer, HQ serves the installed dashboard. Then the packages
# are purged, and every file they installed must be gone, with their
# settings, unit links and deb-systemd-helper state: nothing is left but
# the data (/var/lib/hallbus, which this test then removes) and the system
# user (kept, as Debian keeps system users).
#   deploy/test-packages.sh [BUILD_DIR]     (default build-release; as root)
# Called by deploy/run-tests.sh after the builds. Refuses to run on a
# machine that has hallbus installed or its folders, which it would touch.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
units=(hqd branchd)
pkgs=(hallbus-hqd hallbus-branchd hallbus-tools)
py=/usr/bin/python3
t0=$(date +%s)

say() { echo "test-packages: $*"; }
fail() {
    echo "test-packages: FAILED: $*" >&2
    exit 1
}

[[ $(id -u) -eq 0 ]] || fail "must run as root: it installs and purges packages"
for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
        fail "$p is installed on this machine; this test installs and purges it: remove it first"
    fi
done
for d in /etc/hallbus /var/lib/hallbus; do
    [[ ! -e $d ]] || fail "$d exists on this machine; this test would use and remove it: move it away first"
done

work=$(mktemp -d /tmp/hb-test-packages-XXXXXX)
chmod 0755 "$work"
declare -A pid=()
listeners=()
installed=0
sd_pid=''
sd_unshare=''
sd_nofile=0
cleanup() {
    local rc=$?
    for u in "${!pid[@]}"; do
        kill -KILL "${pid[$u]}" 2>/dev/null || true
    done
    for l in "${listeners[@]}"; do
        kill "$l" 2>/dev/null || true
    done
    # The private systemd's PID namespace ends with its PID 1, and every
    # process in it with it.
    if [[ -n $sd_pid ]]; then
        kill -KILL "$sd_pid" 2>/dev/null || true
        wait "$sd_unshare" 2>/dev/null || true
    fi
    if ((installed)); then
        apt-get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
    fi
    rm -rf /var/lib/hallbus /etc/hallbus
    if ((rc != 0)); then
        say "logs left in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# ----------------------------------------------------------- build ----
say "building the packages in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j2 >/dev/null
rm -f "$build"/hallbus-*.deb
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || {
    cat "$work/cpack.log" >&2
    fail "cpack -G DEB"
}
debs=()
for p in "${pkgs[@]}"; do
    f=$(ls "$build"/"$p"_*.deb 2>/dev/null | head -1)
    [[ -n $f ]] || fail "cpack made no $p package"
    debs+=("$(realpath "$f")")
    deps=$(dpkg-deb -f "$f" Depends)
    say "$(basename "$f"): Depends: $deps"
done
for lib in libzmq5 liblmdb0 libuv1 libh2o; do
    dpkg-deb -f "${debs[0]}" Depends | grep -q "$lib" || fail "hallbus-hqd does not depend on $lib"
done
for u in "${units[@]}"; do
    dpkg-deb --ctrl-tarfile "$(ls "$build"/hallbus-"$u"_*.deb)" | tar -xO ./conffiles |
        grep -qx "/etc/hallbus/$u.conf.example" || fail "hallbus-$u: $u.conf.example is no conffile"
done

# --------------------------------------------------------- install ----
say "installing ${pkgs[*]}"
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" \
    >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    fail "apt-get install of the packages"
}
for p in "${pkgs[@]}"; do
    dpkg -L "$p" >"$work/$p.list"
done

getent passwd hallbus >/dev/null || fail "no user hallbus after the install (sysusers.d)"
check_mode() { # path owner:group mode
    local got
    got=$(stat -c '%U:%G %a' "$1" 2>/dev/null) || fail "$1 is missing after the install"
    [[ $got == "$2 $3" ]] || fail "$1 is $got, wanted $2 $3 (tmpfiles.d)"
}
check_mode /var/lib/hallbus hallbus:hallbus 750
check_mode /var/lib/hallbus/hq hallbus:hallbus 750
check_mode /var/lib/hallbus/hq-keys hallbus:hallbus 750
check_mode /var/lib/hallbus/outbox hallbus:hallbus 750
check_mode /var/lib/hallbus/hall-keys hallbus:hallbus 750
check_mode /etc/hallbus root:hallbus 750
for u in "${units[@]}"; do
    unit=/lib/systemd/system/$u.service
    [[ -f $unit ]] || fail "$unit is not installed"
    [[ -L /etc/systemd/system/multi-user.target.wants/$u.service ]] ||
        fail "$u.service is not enabled after the install"
    [[ ! -e /etc/hallbus/$u.conf ]] || fail "the package shipped /etc/hallbus/$u.conf"
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/exe" 2>/dev/null) != /usr/sbin/$u ]] ||
            fail "$u was started by the install without any settings"
    done
    out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
    [[ -z $out ]] || fail "systemd-analyze verify $unit says: $out"
    level=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
        sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
    [[ -n $level ]] || fail "systemd-analyze security gave no exposure level for $unit"
    awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' ||
        fail "$unit: systemd-analyze security rates it $level, above 2.0"
    say "$u.service: verify clean, exposure $level, enabled, not started"
done
for page in hqd branchd hallctl; do
    man -w "$page" >/dev/null 2>&1 || fail "man $page finds no page"
done
# Read whole before it is searched: `grep -q` stops at the first match, and
# under pipefail the writer's SIGPIPE would fail the check (it did once
# --help grew).
help=$(/usr/sbin/hqd --help)
grep -q "default: /usr/share/hallbus/dashboard" <<<"$help" ||
    fail "the installed hqd's dashboard default is not /usr/share/hallbus/dashboard"

# ------------------------------------------------------------- run ----
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hq_link=$(free_port)
hq_http=$(free_port)
hall_http=$(free_port)
hq_api=http://127.0.0.1:$hq_http
hall_api=http://127.0.0.1:$hall_http


# How the daemons run: host (systemd is PID 1 here), private (a systemd of
# our own), or exec (as ExecStart would, no sandbox). HB_PKG_RUN forces one.
run_mode=${HB_PKG_RUN:-}
if [[ -z $run_mode ]]; then
    if [[ -d /run/systemd/system ]]; then run_mode=host; else run_mode=private; fi
fi
case $run_mode in host | private | exec) ;; *) fail "HB_PKG_RUN=$run_mode: host, private or exec" ;; esac

# What systemd reads in a unit: the last value of a directive.
unit_value() { sed -n "s/^$2=//p" "/lib/systemd/system/$1.service" | tail -1; }

# A daemon as its unit's ExecStart runs it, when systemd cannot: the same
# command line, user and group, umask and open-files limit, a clean
# environment with what systemd sets (HOME, USER, NOTIFY_SOCKET,
# WATCHDOG_USEC), and a notify socket read here.
start_as_unit() {
    local u=$1
    local exec user group umask_v nofile wd cond hard
    exec=$(unit_value "$u" ExecStart)
    user=$(unit_value "$u" User)
    group=$(unit_value "$u" Group)
    umask_v=$(unit_value "$u" UMask)
    nofile=$(unit_value "$u" LimitNOFILE)
    wd=$(unit_value "$u" WatchdogSec)
    cond=$(unit_value "$u" ConditionPathExists)
    [[ -e $cond ]] || fail "$u: its condition $cond does not hold"
    hard=$(ulimit -Hn)
    if ! prlimit --nofile="$nofile:$nofile" true 2>/dev/null; then
        say "$u: this machine lets no process above $hard open files (LimitNOFILE=$nofile under systemd)"
        nofile=$hard
    fi
    local sock=$work/$u.notify
    "$py" - "$sock" "$work/$u.heard" >/dev/null 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
EOF
    listeners+=($!)
    for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
    # shellcheck disable=SC2086 # ExecStart is split into words, as systemd does
    (
        umask "$umask_v"
        exec prlimit --nofile="$nofile:$nofile" -- setpriv --reuid="$user" --regid="$group" \
            --init-groups -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 HOME=/var/lib/hallbus USER="$user" LOGNAME="$user" SHELL=/usr/sbin/nologin \
            NOTIFY_SOCKET="$sock" WATCHDOG_USEC=$((wd * 1000000)) $exec
    ) >"$work/$u.log" 2>&1 &
    pid[$u]=$!
    for _ in $(seq 300); do
        grep -q '^READY=1' "$work/$u.heard" 2>/dev/null && return 0
        kill -0 "${pid[$u]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$work/$u.log" >&2
    fail "$u did not say READY=1 (see above)"
}

stop_as_unit() {
    local u=$1 rc=0
    kill -TERM "${pid[$u]}"
    wait "${pid[$u]}" || rc=$?
    unset "pid[$u]"
    [[ $rc -eq 0 ]] || fail "$u exited with $rc on SIGTERM (log: $work/$u.log)"
    grep -q '^STOPPING=1' "$work/$u.heard" || fail "$u did not say STOPPING=1"
}

# A systemd of our own where the machine's PID 1 is something else (a
# container): /lib/systemd/systemd as PID 1 of new PID, mount and cgroup
# namespaces, so the units run as they would at boot, with every sandbox
# directive applied. It must touch nothing of the machine's: it gets its own
# /run, /tmp and /var/tmp (tmpfs), and it starts no unit of the machine's:
# sysinit.target and basic.target are masked (a stock boot would run
# systemd-tmpfiles --remove, which empties /tmp) and the two units get
# DefaultDependencies=no, so nothing but them is pulled in. Their output
# goes to a file in that /run (no journald). The drop-ins change neither
# the command nor the sandbox. The open-files limit it may hand out is
# raised to the unit's LimitNOFILE where the kernel allows it.
boot_private_systemd() {
    [[ -x /lib/systemd/systemd ]] && command -v unshare >/dev/null && command -v nsenter >/dev/null ||
        return 1
    cat >"$work/boot.sh" <<'EOF'
#!/bin/sh
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
d=/run/systemd/system
mkdir -p "$d" /run/hallbus-test
printf '[Unit]\nDescription=hallbus package test\nDefaultDependencies=no\n' >"$d/hallbus-test.target"
for u in sysinit.target basic.target network-online.target systemd-tmpfiles-setup.service \
    systemd-tmpfiles-clean.timer systemd-remount-fs.service; do
    ln -s /dev/null "$d/$u"
done
for u in hqd branchd; do
    mkdir -p "$d/$u.service.d"
    printf '[Unit]\nDefaultDependencies=no\n[Service]\nStandardOutput=append:/run/hallbus-test/%s.log\nStandardError=inherit\n' \
        "$u" >"$d/$u.service.d/hallbus-test.conf"
done
export container=hallbus-test
exec /lib/systemd/systemd --system --unit=hallbus-test.target --log-target=null
EOF
    local nofile
    nofile=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)
    ((nofile > 1048576)) && nofile=1048576
    local limit=(prlimit --nofile="$nofile:$nofile" --)
    "${limit[@]}" true 2>/dev/null || { limit=(); nofile=$(ulimit -Hn); }
    sd_nofile=$nofile
    "${limit[@]}" unshare --pid --fork --mount --cgroup --mount-proc --kill-child \
        sh "$work/boot.sh" </dev/null >"$work/systemd.log" 2>&1 &
    sd_unshare=$!
    local state=''
    for _ in $(seq 100); do
        [[ -z $sd_pid ]] && sd_pid=$(pgrep -P "$sd_unshare" 2>/dev/null | head -1)
        if [[ -n $sd_pid ]]; then
            state=$(nsenter -t "$sd_pid" -m -p -- systemctl is-system-running 2>/dev/null || true)
            [[ $state == running || $state == degraded ]] && return 0
        fi
        kill -0 "$sd_unshare" 2>/dev/null || break
        sleep 0.1
    done
    say "a private systemd did not come up (state '$state'): $(cat "$work/systemd.log")"
    [[ -n $sd_pid ]] && kill -KILL "$sd_pid" 2>/dev/null
    wait "$sd_unshare" 2>/dev/null || true
    sd_pid=''
    return 1
}

sc() {
    if [[ $run_mode == private ]]; then
        nsenter -t "$sd_pid" -m -p -- systemctl "$@"
    else
        systemctl "$@"
    fi
}

# What a unit wrote (its log), for a failure's message.
unit_log() {
    if [[ $run_mode == private ]]; then
        tail -n 30 "/proc/$sd_pid/root/run/hallbus-test/$1.log" 2>/dev/null || true
    else
        journalctl -u "$1" --no-pager -n 30 2>/dev/null || true
    fi
}

# The unit's main process as this shell sees it (/proc of the private
# systemd's PID namespace is its root's /proc).
unit_proc() {
    local main
    main=$(sc show -p MainPID --value "$1")
    [[ -n $main && $main != 0 ]] || fail "$1 has no main process"
    if [[ $run_mode == private ]]; then
        echo "/proc/$sd_pid/root/proc/$main"
    else
        echo "/proc/$main"
    fi
}

# Enabled, but not started without its settings: `systemctl start` skips
# it on ConditionPathExists, as a boot would.
check_condition() {
    sc daemon-reload
    sc start "$1" || fail "systemctl start $1 without settings failed (it should be skipped)"
    [[ $(sc show -p ConditionResult --value "$1") == no ]] ||
        fail "$1 started without /etc/hallbus/$1.conf"
    [[ $(sc is-enabled "$1") == enabled ]] || fail "$1 is not enabled for systemd"
}

start_unit() {
    if [[ $run_mode == exec ]]; then
        start_as_unit "$1"
        return
    fi
    sc daemon-reload
    # Blocks until the daemon says READY=1 (Type=notify).
    if ! sc start "$1" || [[ $(sc is-active "$1") != active ]]; then
        unit_log "$1" >&2
        fail "systemctl start $1 (its log above)"
    fi
    # The sandbox is on: no capability, no new privileges, a system-call
    # filter, the service user.
    local st uid
    st=$(cat "$(unit_proc "$1")/status")
    uid=$(id -u hallbus)
    grep -Eq "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$" <<<"$st" || fail "$1 does not run as hallbus: $(grep Uid <<<"$st")"
    grep -Eq '^CapEff:\s+0+$' <<<"$st" || fail "$1 has capabilities: $(grep CapEff <<<"$st")"
    grep -Eq '^NoNewPrivs:\s+1$' <<<"$st" || fail "$1 may gain privileges"
    grep -Eq '^Seccomp:\s+2$' <<<"$st" || fail "$1 runs without its system-call filter"
    say "$1: started by systemd, READY; runs as hallbus, no capabilities, NoNewPrivs, seccomp filter"
}

stop_unit() {
    if [[ $run_mode == exec ]]; then
        stop_as_unit "$1"
        return
    fi
    sc stop "$1" || fail "systemctl stop $1"
    local result status
    result=$(sc show -p Result --value "$1")
    status=$(sc show -p ExecMainStatus --value "$1")
    if [[ $result != success || $status != 0 ]]; then
        unit_log "$1" >&2
        fail "$1 stopped with result $result, status $status"
    fi
}

wait_http() { # url [curl options]
    local url=$1
    shift
    for _ in $(seq 100); do
        curl -fsS "$@" "$url" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "$url does not answer"
}

json() { "$py" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if [[ $run_mode == private ]] && ! boot_private_systemd; then
    run_mode="exec"
fi
case $run_mode in
host) say "systemd is PID 1: the units run under it" ;;
private) say "systemd is not PID 1 here: the units run under a private systemd (PID $sd_pid)" ;;
exec) say "the daemons run as their units' ExecStart would: the sandbox is NOT tested" ;;
esac
if [[ $run_mode != exec ]]; then
    for u in "${units[@]}"; do check_condition "$u"; done
    say "both units enabled, and skipped by systemd without their settings"
fi

# HQ's settings: the example, on free ports.
sed -e "s|^listen = .*|listen = tcp://127.0.0.1:$hq_link|" -e "s|^http = .*|http = 127.0.0.1:$hq_http|" \
    /etc/hallbus/hqd.conf.example >/etc/hallbus/hqd.conf
start_unit hqd
wait_http "$hq_api/v1/health"
# Everything but the health check, the dashboard's files and signing in
# needs a caller (docs/SECURITY.md): an admin's token, made as an operator
# would, with the installed hqd on its data folder while it runs.
hq_token=$(runuser -u hallbus -- /usr/sbin/hqd users add pkg-admin --role admin \
    --data /var/lib/hallbus/hq | tail -1)
[[ $hq_token == hqt_* ]] || fail "hqd users add gave no token: $hq_token"
hq_auth=(-H "Authorization: Bearer $hq_token")
status=$(curl -fsS "${hq_auth[@]}" "$hq_api/v1/status") || fail "hqd's /v1/status does not answer"
say "hqd: READY, /v1/status answers (version $(json '["version"]' <<<"$status"))"
index_html=$(curl -fsS "$hq_api/") || fail "hqd's dashboard at / did not answer"
grep -qi "<html" <<<"$index_html" || fail "hqd serves no dashboard at / from /usr/share/hallbus/dashboard"
# /metrics reads /proc (ProtectProc=invisible leaves the daemon its own),
# and its open-files limit is the unit's where systemd could give it.
metrics=$(curl -fsS "${hq_auth[@]}" "$hq_api/metrics") || fail "hqd's /metrics does not answer"
for m in process_start_time_seconds process_open_fds process_resident_memory_bytes \
    hallbus_build_info; do
    grep -q "^${m}[ {]" <<<"$metrics" || fail "hqd's /metrics has no $m here"
done
max_fds=$(sed -n 's/^process_max_fds //p' <<<"$metrics")
want_fds=$(unit_value hqd LimitNOFILE)
if [[ $run_mode == host ]] || { [[ $run_mode == private ]] && ((sd_nofile >= want_fds)); }; then
    awk -v a="$max_fds" -v b="$want_fds" 'BEGIN { exit !(a + 0 == b + 0) }' ||
        fail "hqd may open $max_fds files, its unit says LimitNOFILE=$want_fds"
fi
say "hqd: the dashboard and /metrics answer (process figures from /proc, $max_fds files allowed)"

# A hall, enrolled the way an operator does it, then set up as the package
# lays out: settings in /etc/hallbus, keys and data under /var/lib/hallbus.
hallctl enroll PKG01 --region test --hq-keys /var/lib/hallbus/hq-keys --out "$work/PKG01" \
    --hq-endpoint "tcp://127.0.0.1:$hq_link" >"$work/enroll.log" || fail "hallctl enroll"
install -o hallbus -g hallbus -m 0600 "$work"/PKG01/hall.key "$work"/PKG01/hall.key_secret \
    "$work"/PKG01/hq.key /var/lib/hallbus/hall-keys/
cat >/etc/hallbus/branchd.conf <<EOF
id = PKG01
keys = /var/lib/hallbus/hall-keys
hq = tcp://127.0.0.1:$hq_link
data = /var/lib/hallbus/outbox
http = 127.0.0.1:$hall_http
EOF
# Devices are paired as the service user, beside the daemon's data.
token() { runuser -u hallbus -- branchd devices add "$1" --kind "$2" --data /var/lib/hallbus/outbox | tail -1; }
feeder=$(token feeder adapter)
manager=$(token tablet manager)
start_unit branchd
wait_http "$hall_api/v1/status" -H "Authorization: Bearer $manager"
say "branchd: READY, /v1/status answers"

curl -fsS -H "Authorization: Bearer $feeder" -H 'Content-Type: application/json' \
    -d '{"type":"ticket_issued","ticket":"PKG-1","service":"A","priority":"normal","source":"kiosk"}' \
    "$hall_api/v1/events" >"$work/post.json" || fail "the hall refused the event"
ev_seq=$(json '["last_seq"]' <"$work/post.json")
reached=0
for _ in $(seq 100); do
    if curl -fsS "${hq_auth[@]}" "$hq_api/v1/halls/PKG01/events?limit=1000" >"$work/hq-events.json" 2>/dev/null &&
        grep -q '"PKG-1"' "$work/hq-events.json"; then
        reached=1
        break
    fi
    sleep 0.1
done
((reached)) || fail "the hall's event did not reach HQ (HQ: $(cat "$work/hq-events.json" 2>/dev/null))"
# And HQ holds the hall's whole stream: the same last sequence.
hall_seq=$(curl -fsS -H "Authorization: Bearer $manager" "$hall_api/v1/status" | json '["last_seq"]')
hq_seq=0
for _ in $(seq 100); do
    hq_seq=$(curl -fsS "${hq_auth[@]}" "$hq_api/v1/halls/PKG01" | json '["last_seq"]')
    [[ $hq_seq == "$hall_seq" ]] && break
    sleep 0.1
done
[[ $hq_seq == "$hall_seq" ]] || fail "HQ holds the hall's events up to $hq_seq, the hall has $hall_seq"
say "the hall's ticket_issued (seq $ev_seq) reached HQ, which holds all $hall_seq of its events"

stop_unit branchd
stop_unit hqd
for u in "${units[@]}"; do
    [[ -f $work/$u.heard ]] && say "$u told systemd: $(grep -v WATCHDOG "$work/$u.heard" | tr '\n' ' ')"
done

# ----------------------------------------------------------- purge ----
say "purging ${pkgs[*]}"
apt-get purge -y -qq "${pkgs[@]}" >"$work/purge.log" 2>&1 || {
    cat "$work/purge.log" >&2
    fail "apt-get purge"
}
installed=0
left=()
for p in "${pkgs[@]}"; do
    while read -r path; do
        [[ -e $path || -L $path ]] || continue
        # A folder other packages hold too (/usr/share/man/man8) stays.
        if [[ -d $path ]] && dpkg-query -S "$path" >/dev/null 2>&1; then continue; fi
        left+=("$path")
    done <"$work/$p.list"
done
for path in /etc/hallbus /usr/share/hallbus /usr/libexec/hallbus \
    /etc/systemd/system/hqd.service /etc/systemd/system/branchd.service \
    /etc/systemd/system/multi-user.target.wants/hqd.service \
    /etc/systemd/system/multi-user.target.wants/branchd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/hqd.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/branchd.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/hqd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/branchd.service \
    /var/lib/systemd/deb-systemd-helper-masked/hqd.service \
    /var/lib/systemd/deb-systemd-helper-masked/branchd.service; do
    [[ -e $path || -L $path ]] && left+=("$path")
done
((${#left[@]} == 0)) || fail "left behind by the purge: ${left[*]}"
# What is kept: the data and the keys, and the system user.
for kept in /var/lib/hallbus/hq/data.mdb /var/lib/hallbus/hq-keys/hq.key_secret \
    /var/lib/hallbus/hq-keys/halls/PKG01.key /var/lib/hallbus/outbox/data.mdb \
    /var/lib/hallbus/hall-keys/hall.key_secret; do
    [[ -e $kept ]] || fail "the purge removed $kept, which is data"
done
getent passwd hallbus >/dev/null || fail "the purge removed the system user"
say "purged: every file of the packages is gone; /var/lib/hallbus (data, keys) and the user hallbus stay"
say "passed in $(($(date +%s) - t0)) s"
