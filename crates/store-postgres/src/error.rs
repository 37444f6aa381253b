//! Driver and pool errors turned into the domain's [`Error`], in one place.
//!
//! Constraint violations become the variants the ports promise, found by the
//! constraint's name in `migrations/`; lost connections and pool time-outs become
//! [`Error::Unavailable`]; anything else is [`Error::Internal`]. The text of the
//! last two is for logs only: the HTTP edge never shows it to clients.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError as ManagerError;
use diesel_async::pooled_connection::deadpool::PoolError;
use domain::Error;

/// A failure inside a repository operation: the database's, or a domain outcome
/// decided mid-transaction (which must roll the transaction back too).
#[derive(Debug)]
pub(crate) enum Failure {
    Database(DieselError),
    Domain(Error),
}

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Self::Database(error)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Domain(error)
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Database(error) => database_error(error),
            Failure::Domain(error) => error,
        }
    }
}

/// The domain error for a failed query.
pub(crate) fn database_error(error: DieselError) -> Error {
    match error {
        DieselError::DatabaseError(kind, info) => {
            let constraint = info.constraint_name().unwrap_or_default();
            match (kind, constraint) {
                (DatabaseErrorKind::UniqueViolation, "users_username_unique") => {
                    Error::DuplicateUsername
                }
                (DatabaseErrorKind::UniqueViolation, "users_email_unique") => Error::DuplicateEmail,
                (DatabaseErrorKind::UniqueViolation, "urls_short_code_unique") => {
                    Error::DuplicateShortCode
                }
                (DatabaseErrorKind::UniqueViolation, "api_keys_name_unique") => {
                    Error::DuplicateKeyName
                }
                (
                    DatabaseErrorKind::ForeignKeyViolation,
                    "urls_user_id_fkey" | "events_user_id_fkey",
                ) => Error::UserNotFound,
                (DatabaseErrorKind::ForeignKeyViolation, "events_url_id_fkey") => {
                    Error::UrlNotFound
                }
                // The connection broke under the query: the request may be retried.
                (
                    DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
                    _,
                ) => Error::Unavailable(format!("database connection lost: {}", info.message())),
                // The server is stopping or starting (SQLSTATE 57P01, 57P03): diesel
                // does not expose the code, so its messages are recognised instead.
                _ if is_server_unavailable(info.message()) => {
                    Error::Unavailable(format!("database unavailable: {}", info.message()))
                }
                _ => Error::Internal(format!("database: {}", info.message())),
            }
        }
        // Left behind by a connection that died mid-transaction.
        DieselError::BrokenTransactionManager => {
            Error::Unavailable("database connection lost in a transaction".into())
        }
        other => Error::Internal(format!("database: {other}")),
    }
}

/// The domain error for a connection the pool could not hand out.
pub(crate) fn pool_error(error: PoolError) -> Error {
    match error {
        PoolError::Timeout(kind) => {
            Error::Unavailable(format!("no database connection within the time-out ({kind:?})"))
        }
        PoolError::Backend(ManagerError::ConnectionError(error)) => {
            Error::Unavailable(format!("cannot connect to the database: {error}"))
        }
        PoolError::Backend(ManagerError::QueryError(error)) => {
            Error::Unavailable(format!("database connection check failed: {error}"))
        }
        PoolError::Closed => Error::Unavailable("the database pool is closed".into()),
        PoolError::PostCreateHook(error) => {
            Error::Unavailable(format!("database connection set-up failed: {error}"))
        }
        PoolError::NoRuntimeSpecified => {
            Error::Internal("the database pool has no runtime for its time-outs".into())
        }
    }
}

/// Messages PostgreSQL sends when it is shutting down or not yet accepting queries.
fn is_server_unavailable(message: &str) -> bool {
    const PHRASES: &[&str] = &[
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
    ];
    PHRASES.iter().any(|phrase| message.contains(phrase))
}
