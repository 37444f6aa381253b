//! What the replicas say while the load runs: `/metrics` of each replica sampled
//! once a second, summarised per replica (CPU, RSS, pool waiting, cache hits, the
//! redirects served), and the click rows recorded during the run, counted through
//! the API and, when `LOADTEST_DATABASE_URL` is set, in PostgreSQL with `psql`.
//!
//! Replicas: `LOADTEST_REPLICAS` (comma-separated base URLs, such as
//! `http://127.0.0.1:8081,http://127.0.0.1:8082`); when unset, the host itself if
//! it serves `/metrics` (a replica tested directly).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use goose::metrics::GooseMetrics;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::mix;
use crate::plan::REDIRECT;
use crate::procs::{self, Ticks};

/// One metric sample: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (label values may hold `{`, `}` and `,`).
fn parse_metrics(text: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = line[..name_end].to_string();
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let (mut key, mut value, mut in_value, mut escaped) =
                (String::new(), String::new(), false, false);
            let mut end = body.len();
            for (i, c) in body.char_indices() {
                if in_value {
                    if escaped {
                        value.push(c);
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        labels.insert(std::mem::take(&mut key), std::mem::take(&mut value));
                        in_value = false;
                    } else {
                        value.push(c);
                    }
                } else if c == '"' {
                    in_value = true;
                } else if c == '}' {
                    end = i + 1;
                    break;
                } else if c != '=' && c != ',' && !c.is_whitespace() {
                    key.push(c);
                }
            }
            rest = &body[end..];
        }
        let Some(value) = rest.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        out.push(Series { name, labels, value });
    }
    out
}

/// The sum of the series named `name` whose labels include all of `want`.
fn sum(series: &[Series], name: &str, want: &[(&str, &str)]) -> f64 {
    series
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| want.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
        .sum()
}

/// The values of one replica that the summary needs, at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    secs: f64,
    cpu_seconds: f64,
    rss_bytes: f64,
    pool_waiting: f64,
    pool_size: f64,
    pool_max: f64,
    in_flight: f64,
    requests: f64,
    errors_5xx: f64,
    redirects_302: f64,
    cache_hit: f64,
    cache_miss: f64,
    cache_error: f64,
    click_batches: f64,
    click_batch_rows: f64,
    clicks_dropped: f64,
    click_queue_depth: f64,
}

impl Snapshot {
    fn from_text(text: &str, secs: f64) -> Self {
        let s = parse_metrics(text);
        let requests = sum(&s, "shortener_http_requests_total", &[]);
        let errors_5xx: f64 = s
            .iter()
            .filter(|x| x.name == "shortener_http_requests_total")
            .filter(|x| x.labels.get("status").is_some_and(|st| st.starts_with('5')))
            .map(|x| x.value)
            .sum();
        Snapshot {
            secs,
            cpu_seconds: sum(&s, "process_cpu_seconds_total", &[]),
            rss_bytes: sum(&s, "process_resident_memory_bytes", &[]),
            pool_waiting: sum(&s, "shortener_db_pool_waiting", &[]),
            pool_size: sum(&s, "shortener_db_pool_connections", &[("state", "size")]),
            pool_max: sum(&s, "shortener_db_pool_connections", &[("state", "max")]),
            in_flight: sum(&s, "shortener_http_requests_in_flight", &[]),
            requests,
            errors_5xx,
            redirects_302: sum(
                &s,
                "shortener_http_requests_total",
                &[("method", "GET"), ("route", "/{short_code}"), ("status", "302")],
            ),
            cache_hit: sum(&s, "shortener_cache_operations_total", &[("outcome", "hit")]),
            cache_miss: sum(&s, "shortener_cache_operations_total", &[("outcome", "miss")]),
            cache_error: sum(&s, "shortener_cache_operations_total", &[("outcome", "error")]),
            click_batches: sum(&s, "shortener_click_batch_size_count", &[]),
            click_batch_rows: sum(&s, "shortener_click_batch_size_sum", &[]),
            clicks_dropped: sum(&s, "shortener_clicks_dropped_total", &[]),
            click_queue_depth: sum(&s, "shortener_click_queue_depth", &[]),
        }
    }
}

