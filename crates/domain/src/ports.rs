//! The ports: what the domain needs from the outside world. Each repository method
//! says which [`Error`] variants it MUST return; `testkit` holds the contract suite
//! that checks every adapter against these lines.
//!
//! Every method MAY also fail with [`Error::Unavailable`] (the store cannot be
//! reached) or [`Error::Internal`]; adapters never leak driver errors otherwise.

use std::future::Future;

use chrono::NaiveDateTime;

use crate::api_keys::{ApiKey, KeyHash, KeySelector, NewApiKey};
use crate::import::{ImportRejection, ImportUser};
use crate::{
    Error, Event, EventFilter, EventId, Listing, NewEvent, NewUrl, NewUser, Page, Url, UrlFilter,
    UrlId, UrlPatch, UrlStats, User, UserFilter, UserId, UserPatch,
};

pub type Result<T> = std::result::Result<T, Error>;

pub trait UserRepository: Send + Sync + 'static {
    /// Inserts a user with a fresh id, never one an imported user holds.
    /// A taken username MUST yield [`Error::DuplicateUsername`]; an e-mail whose
    /// [`crate::Email::key`] is taken MUST yield [`Error::DuplicateEmail`].
    fn create_user(&self, user: NewUser) -> impl Future<Output = Result<User>> + Send;

    /// `None` when no user has this id.
    fn get_user(&self, id: UserId) -> impl Future<Output = Result<Option<User>>> + Send;

    /// Users matching `filter`, ordered by id, and how many match in all.
    fn list_users(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> impl Future<Output = Result<Listing<User>>> + Send;

    /// Applies `patch` atomically. A missing user MUST yield [`Error::UserNotFound`];
    /// a username or e-mail held by another user MUST yield the duplicate variants.
    fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
    ) -> impl Future<Output = Result<User>> + Send;

    /// Deletes the user; its URLs and events stay, with `user_id` set to null. A
    /// missing user MUST yield [`Error::UserNotFound`].
    fn delete_user(&self, id: UserId) -> impl Future<Output = Result<()>> + Send;

    /// Imports one batch of already validated rows, in order, atomically:
    /// - a row whose username exists (in the store or earlier in the batch) is
    ///   accepted and changes nothing;
    /// - a row with an id that is free keeps it; with a taken id it gets a fresh one,
    ///   and later [`Self::create_user`] calls never collide with imported ids;
    /// - a row whose e-mail another user holds is rejected, with its line.
    ///
    /// Returns the rejected rows; every other row counts as accepted.
    fn import_users(
        &self,
        batch: Vec<ImportUser>,
    ) -> impl Future<Output = Result<Vec<ImportRejection>>> + Send;
}

pub trait UrlRepository: Send + Sync + 'static {
    /// Inserts the URL (active, `updated_at` = `created_at`) and, in the same
    /// transaction, its [`NewEvent::url_created`] event. A code that exists, even on
    /// a deleted URL, MUST yield [`Error::DuplicateShortCode`]; an unknown `user_id`
    /// MUST yield [`Error::UserNotFound`].
    fn create_url(&self, url: NewUrl) -> impl Future<Output = Result<Url>> + Send;

    /// `None` when no URL has this id or it was deleted.
    fn get_url(&self, id: UrlId) -> impl Future<Output = Result<Option<Url>>> + Send;

    /// The URL, active or not, holding this exact (case-sensitive) code; `None` when
    /// there is none or it was deleted.
    fn find_url_by_code(&self, code: &str) -> impl Future<Output = Result<Option<Url>>> + Send;

    /// URLs matching `filter`, deleted ones excluded, ordered by id.
    fn list_urls(
        &self,
        filter: &UrlFilter,
        page: Page,
    ) -> impl Future<Output = Result<Listing<Url>>> + Send;

    /// Applies [`UrlPatch::apply`] to the current row and records the events it
    /// yields, in one transaction. A missing or deleted URL MUST yield
    /// [`Error::UrlNotFound`].
    fn update_url(
        &self,
        id: UrlId,
        patch: UrlPatch,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<Url>> + Send;

    /// Marks the URL deleted (its code stays taken for ever, its events stay) and
    /// records [`NewEvent::url_deleted`], in one transaction. A missing or already
    /// deleted URL MUST yield [`Error::UrlNotFound`].
    fn delete_url(&self, id: UrlId, now: NaiveDateTime)
    -> impl Future<Output = Result<Url>> + Send;
}

