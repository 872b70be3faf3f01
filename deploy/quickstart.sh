#!/usr/bin/env bash
# The first quick-start command: installs what is missing, builds, and starts
# hallbus locally: hqd (with an admin and a marketing person enrolled, their
# API tokens in run/hq/*.token), three enrolled halls (branchd) running the
# hall engine, and hallsim playing each hall's customers and staff through
# its endpoints. Everything lives under ./run (or $HALLBUS_RUN).
#   ./deploy/quickstart.sh          start (stops a previous run first)
#   ./deploy/quickstart.sh stop     stop everything it started
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
run=${HALLBUS_RUN:-$top/run}
hq_port=8080
hq_zmq_port=7400
hq_http=127.0.0.1:$hq_port
hq_zmq=tcp://127.0.0.1:$hq_zmq_port
halls=(H001 H002 H003 H004 H005 H006)
# Where each hall sits in HQ's tree (city), and its neighbours.
cities=(C001 C001 C002 C003 C003 C003)
speed=60
# The services every hall offers (CODE:PREFIX:SLA:Name), as hallsim's model
# knows them: A quick cash and payments, B accounts, C the long business ones.
services="A:A:10m:Cash and payments; B:B:20m:Accounts and cards; C:C:30m:Business and loans"

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

# Something else on our ports would answer in our place: say so rather than
# show another program's data.
for port in $hq_port $hq_zmq_port $(seq 8101 $((8100 + ${#halls[@]}))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "quickstart: port $port on 127.0.0.1 is taken by another program; stop it first" >&2
        exit 1
    fi
done

wait_http() {
    for _ in $(seq 1 100); do
        curl -fsS "http://$1${3:-/v1/status}" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "quickstart: $2 did not start; see $run/logs" >&2
    exit 1
}

# A person enrolled at HQ (hqd users add, on the HQ host, as an operator
# would) and their API token in $run/hq/NAME.token (mode 0600). A second run
# keeps the file; a person whose file was lost gets a new token.
enrol() {
    local name=$1 file=$run/hq/$1.token out
    shift
    if [[ ! -s "$file" ]]; then
        mkdir -p "$run/hq"
        if ! out=$("$bin/hqd/hqd" users add "$name" "$@" --data "$run/hq/data" 2>&1); then
            out=$("$bin/hqd/hqd" users token "$name" --name "quickstart-$(date +%s)" \
                --data "$run/hq/data")
        fi
        (umask 077 && tail -n1 <<<"$out" >"$file")
    fi
    cat "$file"
}

# The machine's time zone, for the halls' opening hours and local days
# (UTC when it cannot be told or is not in the tz database).
local_zone() {
    local tz=${TZ:-}
    tz=${tz#:}
    if [[ -z "$tz" && -r /etc/timezone ]]; then
        tz=$(head -n1 /etc/timezone)
    fi
    if [[ -z "$tz" && -L /etc/localtime ]]; then
        tz=$(readlink -f /etc/localtime)
        tz=${tz#*/zoneinfo/}
    fi
    if [[ "$tz" =~ ^[A-Za-z0-9_+/-]{1,63}$ && "$tz" != /* && "$tz" != *..* &&
          -f "/usr/share/zoneinfo/$tz" ]]; then
        echo "$tz"
    else
        echo UTC
    fi
}
zone=$(local_zone)
holiday=$(date -d "+90 days" +%F)

# A hall's policy: open round the clock in the machine's zone, so that the
# quick start shows traffic whatever the hour, with a public holiday
# declared three months ahead and the other quick-start halls to divert to.
write_policy() {
    local id=$1 out=$2 divert="" other
    for other in "${halls[@]}"; do
        [[ "$other" == "$id" ]] && continue
        divert+="${divert:+, }\"$other\""
    done
    local day hours=""
    for day in mon tue wed thu fri sat sun; do
        hours+="${hours:+, }\"$day\": [\"00:00-24:00\"]"
    done
    cat >"$out.tmp" <<JSON
{"timezone": "$zone",
 "opening_hours": {$hours},
 "special_days": {"$holiday": {"hours": [], "note": "Public holiday (quick-start example)"}},
 "divert_to": [$divert],
 "sla": {"max_wait_s": {"*:*": 1200, "A:*": 600, "*:vip": 300}},
 "diversion": {"threshold": 25, "echannels": ["app", "web", "sms", "phone"]}}
JSON
    mv "$out.tmp" "$out"
}

# HQ's first admin, and a marketing person of the North (P01) who drafts the
# example campaign that the admin then reviews: nobody approves their own.
admin_token=$(enrol admin --role admin)
# The admin's password for the dashboard's sign-in page: made once, random,
# kept in $run/hq/admin.password (0600) and set with hqd users passwd.
if [[ ! -s "$run/hq/admin.password" ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$run/hq/admin.password")
    "$bin/hqd/hqd" users passwd admin --data "$run/hq/data" <"$run/hq/admin.password" >/dev/null
fi
marketing_token=$(enrol marketing --role marketer --scope region/P01)

"$bin/hqd/hqd" --data "$run/hq/data" --keys "$run/hq/keys" --listen "$hq_zmq" \
    --http "$hq_http" >>"$run/logs/hqd.log" 2>&1 &
echo $! >>"$run/pids"
wait_http "$hq_http" hqd /v1/health

# The region tree first: an approved hall is placed in its city.
curl -fsS -X PUT "http://$hq_http/v1/org" -H "Authorization: Bearer $admin_token" \
    -d '{"regions": [{"id": "CN", "name": "Head office", "level": "national"},
  {"id": "P01", "name": "North", "level": "province", "parent": "CN"},
  {"id": "P02", "name": "South", "level": "province", "parent": "CN"},
  {"id": "C001", "name": "Harbour City", "level": "city", "parent": "P01"},
  {"id": "C002", "name": "Hill Town", "level": "city", "parent": "P01"},
  {"id": "C003", "name": "River Bend", "level": "city", "parent": "P02"}], "halls": []}' \
    >/dev/null 2>&1 || true

urls=()
for i in "${!halls[@]}"; do
    id=${halls[$i]}
    port=$((8101 + i))
    if [[ ! -f "$run/halls/$id/hall.key" ]]; then
        # The hall makes its own key pair and request; head office approves
        # it over its API (placing the hall in its city); the hall installs
        # the answer. The hall's secret never leaves its folder.
        "$bin/branchd/branchd" enroll --hall "$id" --hq-endpoint "$hq_zmq" \
            --out "$run/halls/$id" --region "${cities[$i]}" >/dev/null
        "$bin/tools/hallctl" enroll approve "$run/halls/$id/enrolment-request.txt" \
            --out "$run/halls/$id.enrolment.json" --hq "http://$hq_http" \
            --token "$admin_token" >/dev/null
        "$bin/tools/hallctl" enroll install "$run/halls/$id.enrolment.json" \
            --keys "$run/halls/$id" >/dev/null
    fi
    write_policy "$id" "$run/halls/$id/policy.json"
    # --local_trust: hallsim and hallctl on this machine act without a device
    # token (docs/SECURITY.md); a real hall pairs its devices instead.
    "$bin/branchd/branchd" --config "$run/halls/$id/branchd.conf" --http "127.0.0.1:$port" \
        --local_trust true --hall_name "Hall $id" \
        --policy_file "$run/halls/$id/policy.json" --services "$services" \
        >>"$run/logs/branchd-$id.log" 2>&1 &
    echo $! >>"$run/pids"
    wait_http "127.0.0.1:$port" "branchd $id"
    urls+=(--hall "http://127.0.0.1:$port")
done

"$bin/tools/hallsim" "${urls[@]}" --mode drive --speed "$speed" >>"$run/logs/hallsim.log" 2>&1 &
echo $! >>"$run/pids"

# The first hall's own screens (docs/HALL_PAGES.md): each page paired with a
# device token of its kind, made anew at every start (a token is shown only
# once). Counter 90 is left to a person: hallsim's staff use the low numbers.
page_hall=${halls[0]}
page_data=$run/halls/$page_hall/data
page_base=http://127.0.0.1:8101
page_counter=90
pair_page() {
    local name=$1
    shift
    "$bin/branchd/branchd" devices remove "$name" --data "$page_data" >/dev/null 2>&1 || true
    "$bin/branchd/branchd" devices add "$name" "$@" --data "$page_data" | tail -n1
}
tok_kiosk=$(pair_page QS-KIOSK --kind kiosk)
tok_counter=$(pair_page QS-COUNTER --kind counter --counter "$page_counter")
tok_rate=$(pair_page QS-RATE --kind evaluator --counter "$page_counter")
tok_display=$(pair_page QS-DISPLAY --kind display)
tok_manager=$(pair_page QS-MANAGER --kind manager)
"$bin/branchd/branchd" staff remove QS01 --data "$page_data" >/dev/null 2>&1 || true
printf '2468\n' | "$bin/branchd/branchd" staff add QS01 --data "$page_data" >/dev/null

# Head office's side: the region tree with every hall placed, the national
# policy published to the halls, and one province campaign on the calendar.
# Every call is someone's: the admin's, or whoever's token is given last.
hq_call() {
    local method=$1 path=$2 body=$3 token=${4:-$admin_token}
    curl -fsS -X "$method" "http://$hq_http$path" -H "Authorization: Bearer $token" \
        -H "Content-Type: application/json" -d "$body" >/dev/null ||
        { echo "quickstart: $method $path refused; see $run/logs/hqd.log" >&2; exit 1; }
}
org='{"regions": [{"id": "CN", "name": "Head office", "level": "national"},
  {"id": "P01", "name": "North", "level": "province", "parent": "CN"},
  {"id": "P02", "name": "South", "level": "province", "parent": "CN"},
  {"id": "C001", "name": "Harbour City", "level": "city", "parent": "P01"},
  {"id": "C002", "name": "Hill Town", "level": "city", "parent": "P01"},
  {"id": "C003", "name": "River Bend", "level": "city", "parent": "P02"}], "halls": ['
sep=""
for i in "${!halls[@]}"; do
    id=${halls[$i]}
    nb=""
    for j in "${!halls[@]}"; do
        if [[ $j != "$i" && ${cities[$j]} == "${cities[$i]}" ]]; then
            nb+="${nb:+, }\"${halls[$j]}\""
        fi
    done
    org+="$sep{\"id\": \"$id\", \"city\": \"${cities[$i]}\", \"name\": \"Hall $id\", \"neighbours\": [$nb]}"
    sep=", "
done
org+=']}'
hq_call PUT /v1/org "$org"
# Every hall's policy from HQ: what the local files said, minus the divert
# halls, which the neighbour board now names live.
hours=""
for day in mon tue wed thu fri sat sun; do
    hours+="${hours:+, }\"$day\": [\"00:00-24:00\"]"
done
hq_call PUT /v1/policies/national '{"timezone": "'"$zone"'", "opening_hours": {'"$hours"'},
  "special_days": {"'"$holiday"'": {"hours": [], "note": "Public holiday (quick-start example)"}},
  "sla": {"max_wait_s": {"*:*": 1200, "A:*": 600, "*:vip": 300}},
  "diversion": {"threshold": 25, "echannels": ["app", "web", "sms", "phone"]},
  "campaigns": {"lead_days": 0}}'
hq_call POST /v1/policies/publish '{}'
start=$(date -u +%F)
end=$(date -u -d "+30 days" +%F)
# A second run finds the campaign there already (its data is kept).
if ! curl -fsS -o /dev/null -H "Authorization: Bearer $admin_token" \
        "http://$hq_http/v1/campaigns/north-savings" 2>/dev/null; then
hq_call POST /v1/campaigns '{"id": "north-savings", "title": "Savings week in the North",
  "level": "province", "region": "P01", "scope": {"regions": ["P01"]},
  "start": "'"$start"'", "end": "'"$end"'", "products": ["savings-plus"], "business_types": [],
  "segment": "retail", "channels": ["kiosk", "signage"],
  "texts": {"kiosk": "Open a savings account this month.", "signage": "Savings week: ask at any counter."},
  "faq": [{"question": "Who can open one?", "answer": "Anyone over 16 with an ID card."}]}' \
  "$marketing_token"
hq_call POST /v1/campaigns/north-savings/submit '{}' "$marketing_token"
for step in approve publish; do
    hq_call POST "/v1/campaigns/north-savings/$step" '{}'
done
fi

cat <<TXT
hallbus is running (logs in $run/logs):
  dashboard       http://$hq_http/   (every hall live, alerts, a hall's detail, the calendar);
                  sign in as admin with the password in $run/hq/admin.password
  HQ API          http://$hq_http/v1/regions   (and /v1/live/halls, /v1/alerts, /v1/rollout, /v1/stream, /metrics),
                  with -H "Authorization: Bearer \$(cat $run/hq/admin.token)"
  a hall's queue  http://127.0.0.1:8101/v1/hall    (8102..8106): tickets waiting, counters, today's figures
  a hall's link   http://127.0.0.1:8101/v1/status  (outbox and link to HQ)
  traffic         hallsim playing customers and staff in H001..H006, a day in $((8 * 60 / speed)) minutes
                  and the night in seconds (the next day opens once the last hall has closed)
                  ($speed x real time; the halls measure waits on their real clock, so a
                  20-minute simulated wait shows as $((1200 / speed)) s); its summary: $run/logs/hallsim.log
  opening hours   round the clock in $zone; a holiday is declared on $holiday
  $page_hall's screens (open in a browser; each pairs itself with its token, docs/HALL_PAGES.md):
    kiosk         $page_base/kiosk?token=$tok_kiosk
    counter $page_counter    $page_base/counter/$page_counter?token=$tok_counter
                  (sign in as staff QS01, PIN 2468)
    evaluator     $page_base/rate/$page_counter?token=$tok_rate
    queue display $page_base/display?token=$tok_display
                  (sound: start Chromium with --autoplay-policy=no-user-gesture-required)
    duty manager  $page_base/manager?token=$tok_manager
  HQ's people     admin and marketing; their API tokens are in $run/hq/admin.token and
                  $run/hq/marketing.token (enrol more: $bin/hqd/hqd users add NAME --role ROLE
                  --data $run/hq/data)
  operator CLI    export HALLBUS_TOKEN=\$(cat $run/hq/admin.token), or once:
                  $bin/tools/hallctl login admin --hq http://$hq_http <$run/hq/admin.password
                  $bin/tools/hallctl halls --hq http://$hq_http
                  $bin/tools/hallctl hall H001 --hq http://$hq_http
Stop it with: ./deploy/quickstart.sh stop
TXT
