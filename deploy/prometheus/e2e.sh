#!/usr/bin/env bash
# End-to-end check of the monitoring, with a real Prometheus and two real
# replicas on this machine:
#   1. two replicas of the shortener on a fresh PostgreSQL database (and the
#      shared Redis as their cache), a Prometheus with prometheus.local.yml and
#      alerts.yml scraping them, and a little traffic of every kind the
#      dashboard shows (redirects, API reads and writes, 404s, and 5xx from the
#      drill switch on one route of replica 2);
#   2. every PromQL expression of the Grafana dashboard and of the rules
#      (recording and alerting, as Prometheus loaded them) is run through
#      /api/v1/query: none may fail, and every dashboard expression must return
#      data (see ALLOWED_EMPTY below for the exceptions and why);
#   3. replica 1 is killed (SIGKILL) and /api/v1/alerts is polled until
#      ServiceDown fires for it; the seconds it took are printed.
#
# Usage: deploy/prometheus/e2e.sh [path/to/shortener]   (default target/debug/shortener)
# Builds nothing. Needs prometheus (Debian: apt-get install -y prometheus),
# python3, curl, psql/createdb/dropdb and PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust; E2E_PG_URL names another server). Scrapes and rule
# evaluations run at the production 10 s (E2E_INTERVAL=2s for a quick local
# run, but then the time to fire is not the production one). Everything it
# starts is stopped by PID and everything it made is deleted on exit, also on
# failure. Bounded: the whole run gives up after E2E_TIMEOUT seconds (240).
set -euo pipefail

