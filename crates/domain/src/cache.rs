//! The cache port and the rules of cache-aside that the use cases follow.
//!
//! Entries are filled only if the *version* guarding them has not moved since the
//! reader looked: writers commit to the store first, then move the versions and
//! delete the entries they changed. A reader that fetched from the store before a
//! write can therefore never put the old value back after the write's
//! invalidation. Two kinds of version (see [`Guard`]): a namespace's generation,
//! which one write moves for every page of a list at once (list keys embed it, so
//! no key scan), and an entry's own version, which only a write to that entry
//! moves, so that writes elsewhere do not keep refusing the fills of a busy key.

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

/// What a fill is conditional on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The generation of a namespace, moved by every write to it: for list
    /// pages, which any write can change.
    Namespace(Namespace),
    /// The entry's own version, moved when an invalidation deletes its key: for
    /// the entry of one thing (a link), which only a write to it changes.
    Entry,
}

/// A shared, expiring key-value cache with versions that guard its fills.
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

    /// The value under `key`, if any, and the current version of `guard` for it,
    /// read together.
    fn get<'a>(&'a self, key: &'a str, guard: Guard) -> CacheFuture<'a, (Option<String>, u64)>;

    /// The current generation of `namespace` (0 before the first bump).
    fn generation(&self, namespace: Namespace) -> CacheFuture<'_, u64>;

    /// Stores `value` under `key` for `ttl`, unless the version of `guard` for it
    /// is no longer `version`; the check and the write MUST be atomic.
    fn fill<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
        guard: Guard,
        version: u64,
    ) -> CacheFuture<'a, ()>;

    /// Bumps the generation of every namespace in `namespaces`, deletes `keys` and
    /// moves their entry versions. After it returns `Ok`, `get` MUST NOT return
    /// any deleted value, and a `fill` with a version read before (of a bumped
    /// namespace, or of a deleted key's entry) MUST NOT store. A version MUST NOT
    /// come back to a value a reader may still hold.
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

    fn get<'a>(&'a self, _: &'a str, _: Guard) -> CacheFuture<'a, (Option<String>, u64)> {
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
        _: Guard,
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
