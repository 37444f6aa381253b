//! The reference-data loader behind `shortener seed`: the platform's three CSV
//! files (`users.csv`, `urls.csv`, `events.csv`) into an empty database, every id
//! kept.
//!
//! The files are messy as real data is: a few usernames repeat with other ids. The
//! first (lowest id) user of a username survives, later ones are dropped, and the
//! URLs and events that pointed at a dropped id point at the survivor instead.
//! Everything is checked before the database is touched, then written in one
//! transaction, so a load either happens whole or not at all. Afterwards every id
//! sequence continues after the largest loaded id.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamp};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::import::parse_timestamp;
use domain::{Email, EventType, ShortCode, TargetUrl, Title, Username};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Failure;
use crate::import::continue_ids_after_max;
use crate::store::PgStore;

/// Where the three reference files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedFiles {
    pub users: PathBuf,
    pub urls: PathBuf,
    pub events: PathBuf,
}

impl SeedFiles {
    /// `users.csv`, `urls.csv` and `events.csv` inside `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            users: dir.join("users.csv"),
            urls: dir.join("urls.csv"),
            events: dir.join("events.csv"),
        }
    }
}

/// What a load did, printed by `shortener seed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Users written (the survivors).
    pub users: u64,
    /// Users dropped because an earlier user had their username.
    pub duplicate_users: u64,
    pub urls: u64,
    /// URLs whose `user_id` was moved from a dropped user to the survivor.
    pub urls_remapped: u64,
    pub events: u64,
    /// Events whose `user_id` was moved from a dropped user to the survivor.
    pub events_remapped: u64,
    /// Whether existing rows were deleted first (`force`).
    pub replaced_existing: bool,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replaced_existing {
            writeln!(f, "replaced the previous users, URLs and events")?;
        }
        writeln!(
            f,
            "users:  {} loaded, {} with a repeated username dropped",
            self.users, self.duplicate_users
        )?;
        writeln!(
            f,
            "urls:   {} loaded, {} moved from a dropped user to its survivor",
            self.urls, self.urls_remapped
        )?;
        write!(
            f,
            "events: {} loaded, {} moved from a dropped user to its survivor",
            self.events, self.events_remapped
        )
    }
}

/// Why nothing was loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: csv::Error },
    #[error("{path}, line {line}: {reason}")]
    InvalidRow { path: PathBuf, line: u64, reason: String },
    #[error(
        "the database already holds {users} users, {urls} URLs and {events} events; \
         seed loads into an empty database only (force replaces the contents)"
    )]
    NotEmpty { users: u64, urls: u64, events: u64 },
    #[error("writing the reference data failed: {0}")]
    Store(domain::Error),
}

/// Loads the reference data of `files` through `store`'s pool.
///
/// Into an empty database only, unless `force`: then all users, URLs and events
/// are deleted (with their id sequences restarted) and the reference data takes
/// their place, in the same transaction, so a failed load leaves the old contents.
pub async fn load_reference_data(
    store: &PgStore,
    files: &SeedFiles,
    force: bool,
) -> Result<SeedReport, SeedError> {
    let files = files.clone();
    let data = tokio::task::spawn_blocking(move || ReferenceData::read(&files))
        .await
        .map_err(|error| SeedError::Store(domain::Error::Internal(error.to_string())))??;
    let mut conn = store.connection().await.map_err(SeedError::Store)?;
    let report = data.report.clone();
    let replaced =
        conn.transaction(async |conn| data.write(conn, force).await).await.map_err(|failure| {
            match failure {
                SeedFailure::NotEmpty(error) => error,
                SeedFailure::Database(failure) => SeedError::Store(failure.into()),
            }
        })?;
    Ok(SeedReport { replaced_existing: replaced, ..report })
}

/// A failure inside the loading transaction (either rolls it back).
enum SeedFailure {
    NotEmpty(SeedError),
    Database(Failure),
}

impl From<diesel::result::Error> for SeedFailure {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(Failure::Database(error))
    }
}

#[derive(Debug, Deserialize)]
struct UserRecord {
    id: i64,
    username: String,
    email: String,
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct UrlRecord {
    id: i64,
    user_id: Option<i64>,
    short_code: String,
    original_url: String,
    title: Option<String>,
    is_active: String,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Deserialize)]
