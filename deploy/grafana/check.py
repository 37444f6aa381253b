#!/usr/bin/env python3
"""Checks the provisioned Grafana dashboards against the provisioned datasource.

    check.py                 check every dashboard under dashboards/
    check.py --exprs         ... then print each PromQL expression, one per line,
                             with Grafana's variables replaced so that it runs
                             as is against Prometheus ($instance -> .*)
    check.py --exprs --raw   ... print them as written in the JSON
    check.py --eval URL      ... then run each expression against the Prometheus
                             at URL (/api/v1/query); fail on any query error,
                             and with --require-data also on empty results

Checks: each dashboard is valid JSON with a uid and a title; panel ids are
unique; every panel, query and templated variable names its datasource by the
uid of the Prometheus datasource in provisioning/datasources/datasource.yml;
every query has an expression; every $variable used is defined (or is one of
Grafana's own); a multi-value variable is matched with =~, not =.

Python 3 standard library only. Exit status: 0 all good, 1 a check failed.
"""
import argparse
import json
import re
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASOURCE_FILE = HERE / "provisioning" / "datasources" / "datasource.yml"
DASHBOARD_DIR = HERE / "dashboards"

# What Grafana's own variables become when an expression is run outside Grafana.
BUILTIN_VARS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__interval_ms": "60000",
}
VAR_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def provisioned_prometheus_uid(path):
    """The uid of the (first) Prometheus datasource in a provisioning file.

    A deliberately small reader for the flat `key: value` entries of
    `datasources:`; enough for this file, not a YAML parser.
    """
    entries, current = [], None
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        m = re.match(r"^(\s*)- (\w+):\s*(.*)$", line)
        if m:
            current = {m.group(2): m.group(3).strip().strip("\"'")}
            entries.append(current)
            continue
        m = re.match(r"^\s+(\w+):\s*(.*)$", line)
        if m and current is not None and m.group(2):
            current.setdefault(m.group(1), m.group(2).strip().strip("\"'"))
    for entry in entries:
        if entry.get("type") == "prometheus":
            if not entry.get("uid"):
                raise SystemExit(f"{path}: the Prometheus datasource has no fixed uid")
            return entry["uid"]
    raise SystemExit(f"{path}: no datasource of type prometheus")


def walk_panels(panels):
    """Every panel, including those nested in (collapsed) rows."""
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def ds_uid(ds):
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds  # a bare name (old style) or None: never equal to a uid check


