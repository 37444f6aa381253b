//! A code lookup in flight, made slow: concurrent misses of one code make one
//! store lookup, not one each; a write to that code meanwhile keeps its stale
//! answer out of the cache and out of the answers to callers that came after the
//! write, and writes to other codes do not keep it out of the cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use domain::cache::{CacheOutcome, NullCache};
use domain::import::{ImportRejection, ImportUser};
use domain::ports::{EventRepository, Result, Store, UrlRepository, UserRepository};
use domain::{
    Event, EventFilter, EventId, Listing, NewEvent, NewUrl, NewUser, Page, ShortCode, Shortener,
    TargetUrl, Url, UrlFilter, UrlId, UrlPatch, UrlStats, User, UserFilter, UserId, UserPatch,
};
use store_memory::MemoryStore;

/// The in-memory store, with code lookups that are counted and answer 100 ms
/// late with what they read at once (so a write can come between the two).
#[derive(Debug, Clone, Default)]
struct SlowLookups {
    inner: MemoryStore,
    lookups: Arc<AtomicUsize>,
}

impl UrlRepository for SlowLookups {
    async fn find_url_by_code(&self, code: &str) -> Result<Option<Url>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let url = self.inner.find_url_by_code(code).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        url
    }
    async fn create_url(&self, url: NewUrl) -> Result<Url> {
        self.inner.create_url(url).await
    }
    async fn get_url(&self, id: UrlId) -> Result<Option<Url>> {
        self.inner.get_url(id).await
    }
    async fn list_urls(&self, filter: &UrlFilter, page: Page) -> Result<Listing<Url>> {
        self.inner.list_urls(filter, page).await
    }
    async fn update_url(&self, id: UrlId, patch: UrlPatch, now: NaiveDateTime) -> Result<Url> {
        self.inner.update_url(id, patch, now).await
    }
    async fn delete_url(&self, id: UrlId, now: NaiveDateTime) -> Result<Url> {
        self.inner.delete_url(id, now).await
    }
}

impl UserRepository for SlowLookups {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.inner.create_user(user).await
    }
    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        self.inner.get_user(id).await
    }
    async fn list_users(&self, filter: &UserFilter, page: Page) -> Result<Listing<User>> {
        self.inner.list_users(filter, page).await
    }
    async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        self.inner.update_user(id, patch).await
    }
    async fn delete_user(&self, id: UserId) -> Result<()> {
        self.inner.delete_user(id).await
    }
    async fn import_users(&self, batch: Vec<ImportUser>) -> Result<Vec<ImportRejection>> {
        self.inner.import_users(batch).await
    }
}

impl EventRepository for SlowLookups {
    async fn create_event(&self, event: NewEvent) -> Result<Event> {
        self.inner.create_event(event).await
    }
    async fn get_event(&self, id: EventId) -> Result<Option<Event>> {
        self.inner.get_event(id).await
    }
    async fn list_events(&self, filter: &EventFilter, page: Page) -> Result<Listing<Event>> {
        self.inner.list_events(filter, page).await
    }
    async fn record_click(&self, click: NewEvent) -> Result<()> {
        self.inner.record_click(click).await
    }
    async fn flush_clicks(&self) -> Result<()> {
        self.inner.flush_clicks().await
    }
    async fn url_stats(&self, url_id: UrlId) -> Result<UrlStats> {
        self.inner.url_stats(url_id).await
    }
}

impl Store for SlowLookups {
    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
}

fn create_request(code: &str) -> domain::CreateUrl {
    domain::CreateUrl {
        original_url: TargetUrl::parse("https://example.com/").unwrap(),
        title: None,
        user_id: None,
        short_code: Some(ShortCode::parse(code).unwrap()),
    }
}

async fn resolve_concurrently(shortener: &Shortener<SlowLookups>, code: &str, callers: usize) {
    let lookups = (0..callers).map(|_| shortener.resolve(code));
    for outcome in futures_util::future::join_all(lookups).await {
        assert_eq!(outcome.expect("the code resolves").value.short_code, code);
    }
}

#[tokio::test]
async fn concurrent_misses_of_one_code_share_one_lookup() {
    let store = SlowLookups::default();
    let shortener = Shortener::with_cache(store.clone(), Arc::new(NullCache));
    shortener.create_url(create_request("shared")).await.unwrap();

    resolve_concurrently(&shortener, "shared", 100).await;
    assert_eq!(store.lookups.load(Ordering::SeqCst), 1, "one lookup for 100 concurrent misses");

    // Once it finished, a later miss looks again: nothing is remembered without a cache.
    resolve_concurrently(&shortener, "shared", 1).await;
    assert_eq!(store.lookups.load(Ordering::SeqCst), 2);
}

/// A shortener over slow lookups with the cache on Redis (a fresh key prefix).
async fn cached_shortener() -> Shortener<SlowLookups> {
    Shortener::with_cache(SlowLookups::default(), testkit::redis::fresh_cache().await)
}

#[tokio::test]
async fn writes_to_other_codes_during_a_lookup_do_not_keep_its_answer_out_of_the_cache() {
    let shortener = cached_shortener().await;
    shortener.create_url(create_request("busy")).await.unwrap();
    let lookup = shortener.resolve("busy");
    let writes = async {
        tokio::time::sleep(Duration::from_millis(20)).await; // the lookup is in flight
        for code in ["other1", "other2"] {
            shortener.create_url(create_request(code)).await.unwrap();
        }
    };
    let (looked_up, ()) = tokio::join!(lookup, writes);
    assert_eq!(looked_up.unwrap().outcome, CacheOutcome::Miss);
    assert_eq!(shortener.resolve("busy").await.unwrap().outcome, CacheOutcome::Hit);
}

#[tokio::test]
async fn a_write_to_the_code_during_its_lookup_keeps_the_stale_answer_out() {
    let shortener = cached_shortener().await;
    let url = shortener.create_url(create_request("moving")).await.unwrap();
    let lookup = shortener.resolve("moving");
    let deactivation = async {
        tokio::time::sleep(Duration::from_millis(20)).await; // read the active URL
        let patch = UrlPatch { is_active: Some(false), ..UrlPatch::default() };
        shortener.update_url(url.id, patch).await.unwrap();
    };
    let (looked_up, ()) = tokio::join!(lookup, deactivation);
    assert!(looked_up.is_ok(), "the lookup began before the write: it may answer the old URL");
    let after = shortener.resolve("moving").await;
    assert!(matches!(after, Err(domain::Error::UrlNotFound)), "served stale: {after:?}");
}

#[tokio::test]
async fn a_caller_after_a_write_does_not_share_a_lookup_from_before_it() {
    let shortener = cached_shortener().await;
    let url = shortener.create_url(create_request("shifting")).await.unwrap();
    let before = shortener.resolve("shifting"); // reads the active URL at once
    let after = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let patch = UrlPatch { is_active: Some(false), ..UrlPatch::default() };
        shortener.update_url(url.id, patch).await.unwrap();
        // The deactivation has been answered: nobody may be redirected now, even
        // while the lookup that began before it is still in flight.
        shortener.resolve("shifting").await
    };
    let (_, after) = tokio::join!(before, after);
    assert!(matches!(after, Err(domain::Error::UrlNotFound)), "served stale: {after:?}");
}
