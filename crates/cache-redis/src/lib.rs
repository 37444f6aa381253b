//! The shortener's cache port on Redis, over fred: [`RedisCache`] implements
//! `domain::cache::Cache` with a short time-out on every call, so a slow or absent
//! Redis costs a request a few milliseconds and a fallback to the database, never
//! an error. Connection loss is handled by fred's reconnection policy; while
//! disconnected, calls fail at once instead of queueing.
//!
//! Keys live under a configurable prefix, so several deployments (or test runs)
//! can share one Redis without seeing each other's entries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use domain::cache::{Cache, CacheError, CacheFuture, Namespace};
use fred::prelude::{
    Builder, ClientLike, Config, Error as FredError, KeysInterface, LuaInterface, ReconnectPolicy,
};
use fred::types::config::Options;
use futures_util::FutureExt;

/// Stores `ARGV[1]` under `KEYS[1]` for `ARGV[3]` ms only while the generation in
/// `KEYS[2]` still equals `ARGV[2]`: the check and the write are one atomic step.
const FILL_IF_CURRENT: &str = "\
if (redis.call('GET', KEYS[2]) or '0') == ARGV[2] then \
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) \
end \
return 0";

/// How to reach Redis.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Prepended to every key.
    pub prefix: String,
    /// Longest a single cache call may take before it counts as failed.
    pub timeout: Duration,
}

impl RedisConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), prefix: "shortener:".into(), timeout: Self::DEFAULT_TIMEOUT }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password.
        f.debug_struct("RedisConfig")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The Redis cache; clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisCache {
    client: fred::clients::Client,
    options: Options,
    prefix: Arc<str>,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisCache {
    /// A client for `config`, connecting in the background: the service starts
    /// (and serves from the database) while Redis is down, and uses the cache as
    /// soon as it answers. Fails only on an unusable configuration.
    pub fn connect(config: &RedisConfig) -> Result<Self, CacheError> {
        let mut fred_config = Config::from_url(&config.url).map_err(failed)?;
        // Keep retrying the first connection too, instead of giving up on it.
        fred_config.fail_fast = false;
        let client = Builder::from_config(fred_config)
            .with_connection_config(|connection| {
                connection.connection_timeout = Duration::from_secs(1);
                connection.internal_command_timeout = Duration::from_secs(1);
            })
            // The per-call options below are not applied to EVAL (fred issue #353:
            // it waits for a reconnection however long that takes); this bound is.
            .with_performance_config(|performance| {
                performance.default_command_timeout = config.timeout;
            })
            // Forever, every 250 ms: an outage ends by itself, so must the fallback.
            .set_policy(ReconnectPolicy::new_constant(0, 250))
            .build()
            .map_err(failed)?;
        drop(client.connect());
        let options = Options {
            timeout: Some(config.timeout),
            max_attempts: Some(1),
            // While disconnected, fail now and let the caller use the database.
            fail_fast: true,
            ..Options::default()
        };
        Ok(Self { client, options, prefix: config.prefix.as_str().into() })
    }

    /// Waits up to `limit` for the first connection; `false` if Redis is not there
    /// yet (the client keeps trying in the background).
    pub async fn wait_until_connected(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.client.wait_for_connect())
            .await
            .is_ok_and(|connected| connected.is_ok())
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn generation_key(&self, namespace: Namespace) -> String {
        format!("{}generation:{}", self.prefix, namespace.as_str())
    }
}

fn failed(error: FredError) -> CacheError {
    CacheError(error.to_string())
}

impl Cache for RedisCache {
    fn get<'a>(
        &'a self,
        key: &'a str,
        namespace: Namespace,
    ) -> CacheFuture<'a, (Option<String>, u64)> {
        async move {
            let keys = vec![self.key(key), self.generation_key(namespace)];
            let (value, generation): (Option<String>, Option<u64>) =
                self.client.with_options(&self.options).mget(keys).await.map_err(failed)?;
            Ok((value, generation.unwrap_or(0)))
        }
        .boxed()
    }

    fn generation(&self, namespace: Namespace) -> CacheFuture<'_, u64> {
        async move {
            let key = self.generation_key(namespace);
            let generation: Option<u64> =
                self.client.with_options(&self.options).get(key).await.map_err(failed)?;
            Ok(generation.unwrap_or(0))
        }
        .boxed()
    }

    fn fill<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
        namespace: Namespace,
        generation: u64,
    ) -> CacheFuture<'a, ()> {
        async move {
            let keys = vec![self.key(key), self.generation_key(namespace)];
            let ttl_ms = ttl.as_millis().max(1).to_string();
            let args = vec![value.to_owned(), generation.to_string(), ttl_ms];
            // EVAL, not EVALSHA: the script is tiny, and a Redis that restarted (and
            // forgot its scripts) must keep working without a round of NOSCRIPT.
            let _: i64 = self
                .client
                .with_options(&self.options)
                .eval(FILL_IF_CURRENT, keys, args)
                .await
                .map_err(failed)?;
            Ok(())
        }
        .boxed()
    }

    fn invalidate<'a>(
        &'a self,
        keys: &'a [String],
        namespaces: &'a [Namespace],
    ) -> CacheFuture<'a, ()> {
        async move {
            // One round trip. Generations move first, so no reader can fill a deleted
            // key from a store read older than the write.
            let pipeline = self.client.pipeline().with_options(&self.options);
            for namespace in namespaces {
                let _: () = pipeline.incr(self.generation_key(*namespace)).await.map_err(failed)?;
            }
            if !keys.is_empty() {
                let keys: Vec<String> = keys.iter().map(|key| self.key(key)).collect();
                let _: () = pipeline.del(keys).await.map_err(failed)?;
            }
            let _: Vec<fred::types::Value> = pipeline.all().await.map_err(failed)?;
            Ok(())
        }
        .boxed()
    }

    fn ping(&self) -> CacheFuture<'_, ()> {
        async move {
            let _: String =
                self.client.with_options(&self.options).ping(None).await.map_err(failed)?;
            Ok(())
        }
        .boxed()
    }
}