def check_dashboard(path, uid):
    """Returns (problems, expressions) for one dashboard file."""
    problems, exprs = [], []
    try:
        dash = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        return [f"{path.name}: not valid JSON: {e}"], []

    for key in ("uid", "title", "panels"):
        if key not in dash:
            problems.append(f"{path.name}: no '{key}'")
    if "${DS_" in path.read_text():
        problems.append(f"{path.name}: contains an export placeholder ${{DS_...}}; use uid {uid!r}")

    variables = {}
    for var in dash.get("templating", {}).get("list", []):
        name = var.get("name")
        variables[name] = var
        where = f"{path.name}: variable ${name}"
        if var.get("type") == "query":
            if ds_uid(var.get("datasource")) != uid:
                problems.append(f"{where}: datasource uid {ds_uid(var.get('datasource'))!r}, expected {uid!r}")
            query = var.get("query")
            query = query.get("query", "") if isinstance(query, dict) else (query or "")
            m = re.match(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", query, re.S)
            if m:  # label_values(selector, label): the selector is PromQL
                exprs.append(m.group(1))
            elif query.strip().startswith(("query_result(", "label_values(")):
                exprs.append(query[query.index("(") + 1:query.rindex(")")])

    seen_ids = {}
    for panel in walk_panels(dash.get("panels", [])):
        title = panel.get("title", "<untitled>")
        where = f"{path.name}: panel {panel.get('id')} {title!r}"
        if panel.get("id") in seen_ids:
            problems.append(f"{where}: id also used by {seen_ids[panel.get('id')]!r}")
        seen_ids[panel.get("id")] = title
        if "gridPos" not in panel:
            problems.append(f"{where}: no gridPos")
        if panel.get("type") == "row" and not panel.get("targets"):
            continue
        if ds_uid(panel.get("datasource")) != uid:
            problems.append(f"{where}: datasource uid {ds_uid(panel.get('datasource'))!r}, expected {uid!r}")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{where}: no queries")
        for target in targets:
            twhere = f"{where} query {target.get('refId')}"
            if "datasource" in target and ds_uid(target["datasource"]) != uid:
                problems.append(f"{twhere}: datasource uid {ds_uid(target['datasource'])!r}, expected {uid!r}")
            expr = target.get("expr", "")
            if not expr.strip():
                problems.append(f"{twhere}: empty expression")
                continue
            for m in VAR_RE.finditer(expr):
                name = m.group(1) or m.group(2)
                if name not in variables and name not in BUILTIN_VARS:
                    problems.append(f"{twhere}: uses undefined variable ${name}")
                elif name in variables and variables[name].get("multi") and re.search(
                    r'\w+\s*=\s*"\$\{?' + name + r"\b", expr
                ):
                    problems.append(f"{twhere}: multi-value ${name} must be matched with =~")
            exprs.append(expr)
    return problems, [(e, resolve(e, variables)) for e in exprs]


def resolve(expr, variables):
    """Replaces Grafana variables so the expression runs as plain PromQL: the
    dashboard's own variables by their "All" value, Grafana's by BUILTIN_VARS."""

    def sub(m):
        name = m.group(1) or m.group(2)
        if name in BUILTIN_VARS:
            return BUILTIN_VARS[name]
        return variables.get(name, {}).get("allValue") or ".*"

    return VAR_RE.sub(sub, expr)


def one_line(expr):
    return " ".join(expr.split())


def evaluate(url, expr):
    """Runs an instant query; returns (error or None, number of result series)."""
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query?{q}", timeout=30) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except (json.JSONDecodeError, ValueError):
            return f"HTTP {e.code}", 0
    except (urllib.error.URLError, OSError) as e:
        return f"cannot reach {url}: {e}", 0
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", 0
    result = body["data"]["result"]
    return None, (len(result) if isinstance(result, list) else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dashboards", nargs="*", type=Path, help="dashboard JSON files (default: dashboards/*.json)")
    ap.add_argument("--datasource-file", type=Path, default=DATASOURCE_FILE)
    ap.add_argument("--exprs", action="store_true", help="print every PromQL expression, one per line")
    ap.add_argument("--raw", action="store_true", help="with --exprs: keep Grafana's $variables")
    ap.add_argument("--eval", metavar="URL", help="run every expression against the Prometheus at URL")
    ap.add_argument("--require-data", action="store_true", help="with --eval: an empty result is a failure")
    args = ap.parse_args()

    uid = provisioned_prometheus_uid(args.datasource_file)
    files = args.dashboards or sorted(DASHBOARD_DIR.glob("*.json"))
    if not files:
        print(f"no dashboards found in {DASHBOARD_DIR}", file=sys.stderr)
        return 1

    problems, exprs = [], []
    for path in files:
        p, e = check_dashboard(path, uid)
        problems += p
        exprs += e
    for p in problems:
        print(f"FAILED: {p}", file=sys.stderr)
    if problems:
        return 1

    # Each distinct expression once, in dashboard order.
    runnable = list(dict.fromkeys(one_line(resolved) for _, resolved in exprs))
    if args.exprs:
        for e in dict.fromkeys(one_line(raw) for raw, _ in exprs) if args.raw else runnable:
            print(e)
    else:
        print(f"OK: {len(files)} dashboard(s), {len(exprs)} queries, every datasource uid is {uid!r}",
              file=sys.stderr)

    if args.eval:
        failed = 0
        for e in runnable:
            err, n = evaluate(args.eval, e)
            if err or (args.require_data and n == 0):
                failed += 1
                print(f"FAILED: {err or 'no data'}: {e}", file=sys.stderr)
            elif n == 0:
                print(f"empty: {e}", file=sys.stderr)
        print(f"{len(runnable) - failed} of {len(runnable)} expressions evaluated without error against {args.eval}",
              file=sys.stderr)
        if failed:
            return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `check.py --exprs | head` ends quietly
    sys.exit(main())
