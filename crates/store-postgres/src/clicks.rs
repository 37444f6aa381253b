//! Group commit of clicks. Redirects hand their click to one writer task and wait
//! for the batch that carries it: the writer takes every click queued since its
//! last batch and writes them with one statement. At rest a batch is a single
//! click (no added latency); under load one insert carries hundreds.
//!
//! Up to [`MAX_IN_FLIGHT`] inserts run at once (fewer on a small pool, see
//! [`in_flight_limit`]), each on its own connection. One
//! insert at a time capped the redirect rate at one batch per commit (a WAL
//! flush, about 4 ms on the benchmark machine, whatever the batch size);
//! concurrent commits share PostgreSQL's WAL flushes, so a few in flight carry
//! several times the clicks (see docs/capacity-plan.md, "Redirect hot path").
//!
//! When the database is unreachable, clicks move to a bounded backlog that the
//! writer retries every [`RETRY_INTERVAL`]; their redirects are answered at once
//! with `Unavailable` (the redirect itself is still served). Past the bound new
//! clicks are dropped and counted in `shortener_clicks_dropped_total`, as are
//! clicks the database refuses (a retry would be refused again).

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use diesel::sql_types::{Array, BigInt, Jsonb, Timestamp};
use diesel_async::RunQueryDsl;
use domain::ports::Result;
use domain::{Error, NewEvent};
use futures_util::FutureExt;
use prometheus::{
    Histogram, IntCounter, IntGauge, register_histogram, register_int_counter, register_int_gauge,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinError, JoinSet};

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;

use crate::error::{database_error, pool_error};

/// Most clicks in one insert (three array parameters, so no bind limit applies).
const MAX_BATCH: usize = 2000;
/// How often the backlog is retried while the database is unreachable.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Most batch inserts running at once (each holds one pooled connection).
const MAX_IN_FLIGHT: usize = 4;

/// How many inserts may run at once on a pool of `pool_size` connections: a
/// quarter of it at most, so that clicks never hold the connections redirect
/// lookups and writes need, and at least one.
fn in_flight_limit(pool_size: usize) -> usize {
    (pool_size / 4).clamp(1, MAX_IN_FLIGHT)
}

static QUEUE_DEPTH: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("shortener_click_queue_depth", "Clicks queued or buffered, not yet written")
        .expect("metric registers once")
});
static QUEUE_CAPACITY: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("shortener_click_queue_capacity", "Most clicks the queue and buffer hold")
        .expect("metric registers once")
});
static BATCH_SIZE: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "shortener_click_batch_size",
        "Clicks written per insert",
        vec![1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0]
    )
    .expect("metric registers once")
});
static FLUSH_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "shortener_click_flush_duration_seconds",
        "Time to write one batch of clicks",
        vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
    )
    .expect("metric registers once")
});
static DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "shortener_clicks_dropped_total",
        "Clicks lost: the buffer was full, or the database refused them"
    )
    .expect("metric registers once")
});

enum Command {
    Click(NewEvent, oneshot::Sender<Result<()>>),
    /// Answered once everything queued before it is written (or cannot be).
    Flush(oneshot::Sender<Result<()>>),
}

/// The handle redirects use; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ClickQueue {
    commands: mpsc::Sender<Command>,
}

impl ClickQueue {
    /// Starts the writer on the current tokio runtime, buffering up to `capacity`
    /// clicks in all (queued and backlog).
    /// The writer holds only the pool, so it ends once every handle is dropped.
    pub(crate) fn start(pool: Pool<AsyncPgConnection>, capacity: usize) -> Self {
        let (commands, receiver) = mpsc::channel(capacity.max(1));
        QUEUE_CAPACITY.set(i64::try_from(capacity).unwrap_or(i64::MAX));
        let max_in_flight = in_flight_limit(pool.status().max_size);
        let (backlog, inserts) = (VecDeque::new(), JoinSet::new());
        tokio::spawn(Writer { pool, receiver, backlog, capacity, inserts, max_in_flight }.run());
        Self { commands }
    }

