#!/usr/bin/env bash
# Validates the Prometheus configuration: both config files, the rules, the
# rule unit tests, and that every alert is tested and has a runbook section.
# Runs every check, then exits non-zero if any failed. Needs promtool
# (Debian: apt-get install -y prometheus) and python3.
set -uo pipefail

cd "$(dirname "$0")"

if ! command -v promtool >/dev/null 2>&1; then
    echo "check.sh: promtool not found; install it with: apt-get install -y prometheus" >&2
    exit 2
fi

failed=0
run() {
    echo "==> $*"
    if ! "$@"; then
        echo "FAILED: $*" >&2
        failed=1
    fi
}

run promtool check config prometheus.yml
run promtool check config prometheus.local.yml
run promtool check rules alerts.yml
run promtool test rules alerts_test.yml
run python3 check_coverage.py

if [ "$failed" -ne 0 ]; then
    echo "deploy/prometheus/check.sh: some checks failed" >&2
    exit 1
fi
echo "deploy/prometheus/check.sh: all checks passed"
