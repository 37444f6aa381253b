//! The shortener's store of record on PostgreSQL: [`PgStore`] implements the
//! repository ports of `domain::ports` with diesel-async over a deadpool pool,
//! [`run_migrations`] brings a database to the embedded schema (safely when several
//! replicas start at once), and [`seed`] loads the platform's reference data.
//!
//! It knows SQL and nothing about HTTP: every failure leaves it as a
//! `domain::Error`, with driver text only inside `Unavailable`/`Internal` for logs.

mod api_keys;
mod clicks;
mod config;
mod error;
mod events;
mod import;
mod migrate;
mod rows;
mod schema;
pub mod seed;
mod store;
mod totals;
mod urls;
mod users;

pub use config::PgConfig;
pub use migrate::{MigrationError, run_migrations};
pub use store::{ConnectError, PgStore, PoolStatus};