/// What one replica did during the run.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaSummary {
    pub url: String,
    pub samples: usize,
    pub pid: Option<u32>,
    /// CPU time over wall time, in percent of one core, over the whole run (from
    /// `/proc` when the PID is known, else from `process_cpu_seconds_total`).
    pub cpu_percent_mean: f64,
    /// The busiest 5 seconds.
    pub cpu_percent_peak_5s: f64,
    pub rss_mib_max: f64,
    pub pool_waiting_max: f64,
    pub pool_size_max: f64,
    pub pool_max: f64,
    pub in_flight_max: f64,
    pub requests: f64,
    pub errors_5xx: f64,
    pub redirects_302: f64,
    pub cache_hits: f64,
    pub cache_misses: f64,
    pub cache_errors: f64,
    /// Hits over hits and misses; `None` without cache lookups (no Redis).
    pub cache_hit_ratio: Option<f64>,
    pub click_batches: f64,
    pub click_rows_per_batch: Option<f64>,
    pub clicks_dropped: f64,
    pub click_queue_depth_max: f64,
}

/// The highest rate of a counter over any 5 seconds, in percent (of one unit a second).
fn peak_5s(points: impl Iterator<Item = (f64, f64)>) -> f64 {
    let points: Vec<(f64, f64)> = points.collect();
    let mut peak = 0.0_f64;
    for (i, a) in points.iter().enumerate() {
        if let Some(b) = points[i..].iter().find(|b| b.0 - a.0 >= 5.0) {
            peak = peak.max((b.1 - a.1) / (b.0 - a.0) * 100.0);
        }
    }
    peak
}

/// CPU of a group of processes: mean and busiest 5 seconds, in percent of one core.
#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    pub cpu_percent_mean: f64,
    pub cpu_percent_peak_5s: f64,
}

fn cpu_of(points: &[(f64, f64)]) -> Option<Cpu> {
    let (first, last) = (points.first()?, points.last()?);
    let wall = (last.0 - first.0).max(1e-9);
    Some(Cpu {
        cpu_percent_mean: (last.1 - first.1) / wall * 100.0,
        cpu_percent_peak_5s: peak_5s(points.iter().copied()),
    })
}

/// What `/proc` says about the replicas (by PID) and the rest of the machine.
fn apply_procs(
    replicas: &mut [ReplicaSummary],
    pids: &[u32],
    host: &[(f64, Ticks)],
) -> BTreeMap<String, Cpu> {
    let hz = procs::ticks_per_second();
    let mut out = BTreeMap::new();
    for (i, replica) in replicas.iter_mut().enumerate() {
        let Some(&pid) = pids.get(i) else { continue };
        replica.pid = Some(pid);
        let points: Vec<(f64, f64, f64)> = host
            .iter()
            .filter_map(|(t, ticks)| {
                let (cpu, rss) = (*ticks.replicas.get(i)?)?;
                Some((*t, cpu as f64 / hz, rss as f64 / 1024.0))
            })
            .collect();
        let cpu_points: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
        if let Some(cpu) = cpu_of(&cpu_points) {
            replica.cpu_percent_mean = cpu.cpu_percent_mean;
            replica.cpu_percent_peak_5s = cpu.cpu_percent_peak_5s;
            replica.rss_mib_max = points.iter().map(|p| p.2).fold(0.0, f64::max);
        }
    }
    let all: Vec<&Ticks> = host.iter().map(|(_, k)| k).collect();
    let times: Vec<f64> = host.iter().map(|(t, _)| *t).collect();
    for (group, _) in procs::GROUPS {
        let used = procs::cumulative(&all, group);
        let points: Vec<(f64, f64)> =
            times.iter().zip(used).map(|(t, u)| (*t, u as f64 / hz)).collect();
        if let Some(cpu) = cpu_of(&points) {
            out.insert((*group).to_string(), cpu);
        }
    }
    let me: Vec<(f64, f64)> = host.iter().map(|(t, k)| (*t, k.loadtests as f64 / hz)).collect();
    if let Some(cpu) = cpu_of(&me) {
        out.insert("loadtests (goose)".into(), cpu);
    }
    // The machine: every core's busy ticks (200 % = both cores of two).
    let machine: Vec<(f64, f64)> =
        host.iter().map(|(t, k)| (*t, k.machine_busy as f64 / hz)).collect();
    if let Some(cpu) = cpu_of(&machine) {
        out.insert(format!("machine ({} cores)", procs::cores()), cpu);
    }
    out
}