struct EventRecord {
    id: i64,
    url_id: Option<i64>,
    user_id: Option<i64>,
    event_type: String,
    timestamp: String,
    details: String,
}

/// The three files, checked and de-duplicated, as columns ready to bind.
#[derive(Debug, Default)]
struct ReferenceData {
    users: UserColumns,
    urls: UrlColumns,
    events: EventColumns,
    report: SeedReport,
}

#[derive(Debug, Default)]
struct UserColumns {
    id: Vec<i64>,
    username: Vec<String>,
    email: Vec<String>,
    email_key: Vec<String>,
    created_at: Vec<NaiveDateTime>,
}

#[derive(Debug, Default)]
struct UrlColumns {
    id: Vec<i64>,
    user_id: Vec<Option<i64>>,
    short_code: Vec<String>,
    original_url: Vec<String>,
    title: Vec<Option<String>>,
    is_active: Vec<bool>,
    created_at: Vec<NaiveDateTime>,
    updated_at: Vec<NaiveDateTime>,
}

#[derive(Debug, Default)]
struct EventColumns {
    id: Vec<i64>,
    url_id: Vec<Option<i64>>,
    user_id: Vec<Option<i64>>,
    event_type: Vec<String>,
    timestamp: Vec<NaiveDateTime>,
    details: Vec<Value>,
}

/// Reads every row of a CSV file with its line number; fields are trimmed.
fn read_rows<T: DeserializeOwned>(path: &Path) -> Result<Vec<(u64, T)>, SeedError> {
    let read_error = |source| SeedError::Read { path: path.to_owned(), source };
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).map_err(read_error)?;
    let headers = reader.headers().map_err(read_error)?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(read_error)?;
        let line = record.position().map_or(0, csv::Position::line);
        let row = record.deserialize(Some(&headers)).map_err(|error| SeedError::InvalidRow {
            path: path.to_owned(),
            line,
            reason: error.to_string(),
        })?;
        rows.push((line, row));
    }
    Ok(rows)
}

/// The value, or the refusal as an error of row `line` of `path`.
fn check<T>(result: Result<T, String>, path: &Path, line: u64) -> Result<T, SeedError> {
    result.map_err(|reason| SeedError::InvalidRow { path: path.to_owned(), line, reason })
}

fn timestamp(field: &str, raw: &str) -> Result<NaiveDateTime, String> {
    parse_timestamp(raw)
        .ok_or_else(|| format!("{field}: not a timestamp like 2024-01-31 23:59:59: {raw:?}"))
}

fn boolean(field: &str, raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{field}: must be True or False, got {raw:?}")),
    }
}

