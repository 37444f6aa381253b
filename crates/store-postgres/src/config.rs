//! How to reach PostgreSQL and how big the pool may grow.

use std::fmt;
use std::time::Duration;

/// Connection settings of a [`crate::PgStore`]. The server fills it from its
/// environment; [`PgConfig::new`] gives defaults that suit a small replica.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database`.
    pub database_url: String,
    /// Most connections the pool keeps open at once.
    pub max_size: usize,
    /// Longest wait for a new connection to be established.
    pub connect_timeout: Duration,
    /// Longest wait for a free connection when all `max_size` are busy; past it a
    /// request fails fast with `Unavailable` instead of queueing without bound.
    pub wait_timeout: Duration,
    /// Longest check of an idle connection before it is handed out again.
    pub recycle_timeout: Duration,
    /// Most clicks held in memory while the database cannot take them.
    pub click_buffer: usize,
}

impl PgConfig {
    pub const DEFAULT_MAX_SIZE: usize = 16;
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(2);
    pub const DEFAULT_RECYCLE_TIMEOUT: Duration = Duration::from_secs(2);
    pub const DEFAULT_CLICK_BUFFER: usize = 100_000;

    /// Settings for `database_url` with the default pool size and time-outs.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            max_size: Self::DEFAULT_MAX_SIZE,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
            recycle_timeout: Self::DEFAULT_RECYCLE_TIMEOUT,
            click_buffer: Self::DEFAULT_CLICK_BUFFER,
        }
    }

    /// The URL with its password masked, for logs and error messages.
    pub fn redacted_url(&self) -> String {
        redact(&self.database_url)
    }
}

/// `url` with any password replaced by `***`; an unparsable URL is hidden whole,
/// since it may still hold a secret.
pub(crate) fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only fails for URLs that cannot have a password, and this one has.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable database URL>".into(),
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("database_url", &self.redacted_url())
            .field("max_size", &self.max_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .field("recycle_timeout", &self.recycle_timeout)
            .field("click_buffer", &self.click_buffer)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_password() {
        let config = PgConfig::new("postgres://app:s3cret@db.internal:5432/shortener");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://app:***@db.internal:5432/shortener"), "{shown}");
        assert_eq!(redact("not a url s3cret"), "<unparsable database URL>");
    }
}