fn summarise(url: &str, samples: &[Snapshot]) -> Option<ReplicaSummary> {
    let (first, last) = (samples.first()?, samples.last()?);
    let d = |f: fn(&Snapshot) -> f64| f(last) - f(first);
    let max = |f: fn(&Snapshot) -> f64| samples.iter().map(f).fold(0.0, f64::max);
    let wall = (last.secs - first.secs).max(1e-9);
    let peak = peak_5s(samples.iter().map(|s| (s.secs, s.cpu_seconds)));
    let (hits, misses) = (d(|s| s.cache_hit), d(|s| s.cache_miss));
    let batches = d(|s| s.click_batches);
    Some(ReplicaSummary {
        url: url.to_string(),
        pid: None,
        samples: samples.len(),
        cpu_percent_mean: d(|s| s.cpu_seconds) / wall * 100.0,
        cpu_percent_peak_5s: peak,
        rss_mib_max: max(|s| s.rss_bytes) / 1_048_576.0,
        pool_waiting_max: max(|s| s.pool_waiting),
        pool_size_max: max(|s| s.pool_size),
        pool_max: max(|s| s.pool_max),
        in_flight_max: max(|s| s.in_flight),
        requests: d(|s| s.requests),
        errors_5xx: d(|s| s.errors_5xx),
        redirects_302: d(|s| s.redirects_302),
        cache_hits: hits,
        cache_misses: misses,
        cache_errors: d(|s| s.cache_error),
        cache_hit_ratio: (hits + misses > 0.0).then(|| hits / (hits + misses)),
        click_batches: batches,
        click_rows_per_batch: (batches > 0.0).then(|| d(|s| s.click_batch_rows) / batches),
        clicks_dropped: d(|s| s.clicks_dropped),
        click_queue_depth_max: max(|s| s.click_queue_depth),
    })
}

/// The whole run, as written to `STEM.server.json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario_file: String,
    pub started_utc: String,
    pub wall_seconds: f64,
    pub active_urls: usize,
    pub replicas: Vec<ReplicaSummary>,
    /// CPU of the rest of the machine while the run lasted (percent of one core).
    pub processes: BTreeMap<String, Cpu>,
    /// `GET /{short_code}` answered 302, summed over the replicas' `/metrics`.
    pub redirects_served: Option<f64>,
    /// 302s goose received (a request cut off at the end of the run may be served
    /// but not received).
    pub redirects_received: usize,
    /// Click events recorded since the run started: `X-Total-Count` of
    /// `GET /events?event_type=click`, after minus before.
    pub click_rows_api: Option<i64>,
    /// `SELECT count(*) FROM events WHERE event_type='click' AND timestamp >= start`.
    pub click_rows_db: Option<i64>,
    pub db_query: Option<String>,
    /// Transactions committed in the database under test, per second of the run
    /// (`pg_stat_database.xact_commit`, which PostgreSQL updates about once a
    /// second, so give or take one second's worth).
    pub commits_per_second: Option<f64>,
}

impl Summary {
    /// The click rows match the redirects served: by PostgreSQL when it was asked,
    /// otherwise by the API; against the replicas' counters, or against what goose
    /// received when no replica was watched.
    pub fn clicks_match(&self) -> bool {
        let rows = self.click_rows_db.or(self.click_rows_api);
        let served = self.redirects_served.unwrap_or(self.redirects_received as f64);
        rows.is_some_and(|rows| (rows as f64 - served).abs() < 0.5)
    }

    pub fn describe(&self) -> String {
        let mut out = String::from("loadtests: server side\n");
        for r in &self.replicas {
            out += &format!(
                "  {}: CPU {:.0}% mean, {:.0}% peak (5 s); RSS {:.1} MiB max; pool waiting max {}, \
                 size max {}/{}; in flight max {}; 5xx {}; cache hit ratio {}; clicks/batch {}\n",
                r.url,
                r.cpu_percent_mean,
                r.cpu_percent_peak_5s,
                r.rss_mib_max,
                r.pool_waiting_max,
                r.pool_size_max,
                r.pool_max,
                r.in_flight_max,
                r.errors_5xx,
                r.cache_hit_ratio.map_or("n/a".into(), |h| format!("{:.1}%", h * 100.0)),
                r.click_rows_per_batch.map_or("n/a".into(), |b| format!("{b:.1}")),
            );
        }
        for (name, cpu) in &self.processes {
            out += &format!(
                "  {name}: CPU {:.0}% mean, {:.0}% peak (5 s)\n",
                cpu.cpu_percent_mean, cpu.cpu_percent_peak_5s
            );
        }
        out += &format!(
            "  redirects: {} served (replicas' /metrics), {} received by goose; click rows: {} \
             (PostgreSQL), {} (API); match: {}\n  database commits/s: {}\n  summary: {}",
            self.redirects_served.map_or("?".into(), |v| format!("{v}")),
            self.redirects_received,
            self.click_rows_db.map_or("not asked".into(), |v| v.to_string()),
            self.click_rows_api.map_or("?".into(), |v| v.to_string()),
            if self.clicks_match() { "yes" } else { "NO" },
            self.commits_per_second.map_or("?".into(), |c| format!("{c:.0}")),
            self.scenario_file,
        );
        out
    }
}

