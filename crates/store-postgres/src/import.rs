//! Bulk import of users: one transaction and a constant number of statements per
//! batch, whatever its size.
//!
//! The rules of `UserRepository::import_users` are sequential (a row sees the rows
//! before it), so the batch is decided in memory against the rows it could clash
//! with, read in one query under a table lock, and then written with two
//! array-bound `INSERT ... SELECT FROM unnest(...)` statements. Binding whole
//! columns as arrays keeps five parameters per statement, far from PostgreSQL's
//! 65 535 limit however large the batch.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Array, BigInt, Text, Timestamp};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::import::{ImportRejection, ImportUser};
use domain::ports::Result;

use crate::error::database_error;
use crate::schema::users;

/// Why a row whose e-mail another user holds is refused (as the memory store says).
const EMAIL_TAKEN: &str = "email: already exists";

pub(crate) async fn import_batch(
    conn: &mut AsyncPgConnection,
    batch: Vec<ImportUser>,
) -> Result<Vec<ImportRejection>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    conn.transaction(async |conn| {
        // Blocks every other writer of `users` (and other imports) until commit,
        // so the clashes read below stay true while the batch is written. Readers
        // are not blocked; a batch of thousands of rows holds it for milliseconds.
        diesel::sql_query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE").execute(conn).await?;
        if all_new_with_ids(&batch) && insert_all_or_nothing(conn, &batch).await? {
            continue_ids_after_max(conn, "users").await?;
            return Ok(Vec::new());
        }
        // Plan the clash query below for this batch's arrays and the table as it
        // is now. Left to the prepared statement's cached generic plan, it was
        // planned while the table was empty (a fresh database, right after a
        // TRUNCATE): a sequential scan comparing every row with every element of
        // the three arrays, so each batch cost O(table x batch) and 100,000 rows
        // took minutes. A custom plan sees the arrays as constants: index scans
        // (or a hashed filter while the table is small).
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(conn).await?;
        let names: Vec<&str> = batch.iter().map(|row| row.username.as_str()).collect();
        let keys: Vec<String> = batch.iter().map(|row| row.email.key()).collect();
        let ids: Vec<i64> = batch.iter().filter_map(|row| row.id).collect();
        let clashes: Vec<(i64, String, String)> = users::table
            .filter(
                users::username
                    .eq_any(&names)
                    .or(users::email_key.eq_any(&keys))
                    .or(users::id.eq_any(&ids)),
            )
            .select((users::id, users::username, users::email_key))
            .load(conn)
            .await?;
        let plan = ImportPlan::decide(clashes, batch);
        insert_users(conn, &plan.keeping_id, true).await?;
        // Before the rows without an id take theirs from the sequence: it must be
        // past every id just kept.
        continue_ids_after_max(conn, "users").await?;
        insert_users(conn, &plan.fresh_id, false).await?;
        diesel::QueryResult::Ok(plan.rejections)
    })
    .await
    .map_err(database_error)
}

/// Whether the import rules, against an empty table, would keep every row of
/// `batch` with the id it carries: each row has an id, and no two rows share an
/// id, a username or an e-mail key.
fn all_new_with_ids(batch: &[ImportUser]) -> bool {
    let mut ids = HashSet::with_capacity(batch.len());
    let mut names = HashSet::with_capacity(batch.len());
    let mut keys = HashSet::with_capacity(batch.len());
    batch.iter().all(|row| {
        row.id.is_some_and(|id| ids.insert(id))
            && names.insert(row.username.as_str())
            && keys.insert(row.email.key())
    })
}

