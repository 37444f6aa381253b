//! The embedded schema migrations, run under an advisory lock.

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{PgConfig, redact};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Key of the session-level advisory lock every migration run takes: any fixed
/// number no other lock of this database uses ("shortener" in ASCII).
const MIGRATION_LOCK: i64 = 0x73_686f_7274_656e;

/// Migrations could not be applied; nothing half-applied stays behind, since each
/// migration runs in its own transaction.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot connect to {url} to migrate it: {reason}")]
    Connect { url: String, reason: String },
    #[error("migrating the database failed: {0}")]
    Failed(String),
}

/// Brings the database of `config` to the embedded schema and returns the versions
/// it applied (none when it was up to date).
///
/// Replicas that start together may all call this: each takes the same advisory
/// lock first, so one migrates while the others wait, then find nothing to do.
/// The lock belongs to the session, so it is released even if the process dies.
pub async fn run_migrations(config: &PgConfig) -> Result<Vec<String>, MigrationError> {
    let url = config.database_url.clone();
    let connect_timeout = config.connect_timeout;
    let connect = async {
        use diesel_async::AsyncConnection;
        AsyncPgConnection::establish(&url).await
    };
    let connection = tokio::time::timeout(connect_timeout, connect)
        .await
        .map_err(|_| MigrationError::Connect {
            url: redact(&url),
            reason: format!("no connection within {connect_timeout:?}"),
        })?
        .map_err(|error| MigrationError::Connect {
            url: redact(&url),
            reason: error.to_string(),
        })?;
    // diesel's migration harness is synchronous: drive it on a blocking thread that
    // re-enters this runtime for each query, so no runtime worker is blocked.
    tokio::task::spawn_blocking(move || migrate_locked(connection))
        .await
        .map_err(|error| MigrationError::Failed(format!("the migration task failed: {error}")))?
}

fn migrate_locked(connection: AsyncPgConnection) -> Result<Vec<String>, MigrationError> {
    let failed = |error: &dyn std::fmt::Display| MigrationError::Failed(error.to_string());
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(connection);
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .map_err(|e| failed(&e))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| failed(&e));
    // Released with the session anyway; unlocking now lets waiters go at once.
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn);
    let applied = applied?;
    unlocked.map_err(|e| failed(&e))?;
    Ok(applied)
}
