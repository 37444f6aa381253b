//! Bulk import of users: one raw row at a time from any source (an uploaded CSV,
//! the seed loader), validated here, written by the repository in batches.

use chrono::NaiveDateTime;

use crate::{Email, UserId, Username};

/// Formats accepted for `created_at`: the platform's CSV format and ISO 8601.
const TIMESTAMP_FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"];

/// A row as read, before validation. Fields are trimmed of stray whitespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRow {
    /// Line of the source the row starts on, for error reports.
    pub line: u64,
    pub id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub created_at: Option<String>,
}

/// A row that passed validation, ready for [`crate::ports::UserRepository::import_users`].
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub line: u64,
    pub id: Option<UserId>,
    pub username: Username,
    pub email: Email,
    pub created_at: NaiveDateTime,
}

/// Rows of one batch of a file, validated as they are added: the users to write
/// and the rows refused. Validation needs no I/O, so the reader of a file can do
/// it on its own thread while the previous batch is being written.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// Stands in for a missing `created_at`: when the import started.
    now: NaiveDateTime,
    users: Vec<ImportUser>,
    rejections: Vec<ImportRejection>,
}

impl ImportBatch {
    /// An empty batch of an import that started at `now`.
    pub fn new(now: NaiveDateTime) -> Self {
        Self { now, users: Vec::new(), rejections: Vec::new() }
    }

    /// Validates `row` into the batch.
    pub fn push(&mut self, row: ImportRow) {
        match row.validate(self.now) {
            Ok(user) => self.users.push(user),
            Err(rejection) => self.rejections.push(rejection),
        }
    }

    /// How many rows were added, valid or not.
    pub fn rows(&self) -> usize {
        self.users.len() + self.rejections.len()
    }

    /// Takes the rows out, leaving an empty batch of the same import.
    pub fn take(&mut self) -> Self {
        std::mem::replace(self, Self::new(self.now))
    }

    /// The valid users and the refused rows.
    pub fn into_parts(self) -> (Vec<ImportUser>, Vec<ImportRejection>) {
        (self.users, self.rejections)
    }
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRejection {
    pub line: u64,
    pub reason: String,
}

impl ImportRow {
    /// Validates the row; `now` stands in for a missing `created_at`.
    pub fn validate(self, now: NaiveDateTime) -> Result<ImportUser, ImportRejection> {
        let line = self.line;
        let reject = |reason: String| ImportRejection { line, reason };
        let field =
            |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let id = match field(self.id) {
            None => None,
            Some(raw) => match raw.parse::<UserId>() {
                Ok(id) if id > 0 => Some(id),
                _ => return Err(reject(format!("id: must be a positive integer, got {raw:?}"))),
            },
        };
        let username =
            field(self.username).ok_or_else(|| reject("username: is required".into()))?;
        let username =
            Username::parse(&username).map_err(|why| reject(format!("username: {why}")))?;
        let email = field(self.email).ok_or_else(|| reject("email: is required".into()))?;
        let email = Email::parse(&email).map_err(|why| reject(format!("email: {why}")))?;
        let created_at = match field(self.created_at) {
            None => now,
            Some(raw) => parse_timestamp(&raw).ok_or_else(|| {
                reject(format!("created_at: must look like 2024-01-31 23:59:59, got {raw:?}"))
            })?,
        };
        Ok(ImportUser { line, id, username, email, created_at })
    }
}

/// Parses a timestamp in one of the platform's formats.
pub fn parse_timestamp(raw: &str) -> Option<NaiveDateTime> {
    TIMESTAMP_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw.trim(), format).ok())
}

/// What an import did, added up over its batches. Importing the same file twice
/// gives the same report: rows that already exist count as accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows accepted: inserted now, or already present.
    pub accepted: u64,
    /// Rows refused, in all.
    pub rejected: u64,
    /// The first [`Self::MAX_LISTED`] refusals with their lines.
    pub rejections: Vec<ImportRejection>,
}

impl ImportReport {
    /// Cap on listed refusals, so a file of garbage cannot grow the report unbounded.
    pub const MAX_LISTED: usize = 1000;

    pub fn accept(&mut self, rows: u64) {
        self.accepted += rows;
    }

    pub fn reject(&mut self, rejection: ImportRejection) {
        self.rejected += 1;
        if self.rejections.len() < Self::MAX_LISTED {
            self.rejections.push(rejection);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, username: &str, email: &str, created_at: &str) -> ImportRow {
        let some = |s: &str| Some(s.to_owned());
        ImportRow {
            line: 7,
            id: some(id),
            username: some(username),
            email: some(email),
            created_at: some(created_at),
        }
    }

    #[test]
    fn a_good_row_is_trimmed_and_typed() {
        let now = parse_timestamp("2026-01-01 00:00:00").unwrap();
        let user = row(" 12 ", " alice ", " Alice@Example.com", "2024-01-02 17:05:09 ")
            .validate(now)
            .unwrap();
        assert_eq!(user.id, Some(12));
        assert_eq!(user.username.as_str(), "alice");
        assert_eq!(user.email.as_str(), "Alice@Example.com");
        assert_eq!(user.created_at, parse_timestamp("2024-01-02 17:05:09").unwrap());
        let user = row("", "bob", "bob@example.com", "").validate(now).unwrap();
        assert_eq!((user.id, user.created_at), (None, now));
    }

    #[test]
    fn a_batch_sorts_rows_into_users_and_refusals_and_keeps_its_clock_when_taken() {
        let now = parse_timestamp("2026-01-01 00:00:00").unwrap();
        let mut batch = ImportBatch::new(now);
        batch.push(row("1", "alice", "alice@example.com", ""));
        batch.push(row("2", "", "nobody@example.com", ""));
        assert_eq!(batch.rows(), 2);

        let (users, refused) = batch.take().into_parts();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].created_at, now);
        assert_eq!(refused.len(), 1);
        assert!(refused[0].reason.starts_with("username"));

        assert_eq!(batch.rows(), 0);
        batch.push(row("", "bob", "bob@example.com", ""));
        let (users, _) = batch.into_parts();
        assert_eq!(users[0].created_at, now, "the emptied batch is of the same import");
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let now = parse_timestamp("2026-01-01 00:00:00").unwrap();
        for (bad, field) in [
            (row("1", "", "a@example.com", ""), "username"),
            (row("1", "alice", "not-an-email", ""), "email"),
            (row("x", "alice", "a@example.com", ""), "id"),
            (row("-3", "alice", "a@example.com", ""), "id"),
            (row("1", "alice", "a@example.com", "yesterday"), "created_at"),
        ] {
            let refusal = bad.validate(now).unwrap_err();
            assert_eq!(refusal.line, 7);
            assert!(refusal.reason.starts_with(field), "{refusal:?}");
        }
    }
}