/// The fast path of a batch of new users (the common case, and every file that
/// is imported once), which skips the clash query: inserts all of `rows` with
/// their ids, or none of them if any shares an id, a username or an e-mail key
/// with a user already there (then it answers `false` and the caller takes the
/// general path). When every row goes in, no row clashes with the table, so the
/// clash query would have found nothing and [`ImportPlan::decide`] would have
/// kept every row with its id (see [`all_new_with_ids`]): the outcome is the
/// general path's. No sequence is touched before the outcome is known, so a
/// rolled-back attempt leaves no gap in the ids.
async fn insert_all_or_nothing(
    conn: &mut AsyncPgConnection,
    rows: &[ImportUser],
) -> QueryResult<bool> {
    // Nested in the batch's transaction: a savepoint, rolled back on failure. A
    // plain insert, not ON CONFLICT DO NOTHING: its speculative insertion probes
    // every unique index once more per row, which cost more than the clash query.
    // No two rows of `rows` clash with each other, so a unique violation can only
    // be a clash with the table.
    let attempt = conn.transaction(async |conn| insert_users(conn, rows, true).await).await;
    match attempt {
        Ok(()) => Ok(true),
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// What to do with each row of a batch.
#[derive(Debug, Default)]
struct ImportPlan {
    /// New users that keep the id their row carries.
    keeping_id: Vec<ImportUser>,
    /// New users that get an id from the sequence.
    fresh_id: Vec<ImportUser>,
    rejections: Vec<ImportRejection>,
}

impl ImportPlan {
    /// Applies the import rules row by row, in order, against the existing users
    /// that share a username, an e-mail key or an id with the batch.
    fn decide(existing: Vec<(i64, String, String)>, batch: Vec<ImportUser>) -> Self {
        let mut names = HashSet::new();
        let mut keys = HashSet::new();
        let mut ids = HashSet::new();
        for (id, username, email_key) in existing {
            ids.insert(id);
            names.insert(username);
            keys.insert(email_key);
        }
        let mut plan = Self::default();
        for row in batch {
            if names.contains(row.username.as_str()) {
                continue; // Already here: accepted, nothing changes.
            }
            if !keys.insert(row.email.key()) {
                plan.rejections
                    .push(ImportRejection { line: row.line, reason: EMAIL_TAKEN.into() });
                continue;
            }
            names.insert(row.username.as_str().to_owned());
            match row.id {
                Some(id) if ids.insert(id) => plan.keeping_id.push(row),
                _ => plan.fresh_id.push(ImportUser { id: None, ..row }),
            }
        }
        plan
    }
}

/// Inserts `rows` in one statement, with their ids when `with_ids`.
async fn insert_users(
    conn: &mut AsyncPgConnection,
    rows: &[ImportUser],
    with_ids: bool,
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = rows.iter().map(|row| row.username.as_str()).collect();
    let emails: Vec<&str> = rows.iter().map(|row| row.email.as_str()).collect();
    let keys: Vec<String> = rows.iter().map(|row| row.email.key()).collect();
    let created: Vec<NaiveDateTime> = rows.iter().map(|row| row.created_at).collect();
    if with_ids {
        let ids: Vec<i64> = rows.iter().filter_map(|row| row.id).collect();
        diesel::sql_query(
            "INSERT INTO users (id, username, email, email_key, created_at) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], \
                                  $5::timestamp[])",
        )
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Array<Text>, _>(names)
        .bind::<Array<Text>, _>(emails)
        .bind::<Array<Text>, _>(keys)
        .bind::<Array<Timestamp>, _>(created)
        .execute(conn)
        .await?;
    } else {
        diesel::sql_query(
            "INSERT INTO users (username, email, email_key, created_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamp[])",
        )
        .bind::<Array<Text>, _>(names)
        .bind::<Array<Text>, _>(emails)
        .bind::<Array<Text>, _>(keys)
        .bind::<Array<Timestamp>, _>(created)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Moves the id sequence of `table` (one of ours, never user input) past the
/// largest id in it, never backwards, so the next default id is free.
pub(crate) async fn continue_ids_after_max(
    conn: &mut AsyncPgConnection,
    table: &'static str,
) -> QueryResult<()> {
    // `last_value` is where the sequence stands; a fresh sequence has last_value 1
    // and is_called false, and setval(m) with the default is_called = true makes
    // the next value m + 1 in every case.
    let sql = format!(
        "SELECT setval('{table}_id_seq', m) FROM (SELECT MAX(id) AS m FROM {table}) AS t \
         WHERE m IS NOT NULL AND m >= (SELECT last_value FROM {table}_id_seq)"
    );
    diesel::sql_query(sql).execute(conn).await.map(drop)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use domain::{Email, Username};

    use super::*;

    fn row(line: u64, id: Option<i64>, name: &str, email: &str) -> ImportUser {
        let created_at = NaiveDate::from_ymd_opt(2025, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("a valid date");
        ImportUser {
            line,
            id,
            username: Username::parse(name).expect("test username"),
            email: Email::parse(email).expect("test email"),
            created_at,
        }
    }

    fn lines(rows: &[ImportUser]) -> Vec<u64> {
        rows.iter().map(|row| row.line).collect()
    }

    #[test]
    fn only_rows_that_are_all_new_with_distinct_ids_take_the_fast_path() {
        let fresh = || {
            vec![row(2, Some(1), "alice", "a@example.com"), row(3, Some(2), "bob", "b@example.com")]
        };
        assert!(all_new_with_ids(&fresh()));
        let mut missing_id = fresh();
        missing_id[1].id = None;
        assert!(!all_new_with_ids(&missing_id));
        let same_id = vec![
            row(2, Some(1), "alice", "a@example.com"),
            row(3, Some(1), "bob", "b@example.com"),
        ];
        assert!(!all_new_with_ids(&same_id));
        let same_name = vec![
            row(2, Some(1), "alice", "a@example.com"),
            row(3, Some(2), "alice", "b@example.com"),
        ];
        assert!(!all_new_with_ids(&same_name));
        // E-mail keys fold case, as the unique index does.
        let same_key = vec![
            row(2, Some(1), "alice", "a@example.com"),
            row(3, Some(2), "bob", "A@Example.com"),
        ];
        assert!(!all_new_with_ids(&same_key));
        // Exactly the batches the general rules, against an empty table, keep whole.
        for batch in [fresh(), missing_id, same_id, same_name, same_key] {
            let expected = all_new_with_ids(&batch);
            let plan = ImportPlan::decide(Vec::new(), batch.clone());
            assert_eq!(plan.keeping_id.len() == batch.len(), expected);
        }
    }

    #[test]
    fn rows_are_decided_in_order_against_the_table_and_the_batch() {
        let existing = vec![(1, "alice".to_owned(), "alice@example.com".to_owned())];
        let plan = ImportPlan::decide(
            existing,
            vec![
                row(2, Some(1), "alice", "other@example.com"), // existing name: no-op
                row(3, Some(1), "bob", "bob@example.com"),     // taken id: fresh one
                row(4, Some(9), "carol", "ALICE@example.com"), // e-mail held: rejected
                row(5, Some(9), "carol", "carol@example.com"), // name free again: kept id
                row(6, Some(9), "dave", "dave@example.com"),   // id taken in the batch
                row(7, None, "bob", "bob2@example.com"),       // name earlier in batch
                row(8, None, "erin", "Bob@Example.com"),       // e-mail earlier in batch
            ],
        );
        assert_eq!(lines(&plan.keeping_id), [5]);
        assert_eq!(lines(&plan.fresh_id), [3, 6]);
        assert!(plan.fresh_id.iter().all(|row| row.id.is_none()));
        let rejected: Vec<u64> = plan.rejections.iter().map(|r| r.line).collect();
        assert_eq!(rejected, [4, 8]);
        assert!(plan.rejections.iter().all(|r| r.reason.starts_with("email")));
    }
}
