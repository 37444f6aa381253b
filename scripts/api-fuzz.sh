#!/usr/bin/env bash
# API fuzzing, driven by the OpenAPI document: starts `shortener` (the debug
# binary) on a fresh PostgreSQL database on a free port, loads the reference data
# when it is there, validates the served /openapi.json (openapi-spec-validator),
# then runs schemathesis with every check: the examples, coverage and fuzzing
# phases over every operation (at least API_FUZZ_MIN_REQUESTS requests), and the
# stateful phase through the document's links (create, then read, update,
# delete). Any failure fails the script. It stops the service and drops the
# database on the way out, also when it fails.
#
# Environment: DATABASE_ADMIN_URL (postgres://postgres@127.0.0.1:5432),
# API_FUZZ_EXAMPLES (examples per operation, default 60), API_FUZZ_MAX_TIME
# (seconds for the whole schemathesis run, default 300), API_FUZZ_VENV (where the
# Python tools are installed, default target/api-fuzz-venv), API_FUZZ_SEED_DATA
# (the reference CSVs, default ../shared/seed-data).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

admin_url=${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
examples=${API_FUZZ_EXAMPLES:-60}
max_time=${API_FUZZ_MAX_TIME:-300}
min_requests=${API_FUZZ_MIN_REQUESTS:-1000}
venv=$(realpath -m "${API_FUZZ_VENV:-target/api-fuzz-venv}")
binary=${CARGO_TARGET_DIR:-target}/debug/shortener
seed_data=${API_FUZZ_SEED_DATA:-../shared/seed-data}

work=$(mktemp -d)
# The reports stay for a look after the run (target/ is not versioned).
reports=${CARGO_TARGET_DIR:-target}/api-fuzz
mkdir -p "$reports"
reports=$(realpath "$reports")
root=$(pwd)
database="api_fuzz_$(date +%s)_$$"
server_pid=""

cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  psql "$admin_url/postgres" -qX -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
    echo "-- the service's last log lines:" >&2
    tail -n 20 "$work/server.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

echo "== API fuzzing: tools"
command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-api-fuzz.txt
"$venv/bin/schemathesis" --version

echo "== API fuzzing: the service on a fresh database"
cargo build -q -p shortener --locked
psql "$admin_url/postgres" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database" >/dev/null
export DATABASE_URL="$admin_url/$database"
"$binary" migrate >"$work/migrate.log" 2>&1
if [ -d "$seed_data" ]; then
  "$binary" seed --users "$seed_data/users.csv" --urls "$seed_data/urls.csv" \
    --events "$seed_data/events.csv" >"$work/seed.log" 2>&1
  echo "loaded the reference data"
fi
port=$(free_ports 0)
base="http://127.0.0.1:$port"
BIND="127.0.0.1:$port" LOG_LEVEL=warning WORKERS=2 "$binary" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "$base/health/live" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "the service exited" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/health" && echo

echo "== API fuzzing: the OpenAPI document validates"
curl -fsS "$base/openapi.json" -o "$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

echo "== API fuzzing: schemathesis (every check; examples, coverage, fuzzing, stateful)"
# Only 127.0.0.1 is a target: a request to any other host goes to a proxy that
# does not exist and fails, whatever the fuzzer tries.
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
set +e
# From the reports' folder: schemathesis keeps its cache in the working directory.
(cd "$reports" && timeout $((max_time + 120)) "$venv/bin/schemathesis" \
  --config-file "$root/scripts/schemathesis.toml" --no-color \
  run "$base/openapi.json" --url "$base" \
  --checks all --max-examples "$examples" --max-time "$max_time" --seed 2025 \
  --generation-database "$reports/examples" \
  --report ndjson,junit --report-ndjson-path "$reports/events.ndjson" \
  --report-junit-path "$reports/junit.xml")
fuzz_status=$?
set -e

python3 - "$reports/events.ndjson" "$min_requests" "$fuzz_status" <<'PY'
import json, sys
path, minimum, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
requests = checks = failed_checks = 0
failures = set()
with open(path) as events:
    for line in events:
        event = json.loads(line)
        for kind, body in event.items():
            if kind != "ScenarioFinished":
                continue
            recorder = body.get("recorder", {})
            requests += len(recorder.get("interactions", {}))
            for check_list in recorder.get("checks", {}).values():
                for check in check_list:
                    checks += 1
                    if check.get("status") == "failure":
                        failed_checks += 1
                        failures.add((check.get("name"), recorder.get("label") or ""))
print(f"schemathesis: {requests} requests, {checks} checks, {failed_checks} failed checks "
      f"({len(failures)} distinct failures), exit status {status}")
for name, label in sorted(failures):
    print(f"  FAILED {name} {label}")
if requests < minimum:
    print(f"schemathesis sent {requests} requests, fewer than {minimum}")
    sys.exit(1)
sys.exit(1 if status or failed_checks else 0)
PY