pub trait EventRepository: Send + Sync + 'static {
    /// Inserts an event. An unknown `user_id` MUST yield [`Error::UserNotFound`]; an
    /// unknown or deleted `url_id` MUST yield [`Error::UrlNotFound`].
    fn create_event(&self, event: NewEvent) -> impl Future<Output = Result<Event>> + Send;

    /// `None` when no event has this id.
    fn get_event(&self, id: EventId) -> impl Future<Output = Result<Option<Event>>> + Send;

    /// Events matching `filter`, ordered by id.
    fn list_events(
        &self,
        filter: &EventFilter,
        page: Page,
    ) -> impl Future<Output = Result<Listing<Event>>> + Send;

    /// Records a click on a URL that was just resolved, attributed to the URL's
    /// owner at the time of writing (the click's own `user_id` is ignored). `Ok`
    /// MUST mean the click is durable (listed by [`Self::list_events`]); an adapter
    /// MAY batch concurrent clicks into one write to get there. When the store is
    /// unreachable it MAY keep the click in a bounded buffer for later and return
    /// [`Error::Unavailable`].
    fn record_click(&self, click: NewEvent) -> impl Future<Output = Result<()>> + Send;

    /// Returns once every click recorded before the call is durable, or fails when
    /// some could not be written (graceful shutdown calls this last).
    fn flush_clicks(&self) -> impl Future<Output = Result<()>> + Send;

    /// Click count and latest click of a URL (zero and `None` when it has none).
    fn url_stats(&self, url_id: UrlId) -> impl Future<Output = Result<UrlStats>> + Send;
}

/// The API keys of `AUTH_MODE=api-key`: digests only, never a secret.
pub trait ApiKeyRepository: Send + Sync + 'static {
    /// Stores a key with a fresh id, not revoked. A name any key holds, revoked
    /// or not, MUST yield [`Error::DuplicateKeyName`].
    fn create_api_key(&self, key: NewApiKey) -> impl Future<Output = Result<ApiKey>> + Send;

    /// The key whose digest is `hash`, revoked or not; `None` when there is none.
    fn find_api_key(&self, hash: &KeyHash) -> impl Future<Output = Result<Option<ApiKey>>> + Send;

    /// Every key, revoked ones included, ordered by id.
    fn list_api_keys(&self) -> impl Future<Output = Result<Vec<ApiKey>>> + Send;

    /// Revokes the selected key at `now` and returns it; from then on
    /// [`Self::find_api_key`] MUST return it with `revoked_at` set. Revoking a
    /// revoked key changes nothing (it keeps its first `revoked_at`). An unknown
    /// id or name MUST yield [`Error::KeyNotFound`].
    fn revoke_api_key(
        &self,
        key: &KeySelector,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<ApiKey>> + Send;
}

/// Everything the use cases need from a store of record. Clones share the store.
pub trait Store: UserRepository + UrlRepository + EventRepository + Clone {
    /// `Ok` while the store can serve requests.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;
}

/// The time, so tests can pin it. Implementations return UTC truncated to whole
/// seconds: the API serialises timestamps without a fraction.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> NaiveDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        use chrono::Timelike;
        let now = chrono::Utc::now().naive_utc();
        now.with_nanosecond(0).unwrap_or(now)
    }
}

/// Source of short codes for new URLs.
pub trait CodeGenerator: Send + Sync + 'static {
    fn generate(&self) -> crate::ShortCode;
}

/// Codes from the thread-local CSPRNG (ChaCha, seeded from the OS), so codes of one
/// client cannot be predicted from another's.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomCodes;

impl CodeGenerator for RandomCodes {
    fn generate(&self) -> crate::ShortCode {
        crate::ShortCode::random(&mut rand::rng())
    }
}