/// The watcher of one run.
#[derive(Debug)]
pub struct Watch {
    host: String,
    stem: String,
    replicas: Vec<String>,
    client: reqwest::Client,
    started: Instant,
    started_utc: String,
    active_urls: usize,
    clicks_before: Option<i64>,
    commits_before: Option<i64>,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Vec<Snapshot>>>>,
    pids: Vec<u32>,
    host_samples: Arc<Mutex<Vec<(f64, Ticks)>>>,
    sampler: JoinHandle<()>,
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

async fn fetch_metrics(client: &reqwest::Client, base: &str) -> Option<String> {
    let response = client.get(format!("{base}/metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

async fn click_total(client: &reqwest::Client, host: &str) -> Option<i64> {
    let response =
        client.get(format!("{host}/events?event_type=click&per_page=1")).send().await.ok()?;
    response.headers().get("x-total-count")?.to_str().ok()?.parse().ok()
}

impl Watch {
    /// Loads the codes to redirect, counts the clicks so far, and starts sampling.
    pub async fn start(host: &str, stem: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let active_urls = mix::load_active_urls(host).await?;
        let replicas: Vec<String> = match std::env::var("LOADTEST_REPLICAS") {
            Ok(list) if !list.trim().is_empty() => {
                list.split(',').map(|r| r.trim().trim_end_matches('/').to_string()).collect()
            }
            _ if fetch_metrics(&client, host).await.is_some() => vec![host.to_string()],
            _ => {
                eprintln!(
                    "loadtests: {host}/metrics does not answer and LOADTEST_REPLICAS is unset: \
                     no server-side figures"
                );
                Vec::new()
            }
        };
        for replica in &replicas {
            if fetch_metrics(&client, replica).await.is_none() {
                return Err(format!("{replica}/metrics does not answer (LOADTEST_REPLICAS)"));
            }
        }
        // Start on a whole second, so `timestamp >= start` counts this run only.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
        tokio::time::sleep(
            Duration::from_secs(1) - Duration::from_nanos(now.subsec_nanos().into()),
        )
        .await;
        let started_utc = utc(now.as_secs() + 1);
        let pids: Vec<u32> = std::env::var("LOADTEST_REPLICA_PIDS")
            .unwrap_or_default()
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        let host_samples = Arc::new(Mutex::new(Vec::new()));
        let clicks_before = click_total(&client, host).await;
        let commits_before = commits();
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(vec![Vec::new(); replicas.len()]));
        let sampler = {
            let (client, replicas, stop, samples) =
                (client.clone(), replicas.clone(), stop.clone(), samples.clone());
            let (pids, host_samples) = (pids.clone(), host_samples.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let ticks = procs::sample(&pids);
                    host_samples.lock().await.push((started.elapsed().as_secs_f64(), ticks));
                    for (i, replica) in replicas.iter().enumerate() {
                        if let Some(text) = fetch_metrics(&client, replica).await {
                            let secs = started.elapsed().as_secs_f64();
                            samples.lock().await[i].push(Snapshot::from_text(&text, secs));
                        }
                    }
                }
            })
        };
        Ok(Watch {
            host: host.to_string(),
            stem: stem.to_string(),
            replicas,
            client,
            started,
            started_utc,
            active_urls,
            clicks_before,
            commits_before,
            stop,
            samples,
            pids,
            host_samples,
            sampler,
        })
    }

    /// Stops sampling once the clicks are flushed, counts, writes the summary.
    pub async fn finish(self, metrics: &GooseMetrics) -> Result<Summary, String> {
        // Every acknowledged click is committed before its redirect returns; the
        // pause covers requests goose cut off at the end of the run.
        tokio::time::sleep(Duration::from_secs(2)).await;
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.sampler.await;
        let wall_seconds = self.started.elapsed().as_secs_f64();
        let mut samples = self.samples.lock().await.clone();
        for (i, replica) in self.replicas.iter().enumerate() {
            if let Some(text) = fetch_metrics(&self.client, replica).await {
                samples[i].push(Snapshot::from_text(&text, wall_seconds));
            }
        }
        let mut host_samples = self.host_samples.lock().await.clone();
        host_samples.push((wall_seconds, procs::sample(&self.pids)));
        let mut replicas: Vec<ReplicaSummary> =
            self.replicas.iter().zip(&samples).filter_map(|(url, s)| summarise(url, s)).collect();
        let processes = apply_procs(&mut replicas, &self.pids, &host_samples);
        let redirects_served =
            (!replicas.is_empty()).then(|| replicas.iter().map(|r| r.redirects_302).sum());
        let redirects_received = metrics
            .requests
            .get(REDIRECT)
            .and_then(|r| r.status_code_counts.get(&302).copied())
            .unwrap_or(0);
        let click_rows_api = match (self.clicks_before, click_total(&self.client, &self.host).await)
        {
            (Some(before), Some(after)) => Some(after - before),
            _ => None,
        };
        let (click_rows_db, db_query) = match std::env::var("LOADTEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let query = format!(
                    "SELECT count(*) FROM events WHERE event_type = 'click' AND timestamp >= '{}'",
                    self.started_utc
                );
                (count_in_postgres(&url, &query)?, Some(query))
            }
            _ => (None, None),
        };
        let commits_per_second = match (self.commits_before, commits()) {
            (Some(before), Some(after)) => Some((after - before) as f64 / wall_seconds),
            _ => None,
        };
        let summary = Summary {
            commits_per_second,
            scenario_file: format!("{}.server.json", self.stem),
            started_utc: self.started_utc,
            wall_seconds,
            active_urls: self.active_urls,
            replicas,
            processes,
            redirects_served,
            redirects_received,
            click_rows_api,
            click_rows_db,
            db_query,
        };
        let body = serde_json::to_string_pretty(&json!(summary)).map_err(|e| e.to_string())?;
        if let Some(dir) = std::path::Path::new(&summary.scenario_file).parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&summary.scenario_file, body + "\n")
            .map_err(|e| format!("{}: {e}", summary.scenario_file))?;
        Ok(summary)
    }
}

