//! The shortener's repository ports held in memory: the zero-setup default store
//! and the second implementation every port contract suite runs against.
//!
//! It behaves as the database does (unique usernames, e-mails and codes, foreign
//! keys, soft-deleted URLs whose codes stay taken), so a test that passes here and
//! fails on PostgreSQL points at a bug in one of them. All tables sit behind one
//! mutex: each operation is atomic, like a transaction. Nothing survives a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDateTime;
use domain::api_keys::{ApiKey, KeyHash, KeySelector, NewApiKey};
use domain::import::{ImportRejection, ImportUser};
use domain::ports::{
    ApiKeyRepository, EventRepository, Result, Store, UrlRepository, UserRepository,
};
use domain::{
    Error, Event, EventFilter, EventId, Listing, NewEvent, NewUrl, NewUser, Page, Url, UrlFilter,
    UrlId, UrlPatch, UrlStats, User, UserFilter, UserId, UserPatch,
};

/// The in-memory store; clones share the same tables.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
}

#[derive(Debug, Default)]
struct Tables {
    users: BTreeMap<UserId, User>,
    user_by_name: HashMap<String, UserId>,
    user_by_email: HashMap<String, UserId>,
    last_user_id: UserId,
    urls: BTreeMap<UrlId, StoredUrl>,
    url_by_code: HashMap<String, UrlId>,
    last_url_id: UrlId,
    /// Ordered by id: ids are handed out in insertion order.
    events: Vec<Event>,
    /// Ordered by id, like events; with the digest each key is found by.
    api_keys: Vec<(KeyHash, ApiKey)>,
}

#[derive(Debug)]
struct StoredUrl {
    url: Url,
    deleted: bool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied change: every
        // operation checks all its rules before it mutates anything.
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn page_of<T: Clone>(matching: impl Iterator<Item = T>, page: Page) -> Listing<T> {
    let mut total = 0u64;
    let mut items = Vec::new();
    let offset = page.offset();
    for item in matching {
        if total >= offset && items.len() < page.size() as usize {
            items.push(item);
        }
        total += 1;
    }
    Listing { items, total }
}

impl Tables {
    fn live_url(&self, id: UrlId) -> Option<&Url> {
        self.urls.get(&id).filter(|stored| !stored.deleted).map(|stored| &stored.url)
    }

    fn check_unique_user(
        &self,
        username: &str,
        email_key: &str,
        except: Option<UserId>,
    ) -> Result<()> {
        let taken_by_other = |owner: Option<&UserId>| owner.is_some_and(|id| Some(*id) != except);
        if taken_by_other(self.user_by_name.get(username)) {
            return Err(Error::DuplicateUsername);
        }
        if taken_by_other(self.user_by_email.get(email_key)) {
            return Err(Error::DuplicateEmail);
        }
        Ok(())
    }

    fn insert_user(
        &mut self,
        id: UserId,
        username: &str,
        email: &domain::Email,
        created_at: NaiveDateTime,
    ) -> User {
        let user = User {
            id,
            username: username.to_owned(),
            email: email.as_str().to_owned(),
            created_at,
        };
        self.user_by_name.insert(user.username.clone(), id);
        self.user_by_email.insert(email.key(), id);
        self.last_user_id = self.last_user_id.max(id);
        self.users.insert(id, user.clone());
        user
    }

