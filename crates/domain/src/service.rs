//! The use cases, written once over the ports.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::cache::{
    Cache, CacheOutcome, CacheStats, CacheTtls, Cached, Guard, Namespace, NoStats, NullCache,
};
use crate::import::{ImportBatch, ImportReport};
use crate::ports::{Clock, CodeGenerator, RandomCodes, Result, Store, SystemClock};
use crate::{
    Details, Email, Error, Event, EventFilter, EventId, EventType, Link, Listing, NewEvent, NewUrl,
    NewUser, Page, ShortCode, TargetUrl, Title, Url, UrlFilter, UrlId, UrlPatch, UrlStats, User,
    UserFilter, UserId, UserPatch, Username,
};

/// How often a generated code may collide before creation gives up. With 62^6
/// codes a single collision is already rare; eight in a row means the space is
/// nearly full, which is an operator's problem, not a client's.
const CODE_ATTEMPTS: usize = 8;

/// The cached form of a code that does not redirect.
const NO_LINK: &str = "";

/// Who followed a link, as the request told us. Values are capped in length so a
/// client cannot grow the events table with huge headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClickContext {
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// The client's network, already anonymised (see [`crate::anonymise_ip`]):
    /// the full address never enters the domain.
    pub client_network: Option<IpAddr>,
}

impl ClickContext {
    const MAX_CHARS: usize = 512;

    pub fn new(referrer: Option<&str>, user_agent: Option<&str>) -> Self {
        let cap = |value: Option<&str>| value.map(|v| v.chars().take(Self::MAX_CHARS).collect());
        Self { referrer: cap(referrer), user_agent: cap(user_agent), client_network: None }
    }

    /// The same context with the client's address, kept only anonymised.
    pub fn with_client_ip(self, ip: Option<IpAddr>) -> Self {
        Self { client_network: ip.map(crate::anonymise_ip), ..self }
    }
}

/// A request to shorten a URL.
#[derive(Debug, Clone)]
pub struct CreateUrl {
    pub original_url: TargetUrl,
    pub title: Option<Title>,
    pub user_id: Option<UserId>,
    /// A custom code; a random one is generated when absent.
    pub short_code: Option<ShortCode>,
}

/// A request to record an analytics event.
#[derive(Debug, Clone)]
pub struct CreateEvent {
    pub event_type: EventType,
    pub url_id: Option<UrlId>,
    pub user_id: Option<UserId>,
    pub details: Details,
}

/// A followed link: where to send the visitor, and whether its click was written.
#[derive(Debug)]
pub struct Followed {
    pub link: Cached<Link>,
    /// Why the click is not durable yet (the store is down: it is buffered, or
    /// dropped once the buffer is full). The redirect is served regardless.
    pub click_error: Option<Error>,
}

type LinkLookup = Shared<BoxFuture<'static, Result<Option<Link>>>>;

/// A code and the version of its cache entry that the lookup's callers read: a
/// caller that read a newer version, after a write to the code, must not join a
/// lookup that may have read the row before that write. Without a cache (`None`)
/// there is no version to tell them apart, and callers share by code alone.
type LookupKey = (String, Option<u64>);

/// The shortener's use cases over a store of record and a cache.
pub struct Shortener<S> {
    store: S,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    codes: Arc<dyn CodeGenerator>,
    stats: Arc<dyn CacheStats>,
    ttls: CacheTtls,
    /// Store lookups of codes under way, so concurrent misses of one code (and one
    /// entry version) share one query (single flight) instead of stampeding the
    /// database.
    lookups: Arc<Mutex<HashMap<LookupKey, LinkLookup>>>,
}

impl<S> std::fmt::Debug for Shortener<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shortener").field("ttls", &self.ttls).finish_non_exhaustive()
    }
}

impl<S: Store> Shortener<S> {
    /// The use cases over `store` without a cache, with the system clock and
    /// CSPRNG codes.
    pub fn new(store: S) -> Self {
        Self::with_cache(store, Arc::new(NullCache))
    }

    /// The use cases over `store`, reading through `cache`.
    pub fn with_cache(store: S, cache: Arc<dyn Cache>) -> Self {
        Self {
            store,
            cache,
            clock: Arc::new(SystemClock),
            codes: Arc::new(RandomCodes),
            stats: Arc::new(NoStats),
            ttls: CacheTtls::default(),
            lookups: Arc::default(),
        }
    }

    pub fn ttls(self, ttls: CacheTtls) -> Self {
        Self { ttls, ..self }
    }

    pub fn stats(self, stats: Arc<dyn CacheStats>) -> Self {
        Self { stats, ..self }
    }

