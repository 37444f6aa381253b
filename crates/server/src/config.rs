//! Configuration: every setting is a command-line flag and an environment variable
//! (twelve-factor), with a default that works on a developer machine.

use std::path::PathBuf;
use std::time::Duration;

use cache_redis::RedisConfig;
use clap::{Args, Parser, Subcommand};
use domain::cache::CacheTtls;
use http::{AuthMode, Drill, GuardSettings, RateLimit, TrustedProxies};
use store_postgres::PgConfig;

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
    /// Bring the database named by DATABASE_URL to the current schema, then exit.
    Migrate,
    /// Load the platform's reference CSVs into an empty database, keeping every id.
    Seed(SeedArgs),
    /// Manage the API keys of AUTH_MODE=api-key (stored in DATABASE_URL).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it on stdout, once: only its digest is stored.
    Create {
        /// A name for the key (letters, digits, '.', '_', '-'), unique.
        #[arg(long)]
        name: String,
    },
    /// Revoke a key, by name or by id; it is refused from then on.
    Revoke {
        /// The key's name.
        #[arg(long, conflicts_with = "id", required_unless_present = "id")]
        name: Option<String>,
        /// The key's id (see `keys list`).
        #[arg(long)]
        id: Option<i64>,
    },
    /// List the keys (never their secrets).
    List,
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// The users file (id,username,email,created_at).
    #[arg(long)]
    pub users: PathBuf,
    /// The URLs file (id,user_id,short_code,original_url,title,is_active,created_at,updated_at).
    #[arg(long)]
    pub urls: PathBuf,
    /// The events file (id,url_id,user_id,event_type,timestamp,details).
    #[arg(long)]
    pub events: PathBuf,
    /// Replace whatever the database holds instead of refusing a non-empty one.
    #[arg(long)]
    pub force: bool,
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

    /// Most PostgreSQL connections this replica keeps open.
    #[arg(long, env = "DB_POOL_MAX_SIZE", default_value_t = 16)]
    pub db_pool_max_size: usize,

    /// Milliseconds a request waits for a free connection before it gets 503.
    #[arg(long, env = "DB_POOL_WAIT_TIMEOUT_MS", default_value_t = 2000)]
    pub db_pool_wait_timeout_ms: u64,

    /// Milliseconds allowed to open a new database connection.
    #[arg(long, env = "DB_CONNECT_TIMEOUT_MS", default_value_t = 5000)]
    pub db_connect_timeout_ms: u64,

    /// Run the embedded migrations at start-up (under an advisory lock).
    #[arg(long, env = "RUN_MIGRATIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_migrations: bool,

    /// Redis URL for the cache; unset means no cache.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every cache key (several deployments may share a Redis).
    #[arg(long, env = "CACHE_PREFIX", default_value = "shortener:")]
    pub cache_prefix: String,

    /// Milliseconds a cache call may take before the request uses the database.
    #[arg(long, env = "CACHE_TIMEOUT_MS", default_value_t = 50)]
    pub cache_timeout_ms: u64,

    /// Seconds a code that redirects stays cached.
    #[arg(long, env = "CACHE_LINK_TTL_SECS", default_value_t = 60)]
    pub cache_link_ttl_secs: u64,

    /// Seconds an unknown or inactive code stays cached as such.
    #[arg(long, env = "CACHE_MISSING_TTL_SECS", default_value_t = 5)]
    pub cache_missing_ttl_secs: u64,

    /// Seconds a page of a list stays cached.
    #[arg(long, env = "CACHE_LIST_TTL_SECS", default_value_t = 30)]
    pub cache_list_ttl_secs: u64,

    /// Most clicks held in memory while PostgreSQL cannot take them.
    #[arg(long, env = "CLICK_BUFFER_MAX", default_value_t = 100_000)]
    pub click_buffer_max: usize,

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

    /// Milliseconds /health and /health/ready wait for the database before
    /// reporting it down.
    #[arg(long, env = "HEALTH_TIMEOUT_MS", default_value_t = 1000)]
    pub health_timeout_ms: u64,

    /// Incident drill: the route pattern to inject faults into, as in the
    /// metrics (e.g. "/{short_code}"). Unset: no drill.
    #[arg(long, env = "DRILL_ROUTE")]
    pub drill_route: Option<String>,

    /// Incident drill: milliseconds added to every request of DRILL_ROUTE.
    #[arg(long, env = "DRILL_LATENCY_MS", default_value_t = 0)]
    pub drill_latency_ms: u64,

    /// Incident drill: share of DRILL_ROUTE's requests answered 500 (0 to 1).
    #[arg(long, env = "DRILL_ERROR_RATE", default_value_t = 0.0, value_parser = parse_share)]
    pub drill_error_rate: f64,

    /// Proxies whose X-Forwarded-For names the client (comma-separated IPs or
    /// CIDRs). Empty: trust nobody, the client is the socket's peer.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Writes (POST, PUT, PATCH, DELETE) a client may make per minute; 0: no limit.
    #[arg(long, env = "RATE_LIMIT_WRITES_PER_MINUTE", default_value_t = 0)]
    pub rate_limit_writes_per_minute: u32,

    /// Writes a client may make at once before the per-minute rate applies
    /// (0: the per-minute number).
    #[arg(long, env = "RATE_LIMIT_WRITES_BURST", default_value_t = 0)]
    pub rate_limit_writes_burst: u32,

    /// Reads (GET, HEAD, redirects included; not /health or /metrics) a client may
    /// make per minute; 0: no limit.
    #[arg(long, env = "RATE_LIMIT_READS_PER_MINUTE", default_value_t = 0)]
    pub rate_limit_reads_per_minute: u32,

    /// Reads a client may make at once (0: the per-minute number).
    #[arg(long, env = "RATE_LIMIT_READS_BURST", default_value_t = 0)]
    pub rate_limit_reads_burst: u32,

    /// Who may write: "open" (anyone) or "api-key" (Authorization: Bearer <key>).
    #[arg(long, env = "AUTH_MODE", default_value = "open")]
    pub auth_mode: AuthMode,

    /// Largest request head (target and headers) in bytes; larger gets 431.
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Milliseconds a request body may stall before the request fails; 0: no limit.
    #[arg(long, env = "BODY_IDLE_TIMEOUT_MS", default_value_t = 15_000)]
    pub body_idle_timeout_ms: u64,

    /// Milliseconds a client has to send its request head (else 408).
    #[arg(long, env = "CLIENT_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub client_request_timeout_ms: u64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "KEEP_ALIVE_SECS", default_value_t = 5)]
    pub keep_alive_secs: u64,

    /// Connections each worker serves at once; further ones wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS_PER_WORKER", default_value_t = 2048)]
    pub max_connections_per_worker: usize,

    /// Routes a test harness adds; never set from flags or the environment.
    #[arg(skip)]
    pub extra_routes: Option<fn(&mut actix_web::web::ServiceConfig)>,
}

