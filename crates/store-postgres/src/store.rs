//! The pool behind every repository method, and the health check.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool::Runtime;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::Error;
use domain::ports::{Result, Store};

use crate::clicks::ClickQueue;
use crate::config::PgConfig;
use crate::error::{database_error, pool_error};

/// The PostgreSQL store. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    clicks: ClickQueue,
    ping_timeout: Duration,
    /// Dropped with the last clone; see [`PgStore::keeping_alive`].
    kept_alive: Option<Arc<dyn Any + Send + Sync>>,
}

/// The pool could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the database pool: {0}")]
pub struct ConnectError(String);

/// A snapshot of the pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    /// Connections open now, busy or idle.
    pub size: usize,
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

impl PgStore {
    /// A store over a pool for `config`. Connections are opened on first use, so
    /// this succeeds while the database is down: requests then fail with
    /// `Unavailable` until it is back, and the pool recovers by itself.
    pub fn connect(config: &PgConfig) -> std::result::Result<Self, ConnectError> {
        let mut manager_config = ManagerConfig::default();
        // `Fast` only checks that a connection is not broken or mid-transaction
        // before reuse; `Verified` would add a round trip to every checkout, the
        // redirect path included. A connection that died while idle fails its next
        // query with `Unavailable` and is then discarded.
        manager_config.recycling_method = RecyclingMethod::Fast;
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            config.database_url.clone(),
            manager_config,
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_size)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.recycle_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| ConnectError(error.to_string()))?;
        let ping_timeout = config.wait_timeout + config.connect_timeout;
        // The click writer is a task of the runtime that builds the store: the
        // process's main runtime in the server, so it outlives the HTTP workers
        // and can still flush after they stopped.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConnectError("PgStore::connect must run inside a tokio runtime".into()));
        }
        let clicks = ClickQueue::start(pool.clone(), config.click_buffer);
        Ok(Self { pool, clicks, ping_timeout, kept_alive: None })
    }

    /// Ties `resource` to this store: it is dropped when the last clone is. Test
    /// harnesses hand their throwaway database here so it lives exactly as long as
    /// the store that uses it.
    pub fn keeping_alive(mut self, resource: impl Any + Send + Sync) -> Self {
        self.kept_alive = Some(Arc::new(resource));
        self
    }

    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    pub(crate) fn clicks(&self) -> &ClickQueue {
        &self.clicks
    }

    /// A connection from the pool, or `Unavailable` once the wait time-out passes.
    pub(crate) async fn connection(&self) -> Result<Object<AsyncPgConnection>> {
        self.pool.get().await.map_err(pool_error)
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool_status()).finish_non_exhaustive()
    }
}

impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        let check = async {
            let mut conn = self.connection().await?;
            diesel::sql_query("SELECT 1").execute(&mut conn).await.map_err(database_error)?;
            Ok(())
        };
        // Bounded as a whole: a database that accepts connections but never answers
        // must still make the health check fail.
        tokio::time::timeout(self.ping_timeout, check).await.unwrap_or_else(|_| {
            Err(Error::Unavailable("the database did not answer the health check".into()))
        })
    }
}
