//! Rate limits per client: GCRA buckets (the `governor` crate) keyed by the
//! client's address, shared by every worker of the replica.
//!
//! Each replica counts on its own, so behind a load balancer of N replicas a
//! client gets up to N times the configured rate; that is the price of keeping
//! Redis (which may vanish) out of the write path.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::error_body;

/// A rate: `per_minute` requests a minute on average, and up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `None` when `per_minute` is zero (no limit); a zero burst means
    /// `per_minute`.
    pub fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        Some(Self { per_minute, burst: NonZeroU32::new(burst).unwrap_or(per_minute) })
    }

    fn quota(self) -> Quota {
        Quota::per_minute(self.per_minute).allow_burst(self.burst)
    }

    /// Time for one request's worth of the bucket to come back.
    fn period(self) -> Duration {
        Duration::from_secs(60) / self.per_minute.get()
    }
}

type Buckets =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// How often (in checks) buckets of clients that went quiet are dropped, so a
/// scan from many addresses cannot grow the table without bound.
const PRUNE_EVERY: u64 = 4096;

/// The buckets of one limit.
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Buckets,
    checks: AtomicU64,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("limit", &self.limit).finish_non_exhaustive()
    }
}

/// What a check found: go ahead (with what is left), or wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed { remaining: u32, reset: Duration },
    Limited { retry_after: Duration },
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let buckets =
            RateLimiter::keyed(limit.quota()).with_middleware::<StateInformationMiddleware>();
        Self { limit, buckets, checks: AtomicU64::new(0) }
    }

    /// Takes one request from `client`'s bucket.
    pub(crate) fn check(&self, client: IpAddr) -> Verdict {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
        match self.buckets.check_key(&bucket_of(client)) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                // Until the bucket is full again.
                let reset = self.limit.period() * (self.limit.burst.get() - remaining);
                Verdict::Allowed { remaining, reset }
            }
            Err(not_until) => {
                let retry_after = not_until.wait_time_from(self.buckets.clock().now());
                Verdict::Limited { retry_after }
            }
        }
    }

    /// The `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers) of a
    /// verdict, for the answer.
    pub(crate) fn headers(&self, verdict: Verdict, headers: &mut HeaderMap) {
        let (remaining, reset) = match verdict {
            Verdict::Allowed { remaining, reset } => (remaining, reset),
            Verdict::Limited { retry_after } => (0, retry_after),
        };
        let limit = self.limit;
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        set("ratelimit-limit", limit.burst.to_string());
        set("ratelimit-remaining", remaining.to_string());
        set("ratelimit-reset", whole_seconds(reset).to_string());
        set("ratelimit-policy", format!("{};w=60;burst={}", limit.per_minute, limit.burst));
    }

    /// The 429 answer to a limited request.
    pub(crate) fn refusal(&self, verdict: Verdict) -> HttpResponse {
        let retry_after = match verdict {
            Verdict::Limited { retry_after } => whole_seconds(retry_after),
            Verdict::Allowed { .. } => 1,
        };
        let message = format!("Too many requests: retry in {retry_after} s");
        let mut response = HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry_after.to_string()))
            .json(error_body(&message, None));
        self.headers(verdict, response.headers_mut());
        response
    }
}

/// Seconds, rounded up: a client that waits `Retry-After` must find room.
fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// The bucket a client counts against: its address, or for IPv6 its /64, the
/// block a single subscriber is usually given (one host can hold billions of
/// addresses in it).
fn bucket_of(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => IpAddr::V6((v6.to_bits() & (u128::MAX << 64)).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_rate_means_no_limit_and_a_zero_burst_the_rate() {
        assert_eq!(RateLimit::new(0, 5), None);
        let limit = RateLimit::new(30, 0).unwrap();
        assert_eq!(limit.burst.get(), 30);
        assert_eq!(limit.period(), Duration::from_secs(2));
    }

    #[test]
    fn a_burst_passes_then_the_client_waits() {
        let limiter = Limiter::new(RateLimit::new(60, 3).unwrap());
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        for left in [2, 1, 0] {
            assert!(
                matches!(limiter.check(client), Verdict::Allowed { remaining, .. } if remaining == left)
            );
        }
        let Verdict::Limited { retry_after } = limiter.check(client) else {
            panic!("the fourth request is limited");
        };
        assert!(retry_after <= Duration::from_secs(1), "{retry_after:?}");
        assert_eq!(whole_seconds(retry_after), 1);
        let other: IpAddr = "203.0.113.10".parse().unwrap();
        assert!(matches!(limiter.check(other), Verdict::Allowed { .. }), "buckets are per client");
    }

    #[test]
    fn buckets_of_clients_gone_quiet_are_pruned() {
        // A bucket comes back full 1 ms after one request: by the next prune,
        // every scanning address is indistinguishable from a new client.
        let limiter = Limiter::new(RateLimit::new(60_000, 1).unwrap());
        for host in 0..1000u32 {
            limiter.check(IpAddr::V4((0xc633_6400 + host).into()));
        }
        assert_eq!(limiter.buckets.len(), 1000);
        std::thread::sleep(Duration::from_millis(5));
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        for _ in 0..PRUNE_EVERY {
            limiter.check(client);
        }
        assert!(limiter.buckets.len() <= 1, "{} buckets left", limiter.buckets.len());
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket_of(a), bucket_of(b));
        assert_ne!(bucket_of(a), bucket_of(c));
    }
}