    /// A chosen clock and code source (tests pin them).
    pub fn clock_and_codes(self, clock: Arc<dyn Clock>, codes: Arc<dyn CodeGenerator>) -> Self {
        Self { clock, codes, ..self }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// `Ok` while the store of record can serve.
    pub async fn check_health(&self) -> Result<()> {
        self.store.ping().await
    }

    /// Whether the cache answers: `None` when there is no cache to ask.
    pub async fn check_cache(&self) -> Option<std::result::Result<(), crate::cache::CacheError>> {
        if self.cache.is_enabled() { Some(self.cache.ping().await) } else { None }
    }

    pub async fn create_user(&self, username: Username, email: Email) -> Result<User> {
        let user = NewUser { username, email, created_at: self.clock.now() };
        let user = self.store.create_user(user).await?;
        self.invalidate(Vec::new(), &[Namespace::Users]).await;
        Ok(user)
    }

    pub async fn get_user(&self, id: UserId) -> Result<User> {
        self.store.get_user(id).await?.ok_or(Error::UserNotFound)
    }

    pub async fn list_users(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> Result<Cached<Listing<User>>> {
        let key =
            format!("{:?}|{:?}|{}|{}", filter.username, filter.email, page.number(), page.size());
        self.cached_list(Namespace::Users, key, || self.store.list_users(filter, page)).await
    }

    pub async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        let user = self.store.update_user(id, patch).await?;
        self.invalidate(Vec::new(), &[Namespace::Users]).await;
        Ok(user)
    }

    /// Deletes a user; its URLs and events lose their owner, so their lists change.
    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        self.store.delete_user(id).await?;
        self.invalidate(Vec::new(), &[Namespace::Users, Namespace::Urls, Namespace::Events]).await;
        Ok(())
    }

    /// An empty batch for a new import: rows without `created_at` get this moment.
    pub fn new_import_batch(&self) -> ImportBatch {
        ImportBatch::new(self.clock.now())
    }

    /// Imports one validated batch, adding the outcome to `report`. Callers feed
    /// a file through this in batches so memory stays bounded.
    pub async fn import_users(&self, batch: ImportBatch, report: &mut ImportReport) -> Result<()> {
        let (users, mut refused) = batch.into_parts();
        let valid = users.len() as u64;
        let clashes = self.store.import_users(users).await?;
        self.invalidate(Vec::new(), &[Namespace::Users]).await;
        report.accept(valid - clashes.len() as u64);
        // Listed in the order of the file, whichever step refused them.
        refused.extend(clashes);
        refused.sort_by_key(|rejection| rejection.line);
        refused.into_iter().for_each(|rejection| report.reject(rejection));
        Ok(())
    }

    /// Creates a short link, with a `created` event. A generated code that happens
    /// to be taken is replaced by another; a taken custom code is the client's 409.
    pub async fn create_url(&self, request: CreateUrl) -> Result<Url> {
        let custom = request.short_code.is_some();
        let mut code = request.short_code.unwrap_or_else(|| self.codes.generate());
        for _ in 0..CODE_ATTEMPTS {
            let url = NewUrl {
                user_id: request.user_id,
                short_code: code,
                original_url: request.original_url.clone(),
                title: request.title.clone(),
                created_at: self.clock.now(),
            };
            match self.store.create_url(url).await {
                Err(Error::DuplicateShortCode) if !custom => code = self.codes.generate(),
                outcome => {
                    let url = outcome?;
                    // The code may have been looked up (and cached as missing) before.
                    self.invalidate_url(&url).await;
                    return Ok(url);
                }
            }
        }
        Err(Error::Internal(format!("no free short code after {CODE_ATTEMPTS} attempts")))
    }

    pub async fn get_url(&self, id: UrlId) -> Result<Url> {
        self.store.get_url(id).await?.ok_or(Error::UrlNotFound)
    }

    pub async fn list_urls(&self, filter: &UrlFilter, page: Page) -> Result<Cached<Listing<Url>>> {
        let key = format!(
            "{:?}|{:?}|{:?}|{}|{}",
            filter.user_id,
            filter.is_active,
            filter.short_code,
            page.number(),
            page.size()
        );
        self.cached_list(Namespace::Urls, key, || self.store.list_urls(filter, page)).await
    }

    /// Updates a URL; its cached redirect is gone before this returns, so no replica
    /// serves the old target or a deactivated code afterwards.
    pub async fn update_url(&self, id: UrlId, patch: UrlPatch) -> Result<Url> {
        let url = self.store.update_url(id, patch, self.clock.now()).await?;
        self.invalidate_url(&url).await;
        Ok(url)
    }

