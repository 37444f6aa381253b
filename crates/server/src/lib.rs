//! The `shortener` application: configuration from the environment, the JSON
//! logger, and [`Application`], which wires a store to the HTTP adapter. The
//! binary's `main` only parses the command line and calls into here; tests start
//! the same [`Application`] on port 0.

mod application;
pub mod commands;
pub mod config;
mod metrics;
pub mod telemetry;

pub use application::{Application, StartupError, StoreChoice, cache_from_config};