    /// Queues `click` and waits until the batch carrying it is written.
    pub(crate) async fn record(&self, click: NewEvent) -> Result<()> {
        let (done, written) = oneshot::channel();
        if self.commands.try_send(Command::Click(click, done)).is_err() {
            DROPPED.inc();
            return Err(Error::Unavailable("the click buffer is full; click dropped".into()));
        }
        QUEUE_DEPTH.inc();
        written.await.unwrap_or_else(|_| Err(Error::Internal("the click writer stopped".into())))
    }

    /// Waits until every click queued before this call is written.
    pub(crate) async fn flush(&self) -> Result<()> {
        let (done, flushed) = oneshot::channel();
        self.commands
            .send(Command::Flush(done))
            .await
            .map_err(|_| Error::Internal("the click writer stopped".into()))?;
        flushed.await.unwrap_or_else(|_| Err(Error::Internal("the click writer stopped".into())))
    }
}

struct Writer {
    pool: Pool<AsyncPgConnection>,
    receiver: mpsc::Receiver<Command>,
    /// Clicks whose redirects were already answered, waiting for the database.
    backlog: VecDeque<NewEvent>,
    capacity: usize,
    /// Batch inserts under way; each answers its redirects itself and hands its
    /// clicks back, to be buffered if the database was unreachable.
    inserts: JoinSet<Settled>,
    max_in_flight: usize,
}

/// What a finished insert hands back: its outcome and its clicks.
type Settled = (Result<()>, Vec<NewEvent>);

impl Writer {
    async fn run(mut self) {
        loop {
            let first = if !self.backlog.is_empty() {
                // The database failed: back to one insert at a time, oldest first.
                self.settle_all().await;
                match tokio::time::timeout(RETRY_INTERVAL, self.receiver.recv()).await {
                    Ok(command) => command,
                    Err(_) => {
                        self.write_backlog().await;
                        continue;
                    }
                }
            } else if self.inserts.len() >= self.max_in_flight {
                // Clicks queue up meanwhile and make the next batch bigger.
                if let Some(settled) = self.inserts.join_next().await {
                    self.settle(settled);
                }
                continue;
            } else {
                tokio::select! {
                    Some(settled) = self.inserts.join_next() => {
                        self.settle(settled);
                        continue;
                    }
                    command = self.receiver.recv() => command,
                }
            };
            let Some(first) = first else {
                self.settle_all().await;
                self.write_backlog().await; // every handle is gone: last chance
                return;
            };
            let mut clicks = Vec::new();
            let mut flushes = Vec::new();
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Click(click, done) => clicks.push((click, done)),
                    Command::Flush(done) => flushes.push(done),
                }
                if clicks.len() < MAX_BATCH {
                    next = self.receiver.try_recv().ok();
                }
            }
            self.write(clicks).await;
            if !flushes.is_empty() {
                self.settle_all().await;
            }
            for done in flushes {
                let outcome = match self.backlog.len() {
                    0 => Ok(()),
                    n => Err(Error::Unavailable(format!("{n} clicks still wait for the database"))),
                };
                let _ = done.send(outcome);
            }
        }
    }

    /// Writes the backlog first (oldest clicks first), then starts the insert of
    /// `clicks`, which answers each waiting redirect when it is done.
    async fn write(&mut self, clicks: Vec<(NewEvent, oneshot::Sender<Result<()>>)>) {
        self.write_backlog().await;
        if clicks.is_empty() {
            return;
        }
        let (events, waiters): (Vec<_>, Vec<_>) = clicks.into_iter().unzip();
        if self.backlog.is_empty() {
            let pool = self.pool.clone();
            self.inserts.spawn(async move {
                // A panic becomes an error here, so that its clicks are counted as
                // dropped (a panicking task would take them with it, uncounted).
                let outcome = AssertUnwindSafe(insert(&pool, &events))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(Error::Internal("the click insert panicked".into())));
                QUEUE_DEPTH.sub(events.len() as i64);
                for waiter in waiters {
                    let _ = waiter.send(outcome.clone());
                }
                (outcome, events)
            });
            return;
        }
        // The backlog still waits for the database: these clicks queue behind it.
        QUEUE_DEPTH.sub(events.len() as i64);
        self.buffer(events);
        let outcome = Err(Error::Unavailable("the database is unreachable".into()));
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// Takes the result of a finished insert (its redirects were already told):
    /// clicks the database could not take go to the backlog; clicks it refused
    /// are dropped and counted, as retrying would fail the same way. Joining
    /// cannot fail: an insert task catches its panics and is never aborted.
    fn settle(&mut self, joined: std::result::Result<Settled, JoinError>) {
        let Ok((outcome, events)) = joined else { return };
        match outcome {
            Ok(()) => {}
            Err(Error::Unavailable(_)) => self.buffer(events),
            Err(_) => DROPPED.inc_by(events.len() as u64),
        }
    }

    /// Waits for every insert under way.
    async fn settle_all(&mut self) {
        while let Some(settled) = self.inserts.join_next().await {
            self.settle(settled);
        }
    }

    async fn write_backlog(&mut self) {
        while !self.backlog.is_empty() {
            let take = self.backlog.len().min(MAX_BATCH);
            let batch: Vec<NewEvent> = self.backlog.iter().take(take).cloned().collect();
            match insert(&self.pool, &batch).await {
                Ok(()) => {
                    self.backlog.drain(..take);
                    QUEUE_DEPTH.sub(take as i64);
                }
                Err(Error::Unavailable(_)) => return,
                // Not a connectivity problem: retrying would fail the same way.
                Err(_) => {
                    self.backlog.drain(..take);
                    QUEUE_DEPTH.sub(take as i64);
                    DROPPED.inc_by(take as u64);
                }
            }
        }
    }

    /// Keeps clicks for a later retry, dropping what does not fit the bound.
    fn buffer(&mut self, events: Vec<NewEvent>) {
        let room = self.capacity.saturating_sub(self.backlog.len());
        let kept = events.len().min(room);
        DROPPED.inc_by((events.len() - kept) as u64);
        QUEUE_DEPTH.add(kept as i64);
        self.backlog.extend(events.into_iter().take(kept));
    }
}