    pub async fn delete_url(&self, id: UrlId) -> Result<()> {
        let url = self.store.delete_url(id, self.clock.now()).await?;
        self.invalidate_url(&url).await;
        Ok(())
    }

    /// The active URL behind `code`, through the cache; inactive, deleted and
    /// unknown codes are all [`Error::UrlNotFound`] (and cached as such, briefly).
    pub async fn resolve(&self, code: &str) -> Result<Cached<Link>> {
        // A path that cannot be a code never costs a lookup.
        if ShortCode::parse(code).is_err() {
            return Err(Error::UrlNotFound);
        }
        let key = link_key(code);
        let (outcome, version) = match self.cache_get(&key, Guard::Entry).await {
            Lookup::Found(entry) => {
                self.stats.lookup(CacheOutcome::Hit);
                return match serde_json::from_str::<Link>(&entry) {
                    Ok(link) => Ok(Cached { value: link, outcome: CacheOutcome::Hit }),
                    Err(_) if entry == NO_LINK => Err(Error::UrlNotFound),
                    Err(e) => Err(Error::Internal(format!("unreadable cache entry: {e}"))),
                };
            }
            Lookup::Missing(version) => (CacheOutcome::Miss, Some(version)),
            Lookup::Bypassed => (CacheOutcome::Bypass, None),
        };
        self.stats.lookup(outcome);
        let link = self.load_link(code, key, version).await?;
        link.map(|value| Cached { value, outcome }).ok_or(Error::UrlNotFound)
    }

    /// Resolves `code` and records exactly one click on it. When this returns the
    /// click is durable, unless [`Followed::click_error`] says why not.
    pub async fn follow(&self, code: &str, context: &ClickContext) -> Result<Followed> {
        let link = self.resolve(code).await?;
        let click = NewEvent::click(&link.value, self.clock.now(), context);
        let click_error = self.store.record_click(click).await.err();
        Ok(Followed { link, click_error })
    }

    pub async fn url_stats(&self, id: UrlId) -> Result<(Url, UrlStats)> {
        let url = self.get_url(id).await?;
        let stats = self.store.url_stats(id).await?;
        Ok((url, stats))
    }

    /// The events of one URL (which must exist).
    pub async fn url_events(&self, id: UrlId, page: Page) -> Result<Listing<Event>> {
        self.get_url(id).await?;
        let filter = EventFilter { url_id: Some(id), ..EventFilter::default() };
        self.store.list_events(&filter, page).await
    }

    pub async fn create_event(&self, request: CreateEvent) -> Result<Event> {
        let event = NewEvent {
            url_id: request.url_id,
            user_id: request.user_id,
            event_type: request.event_type,
            timestamp: self.clock.now(),
            details: request.details,
        };
        let event = self.store.create_event(event).await?;
        self.invalidate(Vec::new(), &[Namespace::Events]).await;
        Ok(event)
    }

    pub async fn get_event(&self, id: EventId) -> Result<Event> {
        self.store.get_event(id).await?.ok_or(Error::EventNotFound)
    }

