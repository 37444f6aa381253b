//! The cache port and the rules of cache-aside that the use cases follow.
//!
//! Entries are filled only if their namespace's *generation* has not moved since
//! the reader looked: writers commit to the store first, then bump the generation
//! and delete the entries they changed. A reader that fetched from the store before
//! a write can therefore never put the old value back after the write's
//! invalidation, and one bump invalidates every cached page of a list at once
//! (list keys embed the generation) without scanning keys.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, ready};

/// A cache call that failed (unreachable, timed out, unexpected reply). Callers
/// fall back to the store of record; a cache error never fails a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(pub String);

/// Namespaces of cached data, one generation each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// Redirect lookups and URL list pages.
    Urls,
    Users,
    Events,
}

impl Namespace {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urls => "urls",
            Self::Users => "users",
            Self::Events => "events",
        }
    }
}

/// A shared, expiring key-value cache with per-namespace generations.
///
/// Any call MAY fail with [`CacheError`]; any `get` MAY miss (a cache that stores
/// nothing is a valid adapter). What an adapter MUST NOT do is return a value that
/// was invalidated.
///
/// The methods return boxed futures so that the cache is chosen at run time
/// (`dyn Cache`) without a second generic parameter through every layer; one small
/// allocation per call is nothing next to a network round trip.
pub trait Cache: Send + Sync + 'static {
    /// `false` for a cache that stores nothing: the use cases then skip it and
    /// report reads as bypassing it.
    fn is_enabled(&self) -> bool {
        true
    }

    /// The value under `key`, if any, and the current generation of `namespace`,
    /// read together.
    fn get<'a>(
        &'a self,
        key: &'a str,
        namespace: Namespace,
    ) -> CacheFuture<'a, (Option<String>, u64)>;

    /// The current generation of `namespace` (0 before the first bump).
    fn generation(&self, namespace: Namespace) -> CacheFuture<'_, u64>;

    /// Stores `value` under `key` for `ttl`, unless the generation of `namespace` is
    /// no longer `generation`; the check and the write MUST be atomic.
    fn fill<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
        namespace: Namespace,
        generation: u64,
    ) -> CacheFuture<'a, ()>;

    /// Bumps the generation of every namespace in `namespaces` and deletes `keys`.
    /// After it returns `Ok`, `get` MUST NOT return any deleted value, and `fill`
    /// with a generation read before MUST NOT store.
    fn invalidate<'a>(
        &'a self,
        keys: &'a [String],
        namespaces: &'a [Namespace],
    ) -> CacheFuture<'a, ()>;

    /// `Ok` while the cache answers.
    fn ping(&self) -> CacheFuture<'_, ()>;
}

/// What every cache call returns.
pub type CacheFuture<'a, T> = BoxFuture<'a, Result<T, CacheError>>;

/// The cache used when none is configured: stores nothing, always misses.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullCache;

impl Cache for NullCache {
    fn is_enabled(&self) -> bool {
        false
    }

    fn get<'a>(&'a self, _: &'a str, _: Namespace) -> CacheFuture<'a, (Option<String>, u64)> {
        ready(Ok((None, 0))).boxed()
    }

    fn generation(&self, _: Namespace) -> CacheFuture<'_, u64> {
        ready(Ok(0)).boxed()
    }

    fn fill<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Duration,
        _: Namespace,
        _: u64,
    ) -> CacheFuture<'a, ()> {
        ready(Ok(())).boxed()
    }

    fn invalidate<'a>(&'a self, _: &'a [String], _: &'a [Namespace]) -> CacheFuture<'a, ()> {
        ready(Ok(())).boxed()
    }

    fn ping(&self) -> CacheFuture<'_, ()> {
        ready(Ok(())).boxed()
    }
}

/// How a read was answered, for the `X-Cache` header and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// From the cache.
    Hit,
    /// From the store; the cache was asked and did not have it.
    Miss,
    /// From the store without the cache: none is configured, or it failed.
    Bypass,
}

impl CacheOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }
}

/// A value and how the cache took part in reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached<T> {
    pub value: T,
    pub outcome: CacheOutcome,
}

/// Where the use cases report what the cache did, for the metrics. Counting is
/// the adapter's business; the domain only says what happened.
pub trait CacheStats: Send + Sync + 'static {
    /// A read was answered with `outcome`.
    fn lookup(&self, outcome: CacheOutcome);
    /// A cache call failed and was worked around.
    fn error(&self);
}

/// Counts nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStats;

impl CacheStats for NoStats {
    fn lookup(&self, _: CacheOutcome) {}
    fn error(&self) {}
}

/// How long entries live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTtls {
    /// A code that redirects. Invalidation removes entries on every write; the TTL
    /// only bounds how long an entry survives an invalidation that failed.
    pub link: Duration,
    /// A code that does not (unknown, inactive, deleted): short, so that scans of
    /// random codes stay cheap without hiding new codes for long.
    pub missing_link: Duration,
    /// A page of a list.
    pub list: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        Self {
            link: Duration::from_secs(60),
            missing_link: Duration::from_secs(5),
            list: Duration::from_secs(30),
        }
    }
}
