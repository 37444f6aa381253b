//! The four faults and what the service promises under each (design.md,
//! "Failure behaviour"). Every scenario runs the same way: a fresh lab, a
//! warm-up, steady traffic for `duration`, the fault from a quarter of it on,
//! then the audit and the checks.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::audit::{Ledger, audit};
use crate::lab::{Lab, signal};
use crate::report::Report;
use crate::traffic::{Op, Sample, Workload, local_client};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long the audit waits for clicks still buffered in a replica.
const CLICK_SETTLE: Duration = Duration::from_secs(20);
/// A PostgreSQL outage must be over for clients within this long after it ends.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Settings {
    pub rate: u32,
    pub duration: Duration,
}

impl Settings {
    /// When the fault starts.
    fn fault_at(&self) -> Duration {
        self.duration / 4
    }

    /// When a dependency that was stopped comes back (or a killed replica).
    fn repair_at(&self) -> Duration {
        self.duration * 7 / 12
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    KillReplica,
    RollingRestart,
    RedisOutage,
    PostgresOutage,
}

impl Scenario {
    pub const ALL: [Scenario; 4] =
        [Self::KillReplica, Self::RollingRestart, Self::RedisOutage, Self::PostgresOutage];

    pub fn name(self) -> &'static str {
        match self {
            Self::KillReplica => "kill-replica",
            Self::RollingRestart => "rolling-restart",
            Self::RedisOutage => "redis-outage",
            Self::PostgresOutage => "postgres-outage",
        }
    }
}

/// Runs one scenario on a lab of its own. The lab's logs are kept when it fails.
pub async fn run(scenario: Scenario, settings: &Settings) -> Result<Report, Error> {
    let mut lab = Lab::start(scenario.name()).await?;
    let mut run = Run::begin(&lab, scenario.name(), settings).await?;
    let outcome = match scenario {
        Scenario::KillReplica => kill_replica(&mut lab, &mut run, settings).await,
        Scenario::RollingRestart => rolling_restart(&mut lab, &mut run, settings).await,
        Scenario::RedisOutage => redis_outage(&mut lab, &mut run, settings).await,
        Scenario::PostgresOutage => postgres_outage(&mut lab, &mut run, settings).await,
    };
    if outcome.is_err() || !run.report.passed() {
        lab.stack.keep_logs();
        eprintln!(
            "chaos {}: the stack's logs stay in {}",
            scenario.name(),
            lab.stack.logs().display()
        );
    }
    outcome.map(|()| run.report)
}

/// One replica dies without warning. Nginx must send everything to the other:
/// no idempotent request may fail. A write in flight on the killed replica may
/// fail (Nginx cannot know whether it was carried out), but no write or click
/// that was acknowledged may be missing.
async fn kill_replica(lab: &mut Lab, run: &mut Run, settings: &Settings) -> Result<(), Error> {
    run.sleep_until(settings.fault_at()).await;
    let pid = lab.stack.replica_pid(1)?;
    signal(pid, "KILL")?;
    run.note(format!("SIGKILL replica-1 (PID {pid})"));
    run.sleep_until(settings.repair_at()).await;
    tokio::task::block_in_place(|| lab.stack.run("up"))?;
    run.note("`stack up` started replica-1 again");
    run.sleep_until(settings.duration).await;
    let samples = run.finish(lab).await?;
    let failed_idempotent = samples.iter().filter(|s| s.op.is_idempotent() && !s.ok()).count();
    let failed_writes = samples.iter().filter(|s| s.op.is_write() && !s.ok()).count();
    run.report.check(
        "no idempotent request failed",
        failed_idempotent == 0,
        format!("{failed_idempotent} failed; writes failed: {failed_writes}"),
    );
    Ok(())
}

/// Both replicas restarted one after the other with `stack restart` (drain in
/// Nginx, SIGTERM, start, ready, back in). No request of any kind may fail.
async fn rolling_restart(lab: &mut Lab, run: &mut Run, settings: &Settings) -> Result<(), Error> {
    run.sleep_until(settings.fault_at()).await;
    run.note("`stack restart`: rolling restart of replica-1, then replica-2");
    tokio::task::block_in_place(|| lab.stack.run("restart"))?;
    run.note("rolling restart done");
    // Some traffic on the restarted replicas too, however long the restart took.
    let after = run.elapsed() + Duration::from_secs(4);
    run.sleep_until(settings.duration.max(after)).await;
    let samples = run.finish(lab).await?;
    let failed = samples.iter().filter(|s| !s.ok()).count();
    run.report.check("no request of any kind failed", failed == 0, format!("{failed} failed"));
    Ok(())
}

