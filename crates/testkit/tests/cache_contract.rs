//! The cache contract suite against every cache adapter.

mod null {
    async fn fresh_cache() -> std::sync::Arc<dyn domain::cache::Cache> {
        std::sync::Arc::new(domain::cache::NullCache)
    }

    testkit::cache_contract_suite!(fresh_cache);
}

mod redis {
    testkit::cache_contract_suite!(testkit::redis::fresh_cache);
}