impl ReferenceData {
    fn read(files: &SeedFiles) -> Result<Self, SeedError> {
        let mut data = Self::default();
        // Survivor of each username, and where each dropped id now points.
        let mut survivors = HashMap::<String, i64>::new();
        let mut moved = HashMap::<i64, i64>::new();
        let mut email_holders = HashMap::<String, i64>::new();

        let mut users = read_rows::<UserRecord>(&files.users)?;
        // The lowest id of a username survives, whatever the order of the file.
        users.sort_by_key(|(_, user)| user.id);
        let mut seen_ids = HashSet::new();
        for (line, user) in users {
            let path = &files.users;
            if !seen_ids.insert(user.id) {
                return check(Err(format!("id: {} appears twice", user.id)), path, line);
            }
            let username = check(named("username", Username::parse(&user.username)), path, line)?;
            let email = check(named("email", Email::parse(&user.email)), path, line)?;
            let created_at = check(timestamp("created_at", &user.created_at), path, line)?;
            if let Some(&survivor) = survivors.get(username.as_str()) {
                moved.insert(user.id, survivor);
                data.report.duplicate_users += 1;
                continue;
            }
            if let Some(holder) = email_holders.insert(email.key(), user.id) {
                let reason = format!("email: {} is already user {holder}'s", email.as_str());
                return check(Err(reason), path, line);
            }
            survivors.insert(username.as_str().to_owned(), user.id);
            let columns = &mut data.users;
            columns.id.push(user.id);
            columns.username.push(username.as_str().to_owned());
            columns.email.push(email.as_str().to_owned());
            columns.email_key.push(email.key());
            columns.created_at.push(created_at);
        }
        data.report.users = data.users.id.len() as u64;

        // A user id as the database will hold it: a dropped duplicate's is moved to
        // its survivor; an id in no row of users.csv is an error.
        let user_ids: HashSet<i64> = data.users.id.iter().copied().collect();
        let resolve_user = |id: Option<i64>, remapped: &mut u64| -> Result<Option<i64>, String> {
            match id {
                None => Ok(None),
                Some(id) if user_ids.contains(&id) => Ok(Some(id)),
                Some(id) => match moved.get(&id) {
                    Some(&survivor) => {
                        *remapped += 1;
                        Ok(Some(survivor))
                    }
                    None => Err(format!("user_id: no user {id} in the users file")),
                },
            }
        };

        let mut seen_codes = HashSet::new();
        let mut url_ids = HashSet::new();
        for (line, url) in read_rows::<UrlRecord>(&files.urls)? {
            let path = &files.urls;
            if !url_ids.insert(url.id) {
                return check(Err(format!("id: {} appears twice", url.id)), path, line);
            }
            let user_id =
                check(resolve_user(url.user_id, &mut data.report.urls_remapped), path, line)?;
            let code = check(named("short_code", ShortCode::parse(&url.short_code)), path, line)?;
            if !seen_codes.insert(code.as_str().to_owned()) {
                return check(Err(format!("short_code: {code} appears twice")), path, line);
            }
            let target =
                check(named("original_url", TargetUrl::parse(&url.original_url)), path, line)?;
            let title = match url.title.filter(|t| !t.is_empty()) {
                None => None,
                Some(raw) => Some(check(named("title", Title::parse(&raw)), path, line)?),
            };
            let columns = &mut data.urls;
            columns.id.push(url.id);
            columns.user_id.push(user_id);
            columns.short_code.push(code.as_str().to_owned());
            columns.original_url.push(target.as_str().to_owned());
            columns.title.push(title.map(|t| t.as_str().to_owned()));
            columns.is_active.push(check(boolean("is_active", &url.is_active), path, line)?);
            columns.created_at.push(check(timestamp("created_at", &url.created_at), path, line)?);
            columns.updated_at.push(check(timestamp("updated_at", &url.updated_at), path, line)?);
        }
        data.report.urls = data.urls.id.len() as u64;

        let mut event_ids = HashSet::new();
        for (line, event) in read_rows::<EventRecord>(&files.events)? {
            let path = &files.events;
            if !event_ids.insert(event.id) {
                return check(Err(format!("id: {} appears twice", event.id)), path, line);
            }
            if let Some(url_id) = event.url_id.filter(|id| !url_ids.contains(id)) {
                return check(Err(format!("url_id: no URL {url_id} in the urls file")), path, line);
            }
            let user_id =
                check(resolve_user(event.user_id, &mut data.report.events_remapped), path, line)?;
            let event_type =
                check(named("event_type", EventType::parse(&event.event_type)), path, line)?;
            let details = match serde_json::from_str::<Value>(&event.details) {
                Ok(details @ Value::Object(_)) => details,
                Ok(_) => return check(Err("details: must be a JSON object".into()), path, line),
                Err(error) => {
                    return check(Err(format!("details: not JSON ({error})")), path, line);
                }
            };
            let columns = &mut data.events;
            columns.id.push(event.id);
            columns.url_id.push(event.url_id);
            columns.user_id.push(user_id);
            columns.event_type.push(event_type.as_str().to_owned());
            columns.timestamp.push(check(timestamp("timestamp", &event.timestamp), path, line)?);
            columns.details.push(details);
        }
        data.report.events = data.events.id.len() as u64;
        Ok(data)
    }