cd "$(dirname "$0")/../.."
. scripts/lib.sh
BIN=${1:-target/debug/shortener}
PG_URL=${E2E_PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${E2E_REDIS_URL:-redis://127.0.0.1:6379}
INTERVAL=${E2E_INTERVAL:-10s}
TIMEOUT=${E2E_TIMEOUT:-240}

log() { printf 'e2e: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

[[ "$INTERVAL" =~ ^[1-9][0-9]*s$ ]] || fail "E2E_INTERVAL must be whole seconds, like 10s"
# A scrape may not outlast the interval: 5 s as in production, less when shorter.
SCRAPE_TIMEOUT=$((${INTERVAL%s} < 5 ? ${INTERVAL%s} : 5))s
[ -x "$BIN" ] || fail "no shortener binary at $BIN (cargo build -p shortener)"
BIN=$(realpath "$BIN")
for tool in prometheus python3 curl psql createdb dropdb; do
    command -v "$tool" >/dev/null || fail "$tool not found (prometheus: apt-get install -y prometheus)"
done

WORK=$(mktemp -d -t shortener-e2e.XXXXXX)
DB="shortener_e2e_$$"
PIDS=()
CREATED_DB=
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$CREATED_DB" ]; then
        dropdb --if-exists --force --maintenance-db="$PG_URL/postgres" "$DB" ||
            log "could not drop database $DB"
    fi
    if command -v redis-cli >/dev/null; then
        redis-cli -u "$REDIS_URL" --scan --pattern "e2e-$$:*" 2>/dev/null |
            xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    fi
    if [ "$status" -ne 0 ]; then
        for f in "$WORK"/replica-*.jsonl "$WORK"/prometheus.log; do
            [ -f "$f" ] && { log "last lines of $f:"; tail -n 15 "$f" >&2; }
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The whole run is bounded (every command below is bounded too).
start_watchdog "$TIMEOUT"
PIDS+=("$WATCHDOG")

# Polls `curl URL` until it succeeds, for $2 seconds at most, while process $3
# (the one that should answer) is alive.
wait_for() {
    local deadline=$((SECONDS + $2))
    until curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; do
        kill -0 "$3" 2>/dev/null || fail "the process that should answer $1 has exited"
        [ "$SECONDS" -lt "$deadline" ] || fail "$1 did not answer within $2 s"
        sleep 0.2
    done
}

# --- 1. replicas, Prometheus, traffic ---------------------------------------
createdb --maintenance-db="$PG_URL/postgres" "$DB" || fail "cannot create a database on $PG_URL (is PostgreSQL running?)"
CREATED_DB=1

read -r PORT1 PORT2 < <(free_ports 8081 8082)
if [ "$PORT1" != 8081 ] || [ "$PORT2" != 8082 ]; then log "8081/8082 are busy: replicas on $PORT1 and $PORT2"; fi
start_replica() { # name port [VAR=value ...]; its PID goes to PIDS
    local name=$1 port=$2
    shift 2
    env BIND="127.0.0.1:$port" DATABASE_URL="$PG_URL/$DB" REDIS_URL="$REDIS_URL" \
        CACHE_PREFIX="e2e-$$:" REPLICA_NAME="$name" WORKERS=2 LOG_LEVEL=info "$@" \
        "$BIN" >"$WORK/$name.jsonl" 2>&1 &
    PIDS+=($!)
}
start_replica replica-1 "$PORT1"
REPLICA1=${PIDS[-1]}
# Replica 2 fails a fifth of GET /urls/{id} on purpose, so that the error
# panels have 5xx to show; no alert fires on it within this run (for: 5m).
start_replica replica-2 "$PORT2" DRILL_ROUTE='/urls/{id}' DRILL_ERROR_RATE=0.2
wait_for "http://127.0.0.1:$PORT1/health/live" 30 "$REPLICA1"
wait_for "http://127.0.0.1:$PORT2/health/live" 30 "${PIDS[-1]}"

PROM_PORT=$(free_ports 9090)
PROM="http://127.0.0.1:$PROM_PORT"
# The rule file is found relative to the configuration: keep them side by side.
cp deploy/prometheus/alerts.yml "$WORK/alerts.yml"
sed -e "s/127\.0\.0\.1:8081/127.0.0.1:$PORT1/; s/127\.0\.0\.1:8082/127.0.0.1:$PORT2/" \
    -e "s/^\(  scrape_interval:\).*/\1 $INTERVAL/; s/^\(  evaluation_interval:\).*/\1 $INTERVAL/" \
    -e "s/^\(  scrape_timeout:\).*/\1 $SCRAPE_TIMEOUT/" \
    deploy/prometheus/prometheus.local.yml >"$WORK/prometheus.yml"
grep -q "127.0.0.1:$PORT2" "$WORK/prometheus.yml" || fail "could not point prometheus.local.yml at the replicas"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_for "$PROM/-/ready" 30 "${PIDS[-1]}"
log "replicas on :$PORT1 and :$PORT2, Prometheus on :$PROM_PORT, scraping every $INTERVAL"

# Traffic, until this script ends: each round creates a user and a URL, follows
# every code made so far, reads URLs and lists, and asks for codes that do not
# exist. Errors (replica 1 is killed later) are ignored.
traffic() {
    set +e
    local round=0 port code id created path
    local -a codes=() ids=()
    while :; do
        round=$((round + 1))
        for port in "$PORT1" "$PORT2"; do
            curl -s --max-time 2 -o /dev/null -XPOST "http://127.0.0.1:$port/users" -H 'content-type: application/json' \
                -d "{\"username\": \"e2e$port-$round\", \"email\": \"e2e$port-$round@example.com\"}" || true
            if created=$(curl -s --max-time 2 -XPOST "http://127.0.0.1:$port/urls" -H 'content-type: application/json' \
                -d "{\"original_url\": \"https://example.com/$round\"}"); then
                code=$(sed -n 's/.*"short_code":"\([^"]*\)".*/\1/p' <<<"$created")
                id=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' <<<"$created")
                [ -n "$code" ] && codes+=("$code") && ids+=("$id")
            fi
            local -a paths=("/urls?per_page=5" "/nope$round")
            for code in "${codes[@]: -10}"; do paths+=("/$code"); done
            for id in "${ids[@]: -5}"; do paths+=("/urls/$id"); done
            local -a args=()
            for path in "${paths[@]}"; do args+=(-o /dev/null "http://127.0.0.1:$port$path"); done
            curl -s --max-time 5 "${args[@]}" || true
        done
        sleep 0.2
    done
}
traffic &
PIDS+=($!)

# --- 2. every expression through the HTTP API -------------------------------
python3 deploy/grafana/check.py --exprs >"$WORK/dashboard.exprs" || fail "deploy/grafana/check.py failed"
log "$(wc -l <"$WORK/dashboard.exprs") dashboard expressions; waiting for them to return data"
python3 - "$PROM" "$WORK/dashboard.exprs" deploy/prometheus/alerts.yml "http://127.0.0.1:$PORT1/metrics" <<'EOF' || fail "PromQL evaluation"
import json, re, sys, time, urllib.parse, urllib.request

prom, exprs_file, rules_file, metrics_url = sys.argv[1:]
DEADLINE = time.monotonic() + 90

# May be empty while everything works: no click was dropped (the counter
# appears with the first drop). Anything else must have data.
ALLOWED_EMPTY = {"shortener_clicks_dropped_total"}

def get(path, **params):
    url = f"{prom}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        body = json.load(error)
    if body.get("status") != "success":
        raise RuntimeError(f"{body.get('errorType')}: {body.get('error')}")
    return body["data"]

def metric_names(expr):
    # Raw metric names only, not recorded series such as job:shortener_x:rate5m.
    return set(re.findall(r"(?<![:\w])((?:shortener|process)_[a-z_]+)(?![:\w])", expr))

exported = set()
with urllib.request.urlopen(metrics_url, timeout=10) as response:
    for line in response.read().decode().splitlines():
        if line.startswith("# TYPE "):
            exported.add(line.split()[2])

def base(name):
    return re.sub(r"_(bucket|count|sum)$", "", name)

def may_be_empty(expr):
    names = {base(n) for n in metric_names(expr)}
    # A metric this build does not export yet (e.g. a feature still on its way)
    # cannot have data; it is reported, not failed.
    return bool(names) and all(n in ALLOWED_EMPTY or n not in exported for n in names)

dashboard = [line.strip() for line in open(exprs_file) if line.strip()]

# Wait until Prometheus has evaluated every rule once, then read the rules as
# it loaded them.
while True:
    groups = get("/api/v1/rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules):
        break
    if time.monotonic() > DEADLINE:
        sys.exit("the rules were never evaluated")
    time.sleep(1)
try:
    import yaml  # cross-check: Prometheus loaded every rule of the file
    declared = [r for g in yaml.safe_load(open(rules_file))["groups"] for r in g["rules"]]
    if len(declared) != len(rules):
        sys.exit(f"{rules_file} declares {len(declared)} rules, Prometheus loaded {len(rules)}")
except ImportError:
    print("e2e: (no PyYAML: not cross-checking the rule count)", file=sys.stderr)

failures = []
while True:
    failures.clear()
    empty, skipped = [], []
    for expr in dashboard + [rule["query"] for rule in rules]:
        try:
            result = get("/api/v1/query", query=expr)["result"]
        except RuntimeError as error:
            failures.append(f"{expr}\n    {error}")
            continue
        if expr in dashboard and not result:
            (skipped if may_be_empty(expr) else empty).append(expr)
    broken = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
    if failures or broken or not empty or time.monotonic() > DEADLINE:
        break
    time.sleep(2)

for expr in skipped:
    print(f"e2e: empty, allowed (metric not exported or nothing dropped): {expr}", file=sys.stderr)
for line in failures + broken:
    print(f"e2e: query error: {line}", file=sys.stderr)
for expr in empty:
    print(f"e2e: no data: {expr}", file=sys.stderr)
print(f"e2e: {len(dashboard)} dashboard and {len(rules)} rule expressions evaluated; "
      f"{len(failures) + len(broken)} errors, {len(empty)} without data, {len(skipped)} allowed empty",
      file=sys.stderr)
sys.exit(1 if failures or broken or empty else 0)
EOF

# --- 3. ServiceDown fires after a replica dies -------------------------------
kill -KILL "$REPLICA1"
killed_at=$(date +%s%N)
wait "$REPLICA1" 2>/dev/null || true
log "killed replica 1 (pid $REPLICA1); waiting for ServiceDown to fire"
while :; do
    if curl -fsS --max-time 5 "$PROM/api/v1/alerts" | python3 -c '
import json, sys
alerts = json.load(sys.stdin)["data"]["alerts"]
sys.exit(0 if any(a["labels"].get("alertname") == "ServiceDown" and a["state"] == "firing"
                  and a["labels"].get("instance") == sys.argv[1] for a in alerts) else 1)
' "127.0.0.1:$PORT1"; then
        break
    fi
    sleep 1
done
elapsed=$(( ($(date +%s%N) - killed_at) / 1000000 ))
printf 'e2e: ServiceDown fired %d.%03d s after replica 1 was killed (scrape and evaluation every %s)\n' \
    $((elapsed / 1000)) $((elapsed % 1000)) "$INTERVAL"
log "all checks passed"
