//! Wiring: pick the store, hand it to the domain, hand that to the HTTP server.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use std::sync::Arc;
use std::time::Duration;

use cache_redis::RedisCache;
use domain::Shortener;
use domain::api_keys::{ApiKeys, KeyChecker};
use domain::cache::{Cache, NullCache};
use domain::ports::{EventRepository, Store};
use http::{HttpSettings, Telemetry};
use slog::{Logger, info, warn};
use store_memory::MemoryStore;
use store_postgres::{PgConfig, PgStore, run_migrations};

use crate::config::ServeConfig;
use crate::metrics;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("DATABASE_URL is not set; this command needs PostgreSQL")]
    NoDatabase,
    #[error("cannot set up the PostgreSQL pool: {0}")]
    Connect(#[from] store_postgres::ConnectError),
    #[error("migrations failed: {0}")]
    Migrate(#[from] store_postgres::MigrationError),
    #[error("cannot serve: {0}")]
    Io(#[from] std::io::Error),
    #[error("unusable cache configuration: {0}")]
    Cache(String),
    #[error("cannot register the metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Which store of record to run on.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Memory(MemoryStore),
    Postgres(PgStore),
}

impl StoreChoice {
    /// The store the configuration names: PostgreSQL when `DATABASE_URL` is set
    /// (migrated first, unless disabled), in memory otherwise.
    pub async fn from_config(config: &ServeConfig, logger: &Logger) -> Result<Self, StartupError> {
        let Some(postgres) = config.postgres() else {
            return Ok(Self::Memory(MemoryStore::new()));
        };
        if config.run_migrations {
            migrate(&postgres, logger).await?;
        }
        Ok(Self::Postgres(PgStore::connect(&postgres)?))
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::Memory(_) => "in-memory store (DATABASE_URL is not set; nothing persists)",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The API keys of this store, for `AUTH_MODE=api-key`.
    fn api_keys(&self) -> Arc<dyn KeyChecker> {
        match self {
            Self::Memory(store) => Arc::new(ApiKeys::new(store.clone())),
            Self::Postgres(store) => Arc::new(ApiKeys::new(store.clone())),
        }
    }

    async fn flush_clicks(&self) -> domain::ports::Result<()> {
        match self {
            Self::Memory(store) => store.flush_clicks().await,
            Self::Postgres(store) => store.flush_clicks().await,
        }
    }
}

/// The cache the configuration names: Redis when `REDIS_URL` is set, none
/// otherwise. A Redis that is down at start-up is not fatal: requests go to the
/// database until it answers.
pub async fn cache_from_config(
    config: &ServeConfig,
    logger: &Logger,
) -> Result<Arc<dyn Cache>, StartupError> {
    // Said in the start-up line, which must stay the first line of the log.
    let Some(redis) = config.redis() else {
        return Ok(Arc::new(NullCache));
    };
    let cache = RedisCache::connect(&redis).map_err(|e| StartupError::Cache(e.0))?;
    if cache.wait_until_connected(Duration::from_secs(1)).await {
        info!(logger, "cache connected"; "prefix" => &redis.prefix);
    } else {
        warn!(logger, "cache unreachable at start-up; serving from the database until it answers");
    }
    Ok(Arc::new(cache))
}

/// Runs the embedded migrations (safe when replicas start together) and logs them.
pub async fn migrate(postgres: &PgConfig, logger: &Logger) -> Result<(), StartupError> {
    let applied = run_migrations(postgres).await?;
    info!(logger, "database schema is current";
          "database" => postgres.redacted_url(), "applied" => applied.join(","));
    Ok(())
}

/// A bound, ready-to-run shortener.
pub struct Application {
    port: u16,
    server: Server,
    /// Kept to flush buffered clicks once the server has stopped.
    store: StoreChoice,
    logger: Logger,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("port", &self.port).finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and builds the server on
    /// `store`. Nothing is served until [`Self::run_until_stopped`].
    pub fn build(
        config: &ServeConfig,
        store: StoreChoice,
        cache: Arc<dyn Cache>,
        logger: &Logger,
    ) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        info!(logger, "starting"; "store" => store.describe(),
              "cache" => if cache.is_enabled() { "redis" } else { "none (REDIS_URL is not set)" }, "bind" => &config.bind, "port" => port);
        let guard = config.guard();
        info!(logger, "guard"; "auth_mode" => format!("{:?}", guard.auth),
              "trusted_proxies" => %config.trusted_proxies,
              "write_limit_per_minute" => config.rate_limit_writes_per_minute,
              "read_limit_per_minute" => config.rate_limit_reads_per_minute);
        if guard.auth == http::AuthMode::ApiKey && matches!(store, StoreChoice::Memory(_)) {
            warn!(
                logger,
                "AUTH_MODE=api-key on the in-memory store: `shortener keys` cannot reach it, every write will be refused"
            );
        }
        let settings = HttpSettings {
            body_limit: config.body_limit_bytes,
            bulk_limit: config.bulk_limit_bytes,
            workers: config.workers,
            shutdown_timeout: config.shutdown_timeout(),
            health_timeout: config.health_timeout(),
            drill: config.drill(),
            guard,
            max_connections_per_worker: config.max_connections_per_worker,
            client_request_timeout: Duration::from_millis(config.client_request_timeout_ms),
            keep_alive: Duration::from_secs(config.keep_alive_secs),
            extra_routes: config.extra_routes,
            api_keys: Some(store.api_keys()),
        };
        let pool = match &store {
            StoreChoice::Postgres(store) => Some(store),
            StoreChoice::Memory(_) => None,
        };
        let registry = metrics::replica_registry(&config.replica_name, pool)?;
        let telemetry = Telemetry::new(logger.clone(), registry)?;
        let ttls = config.cache_ttls();
        let server = match store.clone() {
            StoreChoice::Memory(store) => {
                http::server(shortener(store, cache, ttls), &settings, telemetry, listener)?
            }
            StoreChoice::Postgres(store) => {
                http::server(shortener(store, cache, ttls), &settings, telemetry, listener)?
            }
        };
        Ok(Self { port, server, store, logger: logger.clone() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that can stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT or [`ServerHandle::stop`], lets in-flight
    /// requests finish, then writes the clicks still buffered.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await?;
        match self.store.flush_clicks().await {
            Ok(()) => info!(self.logger, "clicks flushed"),
            Err(e) => warn!(self.logger, "clicks left unwritten at shutdown"; "error" => %e),
        }
        Ok(())
    }
}

fn shortener<S: Store>(
    store: S,
    cache: Arc<dyn Cache>,
    ttls: domain::cache::CacheTtls,
) -> Shortener<S> {
    Shortener::with_cache(store, cache).ttls(ttls).stats(Arc::new(http::CacheMetrics))
}