    /// Writes everything inside the caller's transaction; `true` when existing
    /// rows were replaced.
    async fn write(&self, conn: &mut AsyncPgConnection, force: bool) -> Result<bool, SeedFailure> {
        // Nobody else writes while we check for emptiness and load; with `force`
        // nobody reads the half-replaced tables either.
        let mode = if force { "ACCESS EXCLUSIVE" } else { "EXCLUSIVE" };
        diesel::sql_query(format!("LOCK TABLE users, urls, events IN {mode} MODE"))
            .execute(conn)
            .await?;
        let (users, urls, events) = row_counts(conn).await?;
        let replaced = users + urls + events > 0;
        if replaced && !force {
            return Err(SeedFailure::NotEmpty(SeedError::NotEmpty { users, urls, events }));
        }
        if replaced {
            // The totals too, in the same statement: a list reading in a snapshot
            // from before the load then finds the old totals gone with the old
            // rows (TRUNCATE is not MVCC-safe), not the one without the other.
            diesel::sql_query("TRUNCATE events, urls, users, list_totals RESTART IDENTITY")
                .execute(conn)
                .await?;
        }
        let users = &self.users;
        diesel::sql_query(
            "INSERT INTO users (id, username, email, email_key, created_at) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], \
                                  $5::timestamp[])",
        )
        .bind::<Array<BigInt>, _>(&users.id)
        .bind::<Array<Text>, _>(&users.username)
        .bind::<Array<Text>, _>(&users.email)
        .bind::<Array<Text>, _>(&users.email_key)
        .bind::<Array<Timestamp>, _>(&users.created_at)
        .execute(conn)
        .await?;
        let urls = &self.urls;
        diesel::sql_query(
            "INSERT INTO urls (id, user_id, short_code, original_url, title, is_active, \
                               created_at, updated_at) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
                                  $5::text[], $6::boolean[], $7::timestamp[], $8::timestamp[])",
        )
        .bind::<Array<BigInt>, _>(&urls.id)
        .bind::<Array<Nullable<BigInt>>, _>(&urls.user_id)
        .bind::<Array<Text>, _>(&urls.short_code)
        .bind::<Array<Text>, _>(&urls.original_url)
        .bind::<Array<Nullable<Text>>, _>(&urls.title)
        .bind::<Array<Bool>, _>(&urls.is_active)
        .bind::<Array<Timestamp>, _>(&urls.created_at)
        .bind::<Array<Timestamp>, _>(&urls.updated_at)
        .execute(conn)
        .await?;
        let events = &self.events;
        diesel::sql_query(
            "INSERT INTO events (id, url_id, user_id, event_type, timestamp, details) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], \
                                  $5::timestamp[], $6::jsonb[])",
        )
        .bind::<Array<BigInt>, _>(&events.id)
        .bind::<Array<Nullable<BigInt>>, _>(&events.url_id)
        .bind::<Array<Nullable<BigInt>>, _>(&events.user_id)
        .bind::<Array<Text>, _>(&events.event_type)
        .bind::<Array<Timestamp>, _>(&events.timestamp)
        .bind::<Array<Jsonb>, _>(&events.details)
        .execute(conn)
        .await?;
        for table in ["users", "urls", "events"] {
            continue_ids_after_max(conn, table).await?;
        }
        // Give the planner the loaded tables' statistics, as after any bulk load:
        // autovacuum would in time, but where it is off or slow to start, the plans
        // made for empty tables (sequential scans, one-row estimates) would stay.
        // In the transaction, so that a load that is reported done is analysed.
        diesel::sql_query("ANALYZE users, urls, events").execute(conn).await?;
        Ok(replaced)
    }
}

/// A value refusal (which says only why) naming its field.
fn named<T>(field: &str, result: Result<T, String>) -> Result<T, String> {
    result.map_err(|why| format!("{field}: {why}"))
}

async fn row_counts(conn: &mut AsyncPgConnection) -> diesel::QueryResult<(u64, u64, u64)> {
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        users: i64,
        #[diesel(sql_type = BigInt)]
        urls: i64,
        #[diesel(sql_type = BigInt)]
        events: i64,
    }
    let counts: Counts = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM urls) AS urls, \
                (SELECT COUNT(*) FROM events) AS events",
    )
    .get_result(conn)
    .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok((count(counts.users), count(counts.urls), count(counts.events)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_as_a_summary() {
        let report = SeedReport {
            users: 397,
            duplicate_users: 3,
            urls: 2000,
            urls_remapped: 21,
            events: 3422,
            events_remapped: 37,
            replaced_existing: false,
        };
        let shown = report.to_string();
        assert!(shown.starts_with("users:  397 loaded, 3 with a repeated username dropped"));
        assert!(shown.contains("urls:   2000 loaded, 21 moved"));
        assert!(shown.contains("events: 3422 loaded, 37 moved"));
    }
}