/// `xact_commit` of the database under test, when `LOADTEST_DATABASE_URL` is set.
fn commits() -> Option<i64> {
    let url = std::env::var("LOADTEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
    let query = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";
    count_in_postgres(&url, query).ok().flatten()
}

fn count_in_postgres(url: &str, query: &str) -> Result<Option<i64>, String> {
    let output = std::process::Command::new("psql")
        .args([url, "-tAc", query])
        .output()
        .map_err(|e| format!("psql (for LOADTEST_DATABASE_URL): {e}"))?;
    if !output.status.success() {
        return Err(format!("psql: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().map(Some).map_err(|e| format!("psql answered '{}': {e}", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_braces_and_commas_parse() {
        let text = "# HELP x y\n\
            shortener_http_requests_total{method=\"GET\",route=\"/{short_code}\",status=\"302\"} 7\n\
            shortener_http_requests_total{method=\"GET\",route=\"/a,b\\\"c\",status=\"500\"} 2\n\
            process_cpu_seconds_total 1.5\n";
        let s = parse_metrics(text);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].labels["route"], "/{short_code}");
        assert_eq!(s[1].labels["route"], "/a,b\"c");
        let snap = Snapshot::from_text(text, 0.0);
        assert_eq!(snap.redirects_302, 7.0);
        assert_eq!(snap.errors_5xx, 2.0);
        assert_eq!(snap.requests, 9.0);
        assert_eq!(snap.cpu_seconds, 1.5);
    }

    #[test]
    fn utc_formats_like_postgres() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_758_320_705), "2025-09-19 22:25:05");
    }

    #[test]
    fn a_summary_over_samples() {
        let a = Snapshot { secs: 0.0, cpu_seconds: 1.0, cache_hit: 0.0, ..Default::default() };
        let b = Snapshot { secs: 10.0, cpu_seconds: 6.0, cache_hit: 9.0, cache_miss: 1.0, ..a };
        let r = summarise("r", &[a, b]).unwrap();
        assert!((r.cpu_percent_mean - 50.0).abs() < 1e-9);
        assert!((r.cpu_percent_peak_5s - 50.0).abs() < 1e-9);
        assert_eq!(r.cache_hit_ratio, Some(0.9));
    }
}
