#!/usr/bin/env python3
"""Throughput and p95 against users, from goose's JSON reports.

    python3 loadtests/plot.py [REPORT.json ...] [--out docs/img/capacity.png] [--table]

Without paths it reads every goose JSON report in loadtests/reports/ (not the
.server.json summaries beside them). Runs of the same step (the report's
scenario, its number of users and its --notes) are grouped: the plot shows
their median and, as error bars, the lowest and highest run, beside the
reference numbers of the Flask implementation. --table prints the same as a
Markdown table, one row per run and one per group, with the server-side
figures of each run's .server.json (CPU and RSS per replica, pool waiting,
cache hit ratio, clicks against redirects).

Needs matplotlib (pip install matplotlib).
"""

import argparse
import glob
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# The Flask implementation under the same plan: users, requests/s, p95 (ms).
FLASK = [(50, 25, 2470), (200, 263, 1730), (500, 493, 1130)]


def width_bits(us):
    """Goose's log-linear buckets (src/metrics/buckets.rs): 64 per power of two."""
    if us < 128:
        return 0
    return us.bit_length() - 1 - 6


def percentile(histogram, q):
    """The q-th percentile (0..100), in ms, of goose's {bucket floor (us): count}."""
    items = sorted((int(k), v) for k, v in histogram.items())
    total = sum(v for _, v in items)
    if total == 0:
        return None
    rank = q / 100 * total
    seen = 0
    for floor, count in items:
        seen += count
        if seen >= rank:
            return (floor + ((1 << width_bits(floor)) >> 1)) / 1000
    return items[-1][0] / 1000


def merged(requests, names=None):
    out = {}
    for name, request in requests.items():
        if names is not None and name not in names:
            continue
        for k, v in request["raw_data"].get("times_us", {}).items():
            out[k] = out.get(k, 0) + v
    return out


def load(path):
    with open(path) as f:
        report = json.load(f)
    raw = report["raw_metrics"]
    requests = raw["requests"]
    aggregated = next(r for r in report["raw_request_metrics"] if r["name"] == "Aggregated")
    # Reports are named STEP-TIME.json (loadtests/src/args.rs).
    scenario = os.path.basename(path).split("-")[0]
    all_times = merged(requests)
    redirect = merged(requests, {"GET /{short_code}"})
    run = {
        "file": os.path.relpath(path, REPO),
        "scenario": scenario,
        "notes": report.get("notes") or raw.get("notes") or "",
        "users": raw["maximum_users"],
        "seconds": raw["duration"],
        "requests": aggregated["number_of_requests"],
        "failures": aggregated["number_of_failures"],
        "rps": aggregated["requests_per_second"],
        "p50": percentile(all_times, 50),
        "p95": percentile(all_times, 95),
        "p99": percentile(all_times, 99),
        "redirect_p99": percentile(redirect, 99),
        "hosts": sorted(raw.get("hosts") or []),
        "thresholds": all(t["passed"] for t in raw.get("thresholds") or []),
        "server": None,
    }
    server = path[: -len(".json")] + ".server.json"
    if os.path.exists(server):
        with open(server) as f:
            run["server"] = json.load(f)
    return run


def group_key(run):
    return (run["scenario"], run["users"], run["notes"])


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def server_cells(server):
    if not server:
        return ["-"] * 6
    replicas = server.get("replicas") or []
    cpu = " / ".join(f"{r['cpu_percent_mean']:.0f}" for r in replicas) or "-"
    rss = " / ".join(f"{r['rss_mib_max']:.0f}" for r in replicas) or "-"
    waiting = " / ".join(f"{r['pool_waiting_max']:.0f}" for r in replicas) or "-"
    ratios = [r["cache_hit_ratio"] for r in replicas if r.get("cache_hit_ratio") is not None]
    hits = " / ".join(f"{h * 100:.0f}%" for h in ratios) or "no cache"
    machine = next((v for k, v in server.get("processes", {}).items() if k.startswith("machine")), None)
    served, rows = server.get("redirects_served"), server.get("click_rows_db")
    clicks = f"{served:.0f} = {rows}" if served is not None and rows is not None and abs(served - rows) < 0.5 else f"{served} vs {rows}"
    return [cpu, rss, waiting, hits, fmt(machine and machine["cpu_percent_mean"], 0), clicks]