/// The cache goes away and comes back empty. Nothing may fail (the replicas go
/// to PostgreSQL), and once Redis is back the cache must be used again.
async fn redis_outage(lab: &mut Lab, run: &mut Run, settings: &Settings) -> Result<(), Error> {
    run.sleep_until(settings.fault_at()).await;
    lab.redis.stop();
    run.note("redis-server killed");
    run.sleep_until(settings.repair_at()).await;
    lab.redis.resume();
    run.note("redis-server started again (empty)");
    run.sleep_until(settings.repair_at() + Duration::from_secs(3)).await;
    let hits_after_restart = cache_hits(lab).await;
    run.sleep_until(settings.duration).await;
    let hits_at_end = cache_hits(lab).await;
    let samples = run.finish(lab).await?;
    let server_errors = samples.iter().filter(|s| s.status().is_some_and(|c| c >= 500)).count();
    let failed = samples.iter().filter(|s| !s.ok()).count();
    run.report.check("no 5xx", server_errors == 0, format!("{server_errors} answers >= 500"));
    run.report.check("no request failed at all", failed == 0, format!("{failed} failed"));
    let (used_again, evidence) = match (hits_after_restart, hits_at_end) {
        (Some(before), Some(after)) => (
            after > before,
            format!("cache hits {before} three seconds after the restart, {after} at the end"),
        ),
        _ => (false, format!("no {CACHE_HITS} in the replicas' /metrics: is REDIS_URL honoured?")),
    };
    run.report.check("the cache is used again after Redis returns", used_again, evidence);
    Ok(())
}

/// The database goes away for a while. Writes must answer 503 JSON with
/// `Retry-After`, cached redirects must keep working, `/health` must say 503,
/// the service must recover by itself, and nothing acknowledged may be lost
/// (clicks of the outage are buffered and written once it is over).
async fn postgres_outage(lab: &mut Lab, run: &mut Run, settings: &Settings) -> Result<(), Error> {
    run.sleep_until(settings.fault_at()).await;
    // From here on: requests sent while the server shuts down belong to the outage.
    let outage_start = run.elapsed();
    tokio::task::block_in_place(|| lab.postgres.stop());
    run.note("PostgreSQL stopped (pg_ctl stop -m fast)");
    run.sleep_until(outage_start + Duration::from_secs(2)).await;
    let health = health_status(lab).await;
    run.sleep_until(settings.repair_at()).await;
    tokio::task::block_in_place(|| lab.postgres.start());
    let outage_end = run.elapsed();
    run.note("PostgreSQL started again");
    run.sleep_until(settings.duration).await;
    let samples = run.finish(lab).await?;

    // Requests still in flight when the outage began belong to the outage.
    let failed_before = samples.iter().filter(|s| s.done < outage_start && !s.ok()).count();
    run.report.check("all was well before", failed_before == 0, format!("{failed_before} failed"));

    // Recovered: from the first write acknowledged after the restart on, every
    // request succeeds.
    let recovered_at =
        samples.iter().find(|s| s.at >= outage_end && s.op.is_write() && s.ok()).map(|s| s.at);
    let recovery = recovered_at.map(|at| at.saturating_sub(outage_end));
    run.report.check(
        format!("writes succeed again within {}s of the restart", RECOVERY_BOUND.as_secs()),
        recovery.is_some_and(|r| r <= RECOVERY_BOUND),
        recovery.map_or("no write succeeded after the restart".into(), |r| {
            format!("first acknowledged write {:.1}s after the restart", r.as_secs_f64())
        }),
    );
    let recovered_at = recovered_at.unwrap_or(Duration::MAX);
    let failed_after = samples.iter().filter(|s| s.at >= recovered_at && !s.ok()).count();
    run.report.check(
        "all is well after recovery",
        failed_after == 0,
        format!("{failed_after} failed"),
    );

    let outage: Vec<&Sample> =
        samples.iter().filter(|s| s.done >= outage_start && s.at < recovered_at).collect();
    let rude = outage.iter().filter(|s| !s.ok() && !s.is_polite_503()).count();
    let refused_writes = outage.iter().filter(|s| s.op.is_write() && s.is_polite_503()).count();
    run.report.check(
        "during the outage, every failure is a 503 JSON error with Retry-After",
        rude == 0 && refused_writes > 0,
        format!("{refused_writes} writes refused with 503, {rude} other failures"),
    );
    let failed_redirects = samples.iter().filter(|s| s.op == Op::Redirect && !s.ok()).count();
    let outage_redirects = outage.iter().filter(|s| s.op == Op::Redirect).count();
    run.report.check(
        "cached redirects keep working",
        failed_redirects == 0,
        format!("{failed_redirects} failed, {outage_redirects} served during the outage"),
    );
    run.report.check(
        "/health answers 503 during the outage",
        health == Some(503),
        format!("{health:?}"),
    );
    Ok(())
}

