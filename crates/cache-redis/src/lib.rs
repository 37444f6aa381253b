//! The shortener's cache port on Redis, over fred: [`RedisCache`] implements
//! `domain::cache::Cache` with a short time-out on every call, so a slow or absent
//! Redis costs a request a few milliseconds and a fallback to the database, never
//! an error. Connection loss is handled by fred's reconnection policy; while
//! disconnected, calls fail at once instead of queueing.
//!
//! Keys live under a configurable prefix, so several deployments (or test runs)
//! can share one Redis without seeing each other's entries. Under it:
//! `{key}` the entries, `generation:{namespace}` the namespace generations,
//! `version:{key}` the entry versions, and `versions` the counter they come from.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use domain::cache::{Cache, CacheError, CacheFuture, Guard, Namespace};
use fred::prelude::{
    Builder, ClientLike, Config, Error as FredError, KeysInterface, LuaInterface, ReconnectPolicy,
};
use fred::types::config::Options;
use futures_util::FutureExt;

/// Stores `ARGV[1]` under `KEYS[1]` for `ARGV[3]` ms only while the version in
/// `KEYS[2]` (a generation or an entry version; absent reads as 0) still equals
/// `ARGV[2]`: the check and the write are one atomic step.
const FILL_IF_CURRENT: &str = "\
if (redis.call('GET', KEYS[2]) or '0') == ARGV[2] then \
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) \
end \
return 0";

/// One atomic invalidation. `KEYS[1..ARGV[1]]` are generations to bump,
/// `KEYS[ARGV[1] + 1]` the entry-version counter, then pairs of an entry to delete
/// and its version key, which gets the counter's next value for `ARGV[2]` ms.
///
/// A version must never return to a value a reader still holds, or that reader's
/// stale fill would pass. So counters that are absent (first use, or a Redis that
/// restarted empty) start from the server's clock in microseconds, past any value
/// they had before; and an entry's version outlives by far any reader that read
/// it (see [`ENTRY_VERSION_TTL`]).
const INVALIDATE: &str = "\
local function bump(key) \
  if redis.call('EXISTS', key) == 0 then \
    local now = redis.call('TIME') \
    redis.call('SET', key, now[1] * 1000000 + now[2]) \
  end \
  return redis.call('INCR', key) \
end \
local generations = tonumber(ARGV[1]) \
for i = 1, generations do bump(KEYS[i]) end \
if #KEYS > generations + 1 then \
  local version = bump(KEYS[generations + 1]) \
  for i = generations + 2, #KEYS, 2 do \
    redis.call('DEL', KEYS[i]) \
    redis.call('SET', KEYS[i + 1], version, 'PX', ARGV[2]) \
  end \
end \
return 0";

/// How long an entry's version is kept after the write that moved it. It must
/// outlive every reader that read the version before that write (a read from the
/// store: seconds at most, bounded by the pool's and PostgreSQL's time-outs); once
/// it is gone, a fill is checked against 0, which no moved version equals. Ten
/// minutes is far past any read and still lets the versions of codes written once
/// go away.
const ENTRY_VERSION_TTL: Duration = Duration::from_secs(600);

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

    fn version_key(&self, key: &str) -> String {
        format!("{}version:{key}", self.prefix)
    }

    /// Runs one of the scripts above: one round trip, atomic. EVAL, not EVALSHA:
    /// the scripts are small, and a Redis that restarted (and forgot its scripts)
    /// must keep working without a round of NOSCRIPT.
    async fn run_script(
        &self,
        script: &'static str,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<(), CacheError> {
        let _: i64 = self
            .client
            .with_options(&self.options)
            .eval(script, keys, args)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// The key holding the version that `guard` means for the entry `key`.
    fn guard_key(&self, key: &str, guard: Guard) -> String {
        match guard {
            Guard::Namespace(namespace) => self.generation_key(namespace),
            Guard::Entry => self.version_key(key),
        }
    }
}

fn failed(error: FredError) -> CacheError {
    CacheError(error.to_string())
}

impl Cache for RedisCache {
    fn get<'a>(&'a self, key: &'a str, guard: Guard) -> CacheFuture<'a, (Option<String>, u64)> {
        async move {
            let keys = vec![self.key(key), self.guard_key(key, guard)];
            let (value, version): (Option<String>, Option<u64>) =
                self.client.with_options(&self.options).mget(keys).await.map_err(failed)?;
            Ok((value, version.unwrap_or(0)))
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
        guard: Guard,
        version: u64,
    ) -> CacheFuture<'a, ()> {
        async move {
            let keys = vec![self.key(key), self.guard_key(key, guard)];
            let ttl_ms = ttl.as_millis().max(1).to_string();
            let args = vec![value.to_owned(), version.to_string(), ttl_ms];
            self.run_script(FILL_IF_CURRENT, keys, args).await
        }
        .boxed()
    }

    fn invalidate<'a>(
        &'a self,
        keys: &'a [String],
        namespaces: &'a [Namespace],
    ) -> CacheFuture<'a, ()> {
        async move {
            let mut script_keys: Vec<String> =
                namespaces.iter().map(|namespace| self.generation_key(*namespace)).collect();
            script_keys.push(format!("{}versions", self.prefix));
            for key in keys {
                script_keys.push(self.key(key));
                script_keys.push(self.version_key(key));
            }
            let args =
                vec![namespaces.len().to_string(), ENTRY_VERSION_TTL.as_millis().to_string()];
            self.run_script(INVALIDATE, script_keys, args).await
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