def table(runs):
    head = ("| step | users | notes | req/s | p50 ms | p95 ms | p99 ms | redirect p99 ms | errors "
            "| CPU % per replica | RSS MiB per replica | pool waiting max | cache hits | machine CPU % | 302s = click rows | report |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for run in sorted(runs, key=lambda r: (r["users"], r["scenario"], r["notes"], r["file"])):
        print("| " + " | ".join([
            run["scenario"], str(run["users"]), run["notes"] or "-", fmt(run["rps"]), fmt(run["p50"]),
            fmt(run["p95"]), fmt(run["p99"]), fmt(run["redirect_p99"]),
            f"{run['failures']} / {run['requests']}", *server_cells(run["server"]), os.path.basename(run["file"]),
        ]) + " |")
    print()
    print("| step | users | notes | runs | req/s (median) | p95 ms (median) | p95 ms (min-max) | p99 ms (median) | errors (all runs) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, group in grouped(runs):
        p95s = [r["p95"] for r in group]
        print(f"| {key[0]} | {key[1]} | {key[2] or '-'} | {len(group)} | {statistics.median(r['rps'] for r in group):.1f} "
              f"| {statistics.median(p95s):.1f} | {min(p95s):.1f}-{max(p95s):.1f} "
              f"| {statistics.median(r['p99'] for r in group):.1f} | {sum(r['failures'] for r in group)} |")


def grouped(runs):
    groups = {}
    for run in runs:
        groups.setdefault(group_key(run), []).append(run)
    return sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))


def plot(runs, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rps, ax_p95) = plt.subplots(1, 2, figsize=(12, 4.8))
    series = {}
    for key, group in grouped(runs):
        # One line per --notes (e.g. "cache", "no cache"); the soak is a point of its own.
        label = "ours" + (f", {key[2]}" if key[2] else "")
        if key[0] == "soak":
            label += ", 10-minute soak"
        series.setdefault(label, []).append((key[1], group))
    markers = iter("osD^vP*X")
    for label, points in series.items():
        points.sort(key=lambda p: p[0])
        users = [u for u, _ in points]
        marker = next(markers, "o")
        for ax, field in ((ax_rps, "rps"), (ax_p95, "p95")):
            values = [[r[field] for r in g] for _, g in points]
            med = [statistics.median(v) for v in values]
            low = [m - min(v) for m, v in zip(med, values)]
            high = [max(v) - m for m, v in zip(med, values)]
            ax.errorbar(users, med, yerr=[low, high], marker=marker, capsize=3, label=label)
    fu, frps, fp95 = zip(*FLASK)
    ax_rps.plot(fu, frps, "k--x", label="Flask reference")
    ax_p95.plot(fu, fp95, "k--x", label="Flask reference")
    ax_p95.axhline(50, color="red", lw=0.8, ls=":", label="target p95 50 ms")
    ax_rps.set(xlabel="users", ylabel="requests/s", title="Throughput (median of runs, bars: min-max)")
    ax_p95.set(xlabel="users", ylabel="p95 (ms, log)", title="p95 latency at the client", yscale="log")
    for ax in (ax_rps, ax_p95):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("shortener on one shared 2-core machine: 50 users = 1 replica direct, more = Nginx + 2 replicas;"
                 " goose 0.19, 0.5-1.5 s think time", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {os.path.relpath(out, REPO)}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="*")
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "img", "capacity.png"))
    parser.add_argument("--table", action="store_true", help="print Markdown tables too")
    args = parser.parse_args()
    paths = args.reports or sorted(
        p for p in glob.glob(os.path.join(HERE, "reports", "*.json")) if not p.endswith(".server.json")
    )
    runs = []
    for path in paths:
        try:
            runs.append(load(path))
        except (ValueError, KeyError, StopIteration) as e:
            # A run still in progress leaves an empty or partial report.
            print(f"plot.py: skipping {os.path.relpath(path, REPO)}: {e!r}", file=sys.stderr)
    if not runs:
        sys.exit("plot.py: no goose JSON report (run a scenario first: just loadtest-baseline)")
    if args.table:
        table(runs)
    plot(runs, args.out)


if __name__ == "__main__":
    main()
