//! The audit: is every acknowledged write and click in PostgreSQL? A 201 names
//! the row it created; a 302 promises one click row of its URL. Clicks buffered
//! during an outage may land a little later, so the audit waits for them (up to
//! a bound) before it calls anything lost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use crate::scenarios::Error;
use crate::traffic::{Op, Sample};

/// What the client was promised.
#[derive(Debug, Default)]
pub struct Ledger {
    urls: Vec<i64>,
    events: Vec<i64>,
    /// Acknowledged clicks (302 answers) per URL id.
    clicks: BTreeMap<i64, i64>,
}

impl Ledger {
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut ledger = Self::default();
        for sample in samples.into_iter().filter(|s| s.ok()) {
            match (sample.op, sample.created_id, sample.url_id) {
                (Op::CreateUrl, Some(id), _) => ledger.urls.push(id),
                (Op::CreateEvent, Some(id), _) => ledger.events.push(id),
                (Op::Redirect, _, Some(url)) => *ledger.clicks.entry(url).or_default() += 1,
                _ => {}
            }
        }
        ledger
    }
}

/// What the database holds of the ledger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Audit {
    pub urls_acknowledged: usize,
    pub events_acknowledged: usize,
    pub clicks_acknowledged: i64,
    pub lost_urls: usize,
    pub lost_events: usize,
    pub lost_clicks: i64,
    /// Click rows beyond the 302s: requests that recorded a click but whose
    /// answer never reached the client (a retried redirect, a killed replica).
    pub extra_clicks: i64,
}

impl Audit {
    pub fn lost_anything(&self) -> bool {
        self.lost_urls + self.lost_events > 0 || self.lost_clicks > 0
    }
}

/// Audits `ledger` against the database, waiting up to `settle` for clicks that
/// are still on their way.
pub async fn audit(database_url: &str, ledger: &Ledger, settle: Duration) -> Result<Audit, Error> {
    let (client, connection) = tokio_postgres::connect(database_url, NoTls).await?;
    tokio::spawn(connection);
    let deadline = Instant::now() + settle;
    loop {
        let audit = count(&client, ledger).await?;
        if !audit.lost_anything() || Instant::now() >= deadline {
            return Ok(audit);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn count(client: &tokio_postgres::Client, ledger: &Ledger) -> Result<Audit, Error> {
    let found = |table: &'static str, ids: &[i64]| {
        let query = format!("SELECT count(*) FROM {table} WHERE id = ANY($1)");
        let ids = ids.to_vec();
        async move { client.query_one(&query, &[&ids]).await.map(|row| row.get::<_, i64>(0)) }
    };
    let urls = found("urls", &ledger.urls).await?;
    let events = found("events", &ledger.events).await?;
    let url_ids: Vec<i64> = ledger.clicks.keys().copied().collect();
    let rows = client
        .query(
            "SELECT url_id, count(*) FROM events \
             WHERE event_type = 'click' AND url_id = ANY($1) GROUP BY url_id",
            &[&url_ids],
        )
        .await?;
    let in_database: BTreeMap<i64, i64> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let mut audit = Audit {
        urls_acknowledged: ledger.urls.len(),
        events_acknowledged: ledger.events.len(),
        clicks_acknowledged: ledger.clicks.values().sum(),
        lost_urls: ledger.urls.len() - usize::try_from(urls)?,
        lost_events: ledger.events.len() - usize::try_from(events)?,
        ..Audit::default()
    };
    for (url, acknowledged) in &ledger.clicks {
        let stored = in_database.get(url).copied().unwrap_or(0);
        audit.lost_clicks += (acknowledged - stored).max(0);
        audit.extra_clicks += (stored - acknowledged).max(0);
    }
    Ok(audit)
}