impl ServeConfig {
    /// The defaults, as if no flag or variable were set (tests start from here).
    pub fn defaults() -> Self {
        Cli::parse_from(["shortener"]).serve
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    pub fn health_timeout(&self) -> Duration {
        Duration::from_millis(self.health_timeout_ms)
    }

    /// The incident drill, when one is configured with a fault to inject.
    pub fn drill(&self) -> Option<Drill> {
        let route = self.drill_route.as_deref().map(str::trim).filter(|route| !route.is_empty())?;
        let latency = Duration::from_millis(self.drill_latency_ms);
        let injects_something = !latency.is_zero() || self.drill_error_rate > 0.0;
        injects_something.then(|| Drill::new(route, latency, self.drill_error_rate))
    }

    /// The PostgreSQL settings, when a database is configured.
    pub fn postgres(&self) -> Option<PgConfig> {
        let url = self.database_url.as_deref().filter(|url| !url.trim().is_empty())?;
        let mut config = PgConfig::new(url);
        config.max_size = self.db_pool_max_size;
        config.wait_timeout = Duration::from_millis(self.db_pool_wait_timeout_ms);
        config.connect_timeout = Duration::from_millis(self.db_connect_timeout_ms);
        config.click_buffer = self.click_buffer_max;
        Some(config)
    }

    /// The Redis settings, when a cache is configured.
    pub fn redis(&self) -> Option<RedisConfig> {
        let url = self.redis_url.as_deref().filter(|url| !url.trim().is_empty())?;
        Some(RedisConfig {
            prefix: self.cache_prefix.clone(),
            timeout: Duration::from_millis(self.cache_timeout_ms),
            ..RedisConfig::new(url)
        })
    }

    /// What the HTTP guard enforces.
    pub fn guard(&self) -> GuardSettings {
        GuardSettings {
            trusted_proxies: self.trusted_proxies.clone(),
            write_limit: RateLimit::new(
                self.rate_limit_writes_per_minute,
                self.rate_limit_writes_burst,
            ),
            read_limit: RateLimit::new(
                self.rate_limit_reads_per_minute,
                self.rate_limit_reads_burst,
            ),
            auth: self.auth_mode,
            max_header_bytes: self.max_header_bytes,
            body_idle_timeout: Some(Duration::from_millis(self.body_idle_timeout_ms))
                .filter(|timeout| !timeout.is_zero()),
        }
    }

    pub fn cache_ttls(&self) -> CacheTtls {
        CacheTtls {
            link: Duration::from_secs(self.cache_link_ttl_secs),
            missing_link: Duration::from_secs(self.cache_missing_ttl_secs),
            list: Duration::from_secs(self.cache_list_ttl_secs),
        }
    }
}

/// A share between 0 and 1, such as an error rate.
fn parse_share(raw: &str) -> Result<f64, String> {
    let share: f64 = raw.trim().parse().map_err(|_| format!("{raw:?} is not a number"))?;
    if (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(format!("{share} is not between 0 and 1"))
    }
}
