//! Configuration: every setting is a command-line flag and an environment variable
//! (twelve-factor), with a default that works on a developer machine.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "shortener", version, about = "A URL shortener API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
}

/// What `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (host:port).
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// PostgreSQL URL; unset means the in-memory store (nothing persists).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Largest JSON request body in bytes (larger gets 413).
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 64 * 1024)]
    pub body_limit_bytes: usize,

    /// Largest CSV upload to /users/bulk in bytes.
    #[arg(long, env = "BULK_LIMIT_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub bulk_limit_bytes: usize,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,

    /// Seconds in-flight requests get to finish on SIGTERM.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,

    /// Log level: trace, debug, info, warning, error, critical.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Name of this replica in logs and metrics.
    #[arg(long, env = "REPLICA_NAME", default_value = "shortener")]
    pub replica_name: String,
}

impl ServeConfig {
    /// The defaults, as if no flag or variable were set (tests start from here).
    pub fn defaults() -> Self {
        Cli::parse_from(["shortener"]).serve
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}
