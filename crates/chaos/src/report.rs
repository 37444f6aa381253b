//! What a scenario prints: its timeline, the requests it sent counted by kind
//! and outcome, the audit, and each check with its verdict.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::audit::Audit;
use crate::traffic::{Op, Sample};

#[derive(Debug)]
pub struct Report {
    name: &'static str,
    timeline: Vec<(Duration, String)>,
    samples: Vec<Sample>,
    elapsed: Duration,
    audit: Audit,
    checks: Vec<Check>,
}

#[derive(Debug)]
struct Check {
    claim: String,
    passed: bool,
    evidence: String,
}

impl Report {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            timeline: Vec::new(),
            samples: Vec::new(),
            elapsed: Duration::ZERO,
            audit: Audit::default(),
            checks: Vec::new(),
        }
    }

    pub fn event(&mut self, at: Duration, what: impl Into<String>) {
        self.timeline.push((at, what.into()));
    }

    pub fn record(&mut self, samples: Vec<Sample>, elapsed: Duration, audit: Audit) {
        self.samples = samples;
        self.elapsed = elapsed;
        self.audit = audit;
    }

    pub fn check(&mut self, claim: impl Into<String>, passed: bool, evidence: impl Into<String>) {
        self.checks.push(Check { claim: claim.into(), passed, evidence: evidence.into() });
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn failed_requests(&self) -> usize {
        self.samples.iter().filter(|s| !s.ok()).count()
    }

    #[allow(clippy::print_stdout, reason = "the report is this tool's output")]
    pub fn print(&self) {
        println!("== chaos {}", self.name);
        for (at, what) in &self.timeline {
            println!("  {:>6.1}s  {what}", at.as_secs_f64());
        }
        let seconds = self.elapsed.as_secs_f64().max(0.001);
        println!(
            "requests: {} in {seconds:.1}s ({:.0}/s), {} failed",
            self.samples.len(),
            self.samples.len() as f64 / seconds,
            self.failed_requests()
        );
        for (op, outcomes) in outcomes_by_op(&self.samples) {
            let counts: Vec<String> =
                outcomes.iter().map(|(kind, n)| format!("{kind} x{n}")).collect();
            println!("  {:<13} {}", op.name(), counts.join(", "));
        }
        let a = &self.audit;
        println!(
            "acknowledged: {} URLs, {} events, {} clicks; lost: {} URLs, {} events, {} clicks; \
             extra clicks: {}",
            a.urls_acknowledged,
            a.events_acknowledged,
            a.clicks_acknowledged,
            a.lost_urls,
            a.lost_events,
            a.lost_clicks,
            a.extra_clicks
        );
        for check in &self.checks {
            let verdict = if check.passed { "PASS" } else { "FAIL" };
            println!("  [{verdict}] {} ({})", check.claim, check.evidence);
        }
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        println!(
            "chaos {}: {verdict} requests={} failed={} lost_writes={} lost_clicks={}",
            self.name,
            self.samples.len(),
            self.failed_requests(),
            a.lost_urls + a.lost_events,
            a.lost_clicks
        );
    }
}

fn outcomes_by_op(samples: &[Sample]) -> BTreeMap<Op, BTreeMap<String, usize>> {
    let mut table: BTreeMap<Op, BTreeMap<String, usize>> = BTreeMap::new();
    for sample in samples {
        *table.entry(sample.op).or_default().entry(sample.kind()).or_default() += 1;
    }
    table
}
