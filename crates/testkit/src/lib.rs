//! Test support for the shortener: the contract suite every adapter of a port must
//! pass, real PostgreSQL and Redis for tests (a fresh database per test), and
//! `spawn_app`, which starts the real application on port 0 with typed request
//! helpers. Not for production code.

mod app;
pub mod cache_contract;
mod logs;
pub mod ports;
pub mod postgres;
mod private_postgres;
pub mod redis;
pub mod store_contract;

pub use app::{
    StoreKind, TestApp, expect_error, expect_json, spawn_app, spawn_app_on, spawn_app_with,
};
pub use logs::CapturedLogs;
pub use ports::{free_port, free_ports};
pub use private_postgres::PrivatePostgres;