    /// Events matching `filter`. Pages are cached only when the filter rules out
    /// clicks: every redirect appends one, so any page that may hold clicks would
    /// need an invalidation per redirect, a cost on the hot path that the rare
    /// reads of such pages do not repay.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        page: Page,
    ) -> Result<Cached<Listing<Event>>> {
        let without_clicks = filter.event_type.as_deref().is_some_and(|t| t != NewEvent::CLICK);
        if !without_clicks {
            let listing = self.store.list_events(filter, page).await?;
            return Ok(Cached { value: listing, outcome: CacheOutcome::Bypass });
        }
        let key = format!(
            "{:?}|{:?}|{:?}|{}|{}",
            filter.url_id,
            filter.user_id,
            filter.event_type,
            page.number(),
            page.size()
        );
        self.cached_list(Namespace::Events, key, || self.store.list_events(filter, page)).await
    }

    /// Writes clicks still buffered; graceful shutdown calls this last.
    pub async fn flush_clicks(&self) -> Result<()> {
        self.store.flush_clicks().await
    }

    /// Reads through the cache: a page is stored under its namespace's current
    /// generation, so one bump makes every stored page of that list unreachable.
    async fn cached_list<T, F>(
        &self,
        namespace: Namespace,
        query: String,
        load: impl FnOnce() -> F,
    ) -> Result<Cached<Listing<T>>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: Future<Output = Result<Listing<T>>>,
    {
        let generation = match self.cache_generation(namespace).await {
            Some(generation) => generation,
            None => {
                self.stats.lookup(CacheOutcome::Bypass);
                return Ok(Cached { value: load().await?, outcome: CacheOutcome::Bypass });
            }
        };
        let key = format!("list:{}:{generation}:{query}", namespace.as_str());
        let outcome = match self.cache_get(&key, Guard::Namespace(namespace)).await {
            Lookup::Found(entry) => match serde_json::from_str(&entry) {
                Ok(listing) => {
                    self.stats.lookup(CacheOutcome::Hit);
                    return Ok(Cached { value: listing, outcome: CacheOutcome::Hit });
                }
                Err(_) => CacheOutcome::Miss,
            },
            Lookup::Missing(_) => CacheOutcome::Miss,
            Lookup::Bypassed => CacheOutcome::Bypass,
        };
        self.stats.lookup(outcome);
        let listing = load().await?;
        if outcome == CacheOutcome::Miss
            && let Ok(entry) = serde_json::to_string(&listing)
        {
            let guard = Guard::Namespace(namespace);
            self.cache_fill(&key, &entry, self.ttls.list, guard, generation).await;
        }
        Ok(Cached { value: listing, outcome })
    }

    /// Looks a code up in the store, one query for all concurrent callers, and
    /// caches the answer (unless a write to this code invalidated it meanwhile).
    /// `version` is the entry's, as read before the lookup; `None` skips the cache.
    async fn load_link(
        &self,
        code: &str,
        key: String,
        version: Option<u64>,
    ) -> Result<Option<Link>> {
        let lookup_key = (code.to_owned(), version);
        let lookup = {
            let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
            let lookup = lookups.entry(lookup_key.clone()).or_insert_with(|| {
                let (store, cache, stats) =
                    (self.store.clone(), self.cache.clone(), self.stats.clone());
                let (code, ttls) = (code.to_owned(), self.ttls);
                async move {
                    let url = store.find_url_by_code(&code).await?;
                    let link = url.filter(|url| url.is_active).map(|url| Link::from(&url));
                    if let Some(version) = version {
                        let (entry, ttl) = match &link {
                            Some(link) => {
                                (serde_json::to_string(link).unwrap_or_default(), ttls.link)
                            }
                            None => (NO_LINK.to_owned(), ttls.missing_link),
                        };
                        if cache.fill(&key, &entry, ttl, Guard::Entry, version).await.is_err() {
                            stats.error();
                        }
                    }
                    Ok(link)
                }
                .boxed()
                .shared()
            });
            lookup.clone()
        };
        let result = lookup.clone().await;
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        if lookups.get(&lookup_key).is_some_and(|current| current.ptr_eq(&lookup)) {
            lookups.remove(&lookup_key);
        }
        result
    }

    async fn invalidate_url(&self, url: &Url) {
        self.invalidate(vec![link_key(&url.short_code)], &[Namespace::Urls, Namespace::Events])
            .await;
    }

    /// Drops cached state a write made stale, before the write is answered. A
    /// failure is counted and otherwise ignored: the write is committed, and the
    /// entries' TTLs bound how long a cache that missed the invalidation (and kept
    /// its data) can serve them.
    async fn invalidate(&self, keys: Vec<String>, namespaces: &[Namespace]) {
        if self.cache.is_enabled() && self.cache.invalidate(&keys, namespaces).await.is_err() {
            self.stats.error();
        }
    }

    async fn cache_get(&self, key: &str, guard: Guard) -> Lookup {
        if !self.cache.is_enabled() {
            return Lookup::Bypassed;
        }
        match self.cache.get(key, guard).await {
            Ok((Some(entry), _)) => Lookup::Found(entry),
            Ok((None, version)) => Lookup::Missing(version),
            Err(_) => {
                self.stats.error();
                Lookup::Bypassed
            }
        }
    }

    async fn cache_generation(&self, namespace: Namespace) -> Option<u64> {
        if !self.cache.is_enabled() {
            return None;
        }
        self.cache.generation(namespace).await.inspect_err(|_| self.stats.error()).ok()
    }

    async fn cache_fill(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
        guard: Guard,
        version: u64,
    ) {
        if self.cache.fill(key, value, ttl, guard, version).await.is_err() {
            self.stats.error();
        }
    }
}

/// What the cache said about a key.
enum Lookup {
    Found(String),
    /// Not there; carries the version read with it, for the fill.
    Missing(u64),
    Bypassed,
}

fn link_key(code: &str) -> String {
    format!("link:{code}")
}
