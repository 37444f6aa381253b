//! Steady mixed traffic through Nginx, as clients send it: mostly redirects of a
//! set of known codes, reads of those URLs, a list, and writes (new URLs, new
//! events). Every answer is recorded with its time, so a scenario can judge each
//! phase of its fault, and the audit knows every write and click acknowledged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::scenarios::Error;

/// How many URLs the redirects and reads go to.
const KNOWN_URLS: usize = 20;

/// What one request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Redirect,
    Read,
    List,
    CreateUrl,
    CreateEvent,
}

impl Op {
    /// One cycle of the traffic: half redirects, as on a real shortener.
    const MIX: [Op; 10] = [
        Op::Redirect,
        Op::Read,
        Op::Redirect,
        Op::CreateUrl,
        Op::Redirect,
        Op::List,
        Op::Redirect,
        Op::CreateEvent,
        Op::Redirect,
        Op::Read,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Redirect => "redirect",
            Op::Read => "read",
            Op::List => "list",
            Op::CreateUrl => "create-url",
            Op::CreateEvent => "create-event",
        }
    }

    /// A request that may be repeated without changing the outcome (Nginx retries
    /// only these once it has sent them). A redirect counts a click, but the
    /// client sees the same answer, so it counts as idempotent here as in HTTP.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Op::CreateUrl | Op::CreateEvent)
    }

    pub fn is_write(self) -> bool {
        !self.is_idempotent()
    }

    fn success(self) -> StatusCode {
        match self {
            Op::Redirect => StatusCode::FOUND,
            Op::Read | Op::List => StatusCode::OK,
            Op::CreateUrl | Op::CreateEvent => StatusCode::CREATED,
        }
    }
}

/// How a request ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Answered {
        status: u16,
        json_error: bool,
        retry_after: bool,
    },
    /// No HTTP answer: refused, reset, closed or timed out.
    Transport(String),
}

/// One request and its outcome.
#[derive(Debug, Clone)]
pub struct Sample {
    pub op: Op,
    /// When it was sent and when its answer (or error) came, since the traffic started.
    pub at: Duration,
    pub done: Duration,
    pub outcome: Outcome,
    /// The URL a redirect went to.
    pub url_id: Option<i64>,
    /// The id of what a write created (its 201 answer).
    pub created_id: Option<i64>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        let expected = self.op.success().as_u16();
        matches!(self.outcome, Outcome::Answered { status, .. } if status == expected)
    }

    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Answered { status, .. } => Some(status),
            Outcome::Transport(_) => None,
        }
    }

    /// A 503 the way the contract wants it: a JSON error with `Retry-After`.
    pub fn is_polite_503(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Answered { status: 503, json_error: true, retry_after: true }
        )
    }

    /// A short name of the outcome, for the counts: `302`, `503`, `transport: ...`.
    pub fn kind(&self) -> String {
        match &self.outcome {
            Outcome::Answered { status, .. } => status.to_string(),
            Outcome::Transport(why) => format!("transport: {why}"),
        }
    }
}

/// The client side: known URLs to redirect to, and the traffic loop.
#[derive(Debug, Clone)]
pub struct Workload {
    client: Client,
    base: String,
    /// (id, short code) of the known URLs.
    known: Arc<Vec<(i64, String)>>,
}

impl Workload {
    /// Creates the known URLs and follows each once, so they are in the cache.
    /// Returns the samples of that warm-up: its clicks are acknowledged too.
    pub async fn prepare(base: String) -> Result<(Self, Vec<Sample>), Error> {
        let client = local_client()?;
        let mut known = Vec::with_capacity(KNOWN_URLS);
        for n in 0..KNOWN_URLS {
            let body = json!({"original_url": format!("https://example.com/chaos/known/{n}")});
            let response = client.post(format!("{base}/urls")).json(&body).send().await?;
            if response.status() != StatusCode::CREATED {
                return Err(format!("creating a known URL answered {}", response.status()).into());
            }
            let url: Value = response.json().await?;
            let id = url["id"].as_i64().ok_or("a created URL without an id")?;
            let code = url["short_code"].as_str().ok_or("a created URL without a code")?;
            known.push((id, code.to_owned()));
        }
        let workload = Self { client, base, known: Arc::new(known) };
        let started = Instant::now();
        let mut warm_up = Vec::with_capacity(KNOWN_URLS);
        for n in 0..KNOWN_URLS {
            let sample = workload.perform(Op::Redirect, n, started).await;
            if !sample.ok() {
                return Err(
                    format!("warming the cache: a redirect answered {}", sample.kind()).into()
                );
            }
            warm_up.push(sample);
        }
        Ok((workload, warm_up))
    }

    /// Sends `rate` requests a second, each in its own task, until `stop` turns
    /// true; then waits for the ones in flight and returns every sample.
    /// Sample times count from `started`.
    pub async fn drive(
        self,
        rate: u32,
        started: Instant,
        mut stop: watch::Receiver<bool>,
    ) -> Vec<Sample> {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for n in 0usize.. {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
            let op = Op::MIX[n % Op::MIX.len()];
            let (workload, sender) = (self.clone(), sender.clone());
            tokio::spawn(async move {
                let _ = sender.send(workload.perform(op, n, started).await);
            });
        }
        drop(sender);
        let mut samples = Vec::new();
        while let Some(sample) = receiver.recv().await {
            samples.push(sample);
        }
        samples.sort_by_key(|s| s.at);
        samples
    }

    async fn perform(&self, op: Op, n: usize, started: Instant) -> Sample {
        let at = started.elapsed();
        let (id, code) = &self.known[n % self.known.len()];
        let request = match op {
            Op::Redirect => self.client.get(format!("{}/{code}", self.base)),
            Op::Read => self.client.get(format!("{}/urls/{id}", self.base)),
            Op::List => self.client.get(format!("{}/urls?per_page=5", self.base)),
            Op::CreateUrl => self
                .client
                .post(format!("{}/urls", self.base))
                .json(&json!({"original_url": format!("https://example.com/chaos/{n}")})),
            Op::CreateEvent => self.client.post(format!("{}/events", self.base)).json(&json!({
                "event_type": "chaos", "url_id": id, "details": {"n": n}
            })),
        };
        let (outcome, created_id) = match request.send().await {
            Err(error) => (Outcome::Transport(describe(&error)), None),
            Ok(response) => {
                let status = response.status();
                let retry_after = response.headers().contains_key(header::RETRY_AFTER);
                let body: Option<Value> = response.json().await.ok();
                let json_error = body.as_ref().is_some_and(|b| b["error"].is_string());
                let created_id = (status == StatusCode::CREATED)
                    .then(|| body.as_ref().and_then(|b| b["id"].as_i64()))
                    .flatten();
                (Outcome::Answered { status: status.as_u16(), json_error, retry_after }, created_id)
            }
        };
        let url_id = (op == Op::Redirect).then_some(*id);
        Sample { op, at, done: started.elapsed(), outcome, url_id, created_id }
    }
}

/// A client for the stack on loopback: no proxy, redirects not followed, and a
/// new connection per request. The rolling restart takes a replica out with an
/// Nginx reload, and a reloading Nginx closes its idle keep-alive connections to
/// clients; a POST written on one at that instant is lost in a way HTTP/1.1 gives
/// no client a means to tell apart from a failure. That race belongs to the
/// client's connection pool, not to the replicas these tests judge (see
/// docs/reliability.md).
pub fn local_client() -> Result<Client, Error> {
    Ok(Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// The innermost cause of a transport error ("connection refused", "operation
/// timed out"), which names what happened better than the outer wrappers.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".into();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}
