//! The cache contract suite: the MUST-lines of `domain::cache::Cache`, run against
//! every adapter through [`cache_contract_suite!`](crate::cache_contract_suite).
//! A cache that stores nothing passes by missing; one that stores must store
//! exactly what it was given and forget what was invalidated.

use std::sync::Arc;
use std::time::Duration;

use domain::cache::{Cache, Namespace};

/// Generates one `#[tokio::test]` per contract case; `$make` is an async function
/// returning a fresh cache (an empty key space of its own).
#[macro_export]
macro_rules! cache_contract_suite {
    ($make:path) => {
        $crate::cache_contract_suite!(@cases $make;
            a_fill_is_read_back_exactly, invalidated_keys_are_gone,
            a_fill_from_before_an_invalidation_is_refused, generations_move_on_invalidation,
            entries_expire, namespaces_and_keys_are_separate, the_cache_answers_pings
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::cache_contract::$case($make().await).await;
            }
        )*
    };
}

const LONG: Duration = Duration::from_secs(60);

async fn read(cache: &dyn Cache, key: &str) -> Option<String> {
    cache.get(key, Namespace::Urls).await.expect("get").0
}

async fn fill_current(cache: &dyn Cache, key: &str, value: &str) {
    let generation = cache.generation(Namespace::Urls).await.expect("generation");
    cache.fill(key, value, LONG, Namespace::Urls, generation).await.expect("fill");
}

pub async fn a_fill_is_read_back_exactly(cache: Arc<dyn Cache>) {
    assert_eq!(read(&*cache, "k").await, None, "a fresh cache is empty");
    fill_current(&*cache, "k", "{\"v\": \"ünïcode\"}").await;
    let expected = cache.is_enabled().then(|| "{\"v\": \"ünïcode\"}".to_owned());
    assert_eq!(read(&*cache, "k").await, expected);
    fill_current(&*cache, "k", "").await;
    assert_eq!(
        read(&*cache, "k").await,
        cache.is_enabled().then(String::new),
        "empty values are values"
    );
}

pub async fn invalidated_keys_are_gone(cache: Arc<dyn Cache>) {
    fill_current(&*cache, "a", "1").await;
    fill_current(&*cache, "b", "2").await;
    cache.invalidate(&["a".to_owned()], &[]).await.expect("invalidate");
    assert_eq!(read(&*cache, "a").await, None);
    assert_eq!(read(&*cache, "b").await, cache.is_enabled().then(|| "2".to_owned()));
}

pub async fn a_fill_from_before_an_invalidation_is_refused(cache: Arc<dyn Cache>) {
    // A reader looked (generation g), a writer then invalidated, the reader fills.
    let (_, before) = cache.get("k", Namespace::Urls).await.expect("get");
    cache.invalidate(&["k".to_owned()], &[Namespace::Urls]).await.expect("invalidate");
    cache.fill("k", "stale", LONG, Namespace::Urls, before).await.expect("fill");
    assert_eq!(read(&*cache, "k").await, None, "a stale fill must not land");
}

pub async fn generations_move_on_invalidation(cache: Arc<dyn Cache>) {
    let before = cache.generation(Namespace::Users).await.expect("generation");
    let urls = cache.generation(Namespace::Urls).await.expect("generation");
    cache.invalidate(&[], &[Namespace::Users]).await.expect("invalidate");
    let after = cache.generation(Namespace::Users).await.expect("generation");
    if cache.is_enabled() {
        assert!(after > before, "{before} -> {after}");
    }
    assert_eq!(
        cache.generation(Namespace::Urls).await.expect("generation"),
        urls,
        "other namespaces stay"
    );
}

pub async fn entries_expire(cache: Arc<dyn Cache>) {
    let generation = cache.generation(Namespace::Urls).await.expect("generation");
    cache
        .fill("brief", "x", Duration::from_millis(100), Namespace::Urls, generation)
        .await
        .expect("fill");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read(&*cache, "brief").await, None);
}

pub async fn namespaces_and_keys_are_separate(cache: Arc<dyn Cache>) {
    fill_current(&*cache, "one", "1").await;
    assert_eq!(read(&*cache, "two").await, None);
    let (value, _) = cache.get("one", Namespace::Events).await.expect("get");
    assert_eq!(
        value,
        cache.is_enabled().then(|| "1".to_owned()),
        "keys do not depend on the namespace read"
    );
}

pub async fn the_cache_answers_pings(cache: Arc<dyn Cache>) {
    assert_eq!(cache.ping().await, Ok(()));
}
