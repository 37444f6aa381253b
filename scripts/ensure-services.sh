#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis that the tests use are up on 127.0.0.1 (the
# defaults of DATABASE_URL/REDIS_URL). On the project's machines they already run;
# elsewhere this installs them from Debian's packages and starts them.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
  # Trust local TCP connections for the postgres user, as on the project machines.
  psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1 || {
    echo "PostgreSQL runs but user postgres cannot log in over TCP without a password" >&2; exit 1; }
fi

if ! redis_up; then
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis_up && break; sleep 1; done
  redis_up || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up on 127.0.0.1"