/// One statement for the whole batch. Each click is attributed to its URL's
/// owner as of now (a user deleted since the lookup leaves it unattributed).
async fn insert(pool: &Pool<AsyncPgConnection>, clicks: &[NewEvent]) -> Result<()> {
    let started = Instant::now();
    let url_ids: Vec<i64> = clicks.iter().map(|c| c.url_id.unwrap_or_default()).collect();
    let timestamps: Vec<_> = clicks.iter().map(|c| c.timestamp).collect();
    let details: Vec<Value> = clicks.iter().map(|c| Value::Object(c.details.clone())).collect();
    let mut conn = pool.get().await.map_err(pool_error)?;
    diesel::sql_query(
        "INSERT INTO events (url_id, user_id, event_type, timestamp, details) \
         SELECT c.url_id, u.user_id, 'click', c.at, c.details \
         FROM unnest($1, $2, $3) WITH ORDINALITY AS c(url_id, at, details, n) \
         JOIN urls u ON u.id = c.url_id ORDER BY c.n",
    )
    .bind::<Array<BigInt>, _>(&url_ids)
    .bind::<Array<Timestamp>, _>(&timestamps)
    .bind::<Array<Jsonb>, _>(&details)
    .execute(&mut conn)
    .await
    .map_err(database_error)?;
    BATCH_SIZE.observe(clicks.len() as f64);
    FLUSH_SECONDS.observe(started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_in_flight_take_at_most_a_quarter_of_the_pool() {
        assert_eq!(in_flight_limit(16), MAX_IN_FLIGHT, "the default pool");
        assert_eq!(in_flight_limit(64), MAX_IN_FLIGHT, "never more than the cap");
        assert_eq!(in_flight_limit(8), 2);
        assert_eq!(in_flight_limit(4), 1);
        assert_eq!(in_flight_limit(1), 1, "clicks are still written on a pool of one");
    }
}
