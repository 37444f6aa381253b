#!/usr/bin/env python3
"""Checks what promtool does not: that every alert in alerts.yml has a unit
test that makes it fire and one that shows it quiet in alerts_test.yml, and a
runbook section in docs/runbook.md that its runbook_url points at.

Standard library only; relies on the plain layout of the two YAML files
(`- alert: Name`, `alertname: Name` followed by `exp_alerts:`).
Usage: check_coverage.py [alerts.yml] [alerts_test.yml] [runbook.md]
"""
import re
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
rules_path = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "alerts.yml"
tests_path = Path(sys.argv[2]) if len(sys.argv) > 2 else here / "alerts_test.yml"
runbook_path = Path(sys.argv[3]) if len(sys.argv) > 3 else here.parent.parent / "docs" / "runbook.md"

rules = rules_path.read_text()
tests = tests_path.read_text()
runbook = runbook_path.read_text()

alerts = sorted(set(re.findall(r"^\s*- alert:\s*(\w+)", rules, re.M)))
runbook_urls = re.findall(r"^\s*runbook_url:\s*\"?docs/runbook\.md#([\w-]+)\"?", rules, re.M)
n_alert_rules = len(re.findall(r"^\s*- alert:", rules, re.M))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, spaces to '-', no punctuation."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


anchors = {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", runbook, re.M)}
anchors |= set(re.findall(r'<a (?:id|name)="([\w-]+)"', runbook))

fires, quiet = set(), set()
for name, empty in re.findall(r"alertname:\s*(\w+)\s*\n\s*exp_alerts:\s*(\[\])?", tests):
    (quiet if empty else fires).add(name)

problems = []
if len(runbook_urls) != n_alert_rules:
    problems.append(f"{n_alert_rules} alert rules but {len(runbook_urls)} runbook_url annotations pointing at docs/runbook.md")
for url_anchor in sorted(set(runbook_urls)):
    if url_anchor not in anchors:
        problems.append(f"runbook_url anchor #{url_anchor} has no heading in {runbook_path.name}")
for alert in alerts:
    if alert.lower() not in runbook_urls:
        problems.append(f"{alert}: runbook_url does not point at #{alert.lower()}")
    if alert not in fires:
        problems.append(f"{alert}: no test case in which it fires")
    if alert not in quiet:
        problems.append(f"{alert}: no test case in which it stays quiet (exp_alerts: [])")
for name in sorted((fires | quiet) - set(alerts)):
    problems.append(f"{name}: tested but not defined in {rules_path.name}")

for p in problems:
    print(f"  FAILED: {p}")
if problems:
    sys.exit(1)
print(f"  SUCCESS: {len(alerts)} alerts ({n_alert_rules} rules), each tested firing and quiet, each with a runbook section")