    fn push_event(&mut self, event: NewEvent) -> Event {
        let event = Event {
            id: self.events.len() as EventId + 1,
            url_id: event.url_id,
            user_id: event.user_id,
            event_type: event.event_type.as_str().to_owned(),
            timestamp: event.timestamp,
            details: event.details,
        };
        self.events.push(event.clone());
        event
    }
}

impl UserRepository for MemoryStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        let mut tables = self.tables();
        tables.check_unique_user(user.username.as_str(), &user.email.key(), None)?;
        let id = tables.last_user_id + 1;
        Ok(tables.insert_user(id, user.username.as_str(), &user.email, user.created_at))
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.tables().users.get(&id).cloned())
    }

    async fn list_users(&self, filter: &UserFilter, page: Page) -> Result<Listing<User>> {
        let email = filter.email.as_ref().map(|e| e.trim().to_lowercase());
        let tables = self.tables();
        let matching = tables.users.values().filter(|user| {
            filter.username.as_ref().is_none_or(|name| &user.username == name)
                && email.as_ref().is_none_or(|key| &user.email.to_lowercase() == key)
        });
        Ok(page_of(matching.cloned(), page))
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        let mut tables = self.tables();
        let current = tables.users.get(&id).cloned().ok_or(Error::UserNotFound)?;
        let next = patch.apply(&current);
        tables.check_unique_user(&next.username, &next.email.to_lowercase(), Some(id))?;
        tables.user_by_name.remove(&current.username);
        tables.user_by_email.remove(&current.email.to_lowercase());
        tables.user_by_name.insert(next.username.clone(), id);
        tables.user_by_email.insert(next.email.to_lowercase(), id);
        tables.users.insert(id, next.clone());
        Ok(next)
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        let mut tables = self.tables();
        let user = tables.users.remove(&id).ok_or(Error::UserNotFound)?;
        tables.user_by_name.remove(&user.username);
        tables.user_by_email.remove(&user.email.to_lowercase());
        // What ON DELETE SET NULL does in the database.
        for stored in tables.urls.values_mut().filter(|s| s.url.user_id == Some(id)) {
            stored.url.user_id = None;
        }
        for event in tables.events.iter_mut().filter(|e| e.user_id == Some(id)) {
            event.user_id = None;
        }
        Ok(())
    }

    async fn import_users(&self, batch: Vec<ImportUser>) -> Result<Vec<ImportRejection>> {
        let mut tables = self.tables();
        let mut rejections = Vec::new();
        for row in batch {
            if tables.user_by_name.contains_key(row.username.as_str()) {
                continue;
            }
            if tables.user_by_email.contains_key(&row.email.key()) {
                rejections.push(ImportRejection {
                    line: row.line,
                    reason: "email: already exists".into(),
                });
                continue;
            }
            let id = match row.id {
                Some(id) if !tables.users.contains_key(&id) => id,
                _ => tables.last_user_id + 1,
            };
            tables.insert_user(id, row.username.as_str(), &row.email, row.created_at);
        }
        Ok(rejections)
    }
}

