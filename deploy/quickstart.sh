#!/usr/bin/env bash
# The first quick-start command: installs what is missing, builds, and starts
# hallbus locally: hqd, three enrolled halls (branchd) and hallsim driving
# realistic traffic into them. Everything lives under ./run (or $HALLBUS_RUN).
#   ./deploy/quickstart.sh          start (stops a previous run first)
#   ./deploy/quickstart.sh stop     stop everything it started
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
run=${HALLBUS_RUN:-$top/run}
hq_http=127.0.0.1:8080
hq_zmq=tcp://127.0.0.1:7400
halls=(H001 H002 H003)
regions=(north south east)

stop_all() {
    if [[ -f "$run/pids" ]]; then
        while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$run/pids"
        sleep 1
        while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$run/pids"
        rm -f "$run/pids"
    fi
}

if [[ "${1:-}" == "stop" ]]; then
    stop_all
    echo "hallbus stopped (data kept in $run)"
    exit 0
fi

./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=$top/build
stop_all
mkdir -p "$run/logs"

wait_http() {
    for _ in $(seq 1 100); do
        curl -fsS "http://$1/v1/status" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "quickstart: $2 did not start; see $run/logs" >&2
    exit 1
}

"$bin/hqd/hqd" --data "$run/hq/data" --keys "$run/hq/keys" --listen "$hq_zmq" \
    --http "$hq_http" >>"$run/logs/hqd.log" 2>&1 &
echo $! >>"$run/pids"
wait_http "$hq_http" hqd

urls=()
for i in "${!halls[@]}"; do
    id=${halls[$i]}
    port=$((8101 + i))
    if [[ ! -f "$run/halls/$id/branchd.conf" ]]; then
        "$bin/tools/hallctl" enroll "$id" --region "${regions[$i]}" --hq-keys "$run/hq/keys" \
            --out "$run/halls/$id" --hq-endpoint "$hq_zmq" >/dev/null
    fi
    "$bin/branchd/branchd" --config "$run/halls/$id/branchd.conf" --http "127.0.0.1:$port" \
        >>"$run/logs/branchd-$id.log" 2>&1 &
    echo $! >>"$run/pids"
    wait_http "127.0.0.1:$port" "branchd $id"
    urls+=(--hall "http://127.0.0.1:$port")
done

"$bin/tools/hallsim" "${urls[@]}" --speed 60 >>"$run/logs/hallsim.log" 2>&1 &
echo $! >>"$run/pids"

cat <<TXT
hallbus is running (logs in $run/logs):
  HQ API          http://$hq_http/v1/halls     (and /v1/halls/H001, /v1/status)
  halls' APIs     http://127.0.0.1:8101/v1/status  (8102, 8103)
  traffic         hallsim, a simulated day at 60x speed, into H001..H003
  operator CLI    $bin/tools/hallctl halls --hq http://$hq_http
                  $bin/tools/hallctl hall H001 --hq http://$hq_http
Stop it with: ./deploy/quickstart.sh stop
TXT
