//! The cache contract suite against every cache adapter, and what only the Redis
//! adapter can be asked: how it behaves while Redis is down.

mod null {
    async fn fresh_cache() -> std::sync::Arc<dyn domain::cache::Cache> {
        std::sync::Arc::new(domain::cache::NullCache)
    }

    testkit::cache_contract_suite!(fresh_cache);
}

mod redis {
    use std::time::Duration;

    use domain::cache::{Cache, CacheError, Namespace};
    use testkit::redis::{PrivateRedis, cache_at};

    testkit::cache_contract_suite!(testkit::redis::fresh_cache);

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
                ("get", fails_within(bound, cache.get("k", urls)).await),
                ("generation", fails_within(bound, cache.generation(urls)).await),
                ("fill", fails_within(bound, cache.fill("k", "v", long, urls, 1)).await),
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
}