impl UrlRepository for MemoryStore {
    async fn create_url(&self, new: NewUrl) -> Result<Url> {
        let mut tables = self.tables();
        if tables.url_by_code.contains_key(new.short_code.as_str()) {
            return Err(Error::DuplicateShortCode);
        }
        if new.user_id.is_some_and(|id| !tables.users.contains_key(&id)) {
            return Err(Error::UserNotFound);
        }
        tables.last_url_id += 1;
        let url = Url {
            id: tables.last_url_id,
            user_id: new.user_id,
            short_code: new.short_code.as_str().to_owned(),
            original_url: new.original_url.as_str().to_owned(),
            title: new.title.map(|t| t.as_str().to_owned()),
            is_active: true,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        tables.url_by_code.insert(url.short_code.clone(), url.id);
        tables.urls.insert(url.id, StoredUrl { url: url.clone(), deleted: false });
        tables.push_event(NewEvent::url_created(&url));
        Ok(url)
    }

    async fn get_url(&self, id: UrlId) -> Result<Option<Url>> {
        Ok(self.tables().live_url(id).cloned())
    }

    async fn find_url_by_code(&self, code: &str) -> Result<Option<Url>> {
        let tables = self.tables();
        Ok(tables.url_by_code.get(code).and_then(|id| tables.live_url(*id)).cloned())
    }

    async fn list_urls(&self, filter: &UrlFilter, page: Page) -> Result<Listing<Url>> {
        let tables = self.tables();
        let matching = tables.urls.values().filter(|s| !s.deleted).map(|s| &s.url).filter(|url| {
            filter.user_id.is_none_or(|id| url.user_id == Some(id))
                && filter.is_active.is_none_or(|active| url.is_active == active)
                && filter.short_code.as_ref().is_none_or(|code| &url.short_code == code)
        });
        Ok(page_of(matching.cloned(), page))
    }

    async fn update_url(&self, id: UrlId, patch: UrlPatch, now: NaiveDateTime) -> Result<Url> {
        let mut tables = self.tables();
        let current = tables.live_url(id).ok_or(Error::UrlNotFound)?;
        let (next, events) = patch.apply(current, now);
        if let Some(stored) = tables.urls.get_mut(&id) {
            stored.url = next.clone();
        }
        events.into_iter().for_each(|event| drop(tables.push_event(event)));
        Ok(next)
    }

    async fn delete_url(&self, id: UrlId, now: NaiveDateTime) -> Result<Url> {
        let mut tables = self.tables();
        let stored = tables.urls.get_mut(&id).filter(|s| !s.deleted).ok_or(Error::UrlNotFound)?;
        stored.deleted = true;
        let url = stored.url.clone();
        tables.push_event(NewEvent::url_deleted(&url, now));
        Ok(url)
    }
}

impl EventRepository for MemoryStore {
    async fn create_event(&self, event: NewEvent) -> Result<Event> {
        let mut tables = self.tables();
        if event.user_id.is_some_and(|id| !tables.users.contains_key(&id)) {
            return Err(Error::UserNotFound);
        }
        if event.url_id.is_some_and(|id| tables.live_url(id).is_none()) {
            return Err(Error::UrlNotFound);
        }
        Ok(tables.push_event(event))
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>> {
        let index = usize::try_from(id - 1).ok();
        Ok(index.and_then(|i| self.tables().events.get(i).cloned()))
    }

    async fn list_events(&self, filter: &EventFilter, page: Page) -> Result<Listing<Event>> {
        let tables = self.tables();
        let matching = tables.events.iter().filter(|event| {
            filter.url_id.is_none_or(|id| event.url_id == Some(id))
                && filter.user_id.is_none_or(|id| event.user_id == Some(id))
                && filter.event_type.as_ref().is_none_or(|t| &event.event_type == t)
        });
        Ok(page_of(matching.cloned(), page))
    }

    async fn record_click(&self, mut click: NewEvent) -> Result<()> {
        let mut tables = self.tables();
        click.user_id =
            click.url_id.and_then(|id| tables.urls.get(&id)).and_then(|s| s.url.user_id);
        tables.push_event(click);
        Ok(())
    }

    async fn flush_clicks(&self) -> Result<()> {
        Ok(())
    }

    async fn url_stats(&self, url_id: UrlId) -> Result<UrlStats> {
        let tables = self.tables();
        let clicks = tables
            .events
            .iter()
            .filter(|e| e.url_id == Some(url_id) && e.event_type == NewEvent::CLICK);
        let (count, last) =
            clicks.fold((0, None), |(count, last), e| (count + 1, last.max(Some(e.timestamp))));
        Ok(UrlStats { clicks: count, last_click_at: last })
    }
}

impl ApiKeyRepository for MemoryStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
        let mut tables = self.tables();
        if tables.api_keys.iter().any(|(_, stored)| stored.name == key.name.as_str()) {
            return Err(Error::DuplicateKeyName);
        }
        let stored = ApiKey {
            id: tables.api_keys.len() as i64 + 1,
            name: key.name.as_str().to_owned(),
            created_at: key.created_at,
            revoked_at: None,
        };
        tables.api_keys.push((key.hash, stored.clone()));
        Ok(stored)
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>> {
        let tables = self.tables();
        Ok(tables.api_keys.iter().find(|(digest, _)| digest == hash).map(|(_, key)| key.clone()))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        Ok(self.tables().api_keys.iter().map(|(_, key)| key.clone()).collect())
    }

    async fn revoke_api_key(&self, selector: &KeySelector, now: NaiveDateTime) -> Result<ApiKey> {
        let mut tables = self.tables();
        let (_, key) = tables
            .api_keys
            .iter_mut()
            .find(|(_, key)| match selector {
                KeySelector::Id(id) => key.id == *id,
                KeySelector::Name(name) => key.name == name.as_str(),
            })
            .ok_or(Error::KeyNotFound)?;
        key.revoked_at.get_or_insert(now);
        Ok(key.clone())
    }
}

impl Store for MemoryStore {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
