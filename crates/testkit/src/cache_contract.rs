//! The cache contract suite: the MUST-lines of `domain::cache::Cache`, run against
//! every adapter through [`cache_contract_suite!`](crate::cache_contract_suite).
//! A cache that stores nothing passes by missing; one that stores must store
//! exactly what it was given and forget what was invalidated.

use std::sync::Arc;
use std::time::Duration;

use domain::cache::{Cache, Guard, Namespace};

/// Generates one `#[tokio::test]` per contract case; `$make` is an async function
/// returning a fresh cache (an empty key space of its own).
#[macro_export]
macro_rules! cache_contract_suite {
    ($make:path) => {
        $crate::cache_contract_suite!(@cases $make;
            a_fill_is_read_back_exactly, invalidated_keys_are_gone,
            a_fill_from_before_an_invalidation_is_refused, generations_move_on_invalidation,
            an_entry_fill_is_refused_only_by_a_write_to_that_entry,
            entry_versions_never_repeat,
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

const URLS: Guard = Guard::Namespace(Namespace::Urls);

async fn read(cache: &dyn Cache, key: &str) -> Option<String> {
    cache.get(key, URLS).await.expect("get").0
}

async fn fill_current(cache: &dyn Cache, key: &str, value: &str) {
    let generation = cache.generation(Namespace::Urls).await.expect("generation");
    cache.fill(key, value, LONG, URLS, generation).await.expect("fill");
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
    // A reader looked (version v), a writer then invalidated, the reader fills.
    for guard in [URLS, Guard::Entry] {
        let (_, before) = cache.get("k", guard).await.expect("get");
        cache.invalidate(&["k".to_owned()], &[Namespace::Urls]).await.expect("invalidate");
        cache.fill("k", "stale", LONG, guard, before).await.expect("fill");
        assert_eq!(read(&*cache, "k").await, None, "a stale fill must not land ({guard:?})");
    }
    // A namespace's fill is refused by a write to it even if the key was not deleted.
    let (_, before) = cache.get("page", URLS).await.expect("get");
    cache.invalidate(&[], &[Namespace::Urls]).await.expect("invalidate");
    cache.fill("page", "stale", LONG, URLS, before).await.expect("fill");
    assert_eq!(read(&*cache, "page").await, None, "a stale page must not land");
}

pub async fn an_entry_fill_is_refused_only_by_a_write_to_that_entry(cache: Arc<dyn Cache>) {
    // A reader of "mine" looked; writes to other entries and to every namespace
    // happened meanwhile: the fill still lands (a busy service keeps its hits).
    let (_, before) = cache.get("mine", Guard::Entry).await.expect("get");
    let everything = [Namespace::Urls, Namespace::Users, Namespace::Events];
    cache.invalidate(&["other".to_owned()], &everything).await.expect("invalidate");
    cache.fill("mine", "fresh", LONG, Guard::Entry, before).await.expect("fill");
    assert_eq!(read(&*cache, "mine").await, cache.is_enabled().then(|| "fresh".to_owned()));
}

pub async fn entry_versions_never_repeat(cache: Arc<dyn Cache>) {
    // Each invalidation of an entry gives it a version it never had: a reader
    // holding an older one cannot fill, however many writes came in between.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, version) = cache.get("k", Guard::Entry).await.expect("get");
        seen.push(version);
        cache.invalidate(&["k".to_owned()], &[]).await.expect("invalidate");
        cache.invalidate(&["elsewhere".to_owned()], &[]).await.expect("invalidate");
    }
    for version in seen {
        cache.fill("k", "stale", LONG, Guard::Entry, version).await.expect("fill");
        assert_eq!(read(&*cache, "k").await, None, "version {version} came back");
    }
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
    cache.fill("brief", "x", Duration::from_millis(100), URLS, generation).await.expect("fill");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read(&*cache, "brief").await, None);
}

pub async fn namespaces_and_keys_are_separate(cache: Arc<dyn Cache>) {
    fill_current(&*cache, "one", "1").await;
    assert_eq!(read(&*cache, "two").await, None);
    let (value, _) = cache.get("one", Guard::Namespace(Namespace::Events)).await.expect("get");
    assert_eq!(
        value,
        cache.is_enabled().then(|| "1".to_owned()),
        "keys do not depend on the namespace read"
    );
}

pub async fn the_cache_answers_pings(cache: Arc<dyn Cache>) {
    assert_eq!(cache.ping().await, Ok(()));
}
