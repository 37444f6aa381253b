//! The cache contract suite against every cache adapter, and what only the Redis
//! adapter can be asked: how it behaves while Redis is down, and that its
//! versions survive a restart of Redis.

mod null {
    async fn fresh_cache() -> std::sync::Arc<dyn domain::cache::Cache> {
        std::sync::Arc::new(domain::cache::NullCache)
    }

    testkit::cache_contract_suite!(fresh_cache);
}

mod redis {
    use std::time::{Duration, Instant};

    use domain::cache::{Cache, CacheError, Guard, Namespace};
    use testkit::redis::{PrivateRedis, cache_at};

    testkit::cache_contract_suite!(testkit::redis::fresh_cache);

    /// Retries `call` while the client reconnects to a restarted server.
    async fn once_connected<T, F: Future<Output = Result<T, CacheError>>>(
        call: impl Fn() -> F,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match call().await {
                Ok(value) => return value,
                Err(e) => assert!(Instant::now() < deadline, "Redis did not come back: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn every_call_gives_up_while_redis_is_down() {
        // Each call must fail (and the request fall back to the database), not wait
        // for Redis to return. A bound far above the 50 ms time-out, so that a busy
        // machine cannot fail it; what it catches is a call that waits for ever.
        let mut redis = PrivateRedis::start();
        let cache = cache_at(&redis.url(), "down:").await;
        redis.stop();
        let bound = Duration::from_secs(2);
        let key = ["k".to_owned()];
        let long = Duration::from_secs(60);
        let urls = Namespace::Urls;
        for round in 0..2 {
            let outcomes = [
                ("get", fails_within(bound, cache.get("k", Guard::Entry)).await),
                ("generation", fails_within(bound, cache.generation(urls)).await),
                ("fill", fails_within(bound, cache.fill("k", "v", long, Guard::Entry, 1)).await),
                ("invalidate", fails_within(bound, cache.invalidate(&key, &[urls])).await),
                ("ping", fails_within(bound, cache.ping()).await),
            ];
            for (call, failed) in outcomes {
                assert_eq!(failed, Some(true), "{call} (round {round}): None is waiting for ever");
            }
        }
    }

    /// Whether `call` failed; `None` if it did not finish within `bound`.
    async fn fails_within<T>(
        bound: Duration,
        call: impl Future<Output = Result<T, CacheError>>,
    ) -> Option<bool> {
        tokio::time::timeout(bound, call).await.ok().map(|outcome| outcome.is_err())
    }

    #[tokio::test]
    async fn a_redis_that_restarts_empty_does_not_hand_out_old_versions_again() {
        // A reader holds a version from before the restart; as many writes after
        // it as before must not bring that number back, or its stale fill lands.
        let mut redis = PrivateRedis::start();
        let cache = cache_at(&redis.url(), "restart:").await;
        let key = ["k".to_owned()];
        for guard in [Guard::Namespace(Namespace::Urls), Guard::Entry] {
            for _ in 0..3 {
                once_connected(|| cache.invalidate(&key, &[Namespace::Urls])).await;
            }
            let (_, held) = once_connected(|| cache.get("k", guard)).await;
            redis.stop();
            redis.resume();
            for _ in 0..3 {
                once_connected(|| cache.invalidate(&key, &[Namespace::Urls])).await;
            }
            let long = Duration::from_secs(60);
            once_connected(|| cache.fill("k", "stale", long, guard, held)).await;
            let (value, now) = once_connected(|| cache.get("k", guard)).await;
            assert_eq!(value, None, "{guard:?}: version {held} came back as {now}");
        }
    }
}