/// Traffic in progress, with the report it feeds.
#[derive(Debug)]
pub struct Run {
    started: Instant,
    stop: watch::Sender<bool>,
    traffic: Option<JoinHandle<Vec<Sample>>>,
    warm_up: Vec<Sample>,
    pub report: Report,
}

impl Run {
    async fn begin(lab: &Lab, name: &'static str, settings: &Settings) -> Result<Self, Error> {
        let (workload, warm_up) = Workload::prepare(lab.stack.base_url()).await?;
        let (stop, stopped) = watch::channel(false);
        let started = Instant::now();
        let traffic = tokio::spawn(workload.drive(settings.rate, started, stopped));
        let mut report = Report::new(name);
        report.event(
            Duration::ZERO,
            format!("traffic starts, {} requests/s through Nginx", settings.rate),
        );
        Ok(Self { started, stop, traffic: Some(traffic), warm_up, report })
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn note(&mut self, what: impl Into<String>) {
        let at = self.elapsed();
        self.report.event(at, what);
    }

    async fn sleep_until(&self, at: Duration) {
        tokio::time::sleep_until((self.started + at).into()).await;
    }

    /// Stops the traffic, waits for the requests in flight, audits the
    /// database and records the common check. Returns the samples.
    async fn finish(&mut self, lab: &Lab) -> Result<Vec<Sample>, Error> {
        self.note("traffic stops");
        let _ = self.stop.send(true);
        let traffic = self.traffic.take().ok_or("the traffic was already finished")?;
        let samples = traffic.await?;
        let elapsed = self.elapsed();
        let ledger = Ledger::of(self.warm_up.iter().chain(&samples));
        let audit = audit(&lab.stack.database_url, &ledger, CLICK_SETTLE).await?;
        self.report.check(
            "every acknowledged write and click is in PostgreSQL",
            !audit.lost_anything(),
            format!(
                "lost {} URLs, {} events, {} clicks",
                audit.lost_urls, audit.lost_events, audit.lost_clicks
            ),
        );
        self.report.record(samples.clone(), elapsed, audit);
        Ok(samples)
    }
}

const CACHE_HITS: &str = "shortener_cache_operations_total{outcome=\"hit\"}";

/// Cache hits counted by both replicas, or `None` when neither exports them.
async fn cache_hits(lab: &Lab) -> Option<f64> {
    let client = local_client().ok()?;
    let mut total = None;
    for replica in 1..=2 {
        let url = format!("{}/metrics", lab.stack.replica_url(replica));
        let Ok(response) = client.get(&url).send().await else { continue };
        let Ok(text) = response.text().await else { continue };
        for line in text.lines().filter(|l| l.starts_with("shortener_cache_operations_total{")) {
            let mut parts = line.rsplitn(2, ' ');
            let value = parts.next().and_then(|v| v.parse::<f64>().ok());
            if let (Some(value), Some(series)) = (value, parts.next())
                && series.contains("outcome=\"hit\"")
            {
                *total.get_or_insert(0.0) += value;
            }
        }
    }
    total
}

/// The status `/health` answers through Nginx.
async fn health_status(lab: &Lab) -> Option<u16> {
    let client = local_client().ok()?;
    let response = client.get(format!("{}/health", lab.stack.base_url())).send().await.ok()?;
    Some(response.status().as_u16())
}
