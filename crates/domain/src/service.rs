//! The use cases, written once over the ports.

use std::sync::Arc;

use crate::import::{ImportReport, ImportRow};
use crate::ports::{Clock, CodeGenerator, RandomCodes, Result, Store, SystemClock};
use crate::{
    Details, Email, Error, Event, EventFilter, EventId, EventType, Listing, NewEvent, NewUrl,
    NewUser, Page, ShortCode, TargetUrl, Title, Url, UrlFilter, UrlId, UrlPatch, UrlStats, User,
    UserFilter, UserId, UserPatch, Username,
};

/// How often a generated code may collide before creation gives up. With 62^6
/// codes a single collision is already rare; eight in a row means the space is
/// nearly full, which is an operator's problem, not a client's.
const CODE_ATTEMPTS: usize = 8;

/// Who followed a link, as the request told us. Values are capped in length so a
/// client cannot grow the events table with huge headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClickContext {
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
}

impl ClickContext {
    const MAX_CHARS: usize = 512;

    pub fn new(referrer: Option<&str>, user_agent: Option<&str>) -> Self {
        let cap = |value: Option<&str>| value.map(|v| v.chars().take(Self::MAX_CHARS).collect());
        Self { referrer: cap(referrer), user_agent: cap(user_agent) }
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

/// The shortener's use cases over a store of record.
pub struct Shortener<S> {
    store: S,
    clock: Arc<dyn Clock>,
    codes: Arc<dyn CodeGenerator>,
}

impl<S> std::fmt::Debug for Shortener<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shortener").finish_non_exhaustive()
    }
}

impl<S: Store> Shortener<S> {
    /// The use cases over `store`, with the system clock and CSPRNG codes.
    pub fn new(store: S) -> Self {
        Self::with_parts(store, Arc::new(SystemClock), Arc::new(RandomCodes))
    }

    /// The use cases with a chosen clock and code source (tests pin them).
    pub fn with_parts(store: S, clock: Arc<dyn Clock>, codes: Arc<dyn CodeGenerator>) -> Self {
        Self { store, clock, codes }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// `Ok` while the store of record can serve.
    pub async fn check_health(&self) -> Result<()> {
        self.store.ping().await
    }

    pub async fn create_user(&self, username: Username, email: Email) -> Result<User> {
        let user = NewUser { username, email, created_at: self.clock.now() };
        self.store.create_user(user).await
    }

    pub async fn get_user(&self, id: UserId) -> Result<User> {
        self.store.get_user(id).await?.ok_or(Error::UserNotFound)
    }

    pub async fn list_users(&self, filter: &UserFilter, page: Page) -> Result<Listing<User>> {
        self.store.list_users(filter, page).await
    }

    pub async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        self.store.update_user(id, patch).await
    }

    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        self.store.delete_user(id).await
    }

    /// Validates and imports one batch of rows, adding the outcome to `report`.
    /// Callers feed a file through this in batches so memory stays bounded.
    pub async fn import_users(
        &self,
        rows: Vec<ImportRow>,
        report: &mut ImportReport,
    ) -> Result<()> {
        let now = self.clock.now();
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            match row.validate(now) {
                Ok(user) => batch.push(user),
                Err(rejection) => report.reject(rejection),
            }
        }
        let valid = batch.len() as u64;
        let rejections = self.store.import_users(batch).await?;
        report.accept(valid - rejections.len() as u64);
        rejections.into_iter().for_each(|rejection| report.reject(rejection));
        Ok(())
    }

    /// Creates a short link, with a `created` event. A generated code that happens
    /// to be taken is replaced by another; a taken custom code is the client's 409.
    pub async fn create_url(&self, request: CreateUrl) -> Result<Url> {
        let custom = request.short_code.is_some();
        let mut code = request.short_code.unwrap_or_else(|| self.codes.generate());
        for _ in 1..CODE_ATTEMPTS {
            let url = NewUrl {
                user_id: request.user_id,
                short_code: code,
                original_url: request.original_url.clone(),
                title: request.title.clone(),
                created_at: self.clock.now(),
            };
            match self.store.create_url(url).await {
                Err(Error::DuplicateShortCode) if !custom => code = self.codes.generate(),
                outcome => return outcome,
            }
        }
        Err(Error::Internal(format!("no free short code after {CODE_ATTEMPTS} attempts")))
    }

    pub async fn get_url(&self, id: UrlId) -> Result<Url> {
        self.store.get_url(id).await?.ok_or(Error::UrlNotFound)
    }

    pub async fn list_urls(&self, filter: &UrlFilter, page: Page) -> Result<Listing<Url>> {
        self.store.list_urls(filter, page).await
    }

    pub async fn update_url(&self, id: UrlId, patch: UrlPatch) -> Result<Url> {
        self.store.update_url(id, patch, self.clock.now()).await
    }

    pub async fn delete_url(&self, id: UrlId) -> Result<()> {
        self.store.delete_url(id, self.clock.now()).await.map(drop)
    }

    /// The active URL behind `code`; inactive, deleted and unknown codes are all
    /// [`Error::UrlNotFound`].
    pub async fn resolve(&self, code: &str) -> Result<Url> {
        // A path that cannot be a code never costs a store lookup.
        if ShortCode::parse(code).is_err() {
            return Err(Error::UrlNotFound);
        }
        match self.store.find_url_by_code(code).await? {
            Some(url) if url.is_active => Ok(url),
            _ => Err(Error::UrlNotFound),
        }
    }

    /// Resolves `code` and records exactly one click on it; the click is durable
    /// when this returns.
    pub async fn follow(&self, code: &str, context: &ClickContext) -> Result<Url> {
        let url = self.resolve(code).await?;
        self.store.record_click(NewEvent::click(&url, self.clock.now(), context)).await?;
        Ok(url)
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
        self.store.create_event(event).await
    }

    pub async fn get_event(&self, id: EventId) -> Result<Event> {
        self.store.get_event(id).await?.ok_or(Error::EventNotFound)
    }

    pub async fn list_events(&self, filter: &EventFilter, page: Page) -> Result<Listing<Event>> {
        self.store.list_events(filter, page).await
    }
}
