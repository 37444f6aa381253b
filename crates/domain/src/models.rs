//! The records the service keeps, the requests that create and change them, and
//! the filters and pages that list them.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Email, EventType, ShortCode, TargetUrl, Title, Username};

pub type UserId = i64;
pub type UrlId = i64;
pub type EventId = i64;

/// A JSON object: the shape of an event's `details`.
pub type Details = Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    pub created_at: NaiveDateTime,
}

/// A partial update of a user: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<Username>,
    pub email: Option<Email>,
}

impl UserPatch {
    /// The user after this patch.
    pub fn apply(&self, user: &User) -> User {
        User {
            username: self
                .username
                .as_ref()
                .map_or_else(|| user.username.clone(), |u| u.as_str().to_owned()),
            email: self
                .email
                .as_ref()
                .map_or_else(|| user.email.clone(), |e| e.as_str().to_owned()),
            ..user.clone()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Exact username.
    pub username: Option<String>,
    /// E-mail, matched trimmed and ignoring case.
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    pub id: UrlId,
    pub user_id: Option<UserId>,
    pub short_code: String,
    pub original_url: String,
    pub title: Option<String>,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a redirect needs of a URL: the part of it that is cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub url_id: UrlId,
    pub short_code: String,
    pub original_url: String,
}

impl Link {
    /// The `Location` a redirect answers with: pure ASCII. The stored target keeps
    /// its bytes; a non-ASCII one is served in the URL standard's serialisation.
    pub fn location(&self) -> Cow<'_, str> {
        // Visible ASCII: what every validated ASCII target is, and all a header
        // value may safely hold.
        let visible = |b: u8| (0x21..=0x7e).contains(&b);
        if self.original_url.bytes().all(visible) {
            return Cow::Borrowed(&self.original_url);
        }
        match TargetUrl::parse(&self.original_url) {
            Ok(target) => Cow::Owned(target.location().to_owned()),
            // Only rows loaded around validation get here; escape everything else,
            // spaces and control characters too, so no value can split a response.
            Err(_) => {
                Cow::Owned(
                    self.original_url
                        .bytes()
                        .map(|b| {
                            if visible(b) { char::from(b).to_string() } else { format!("%{b:02X}") }
                        })
                        .collect(),
                )
            }
        }
    }
}

impl From<&Url> for Link {
    fn from(url: &Url) -> Self {
        Self {
            url_id: url.id,
            short_code: url.short_code.clone(),
            original_url: url.original_url.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUrl {
    pub user_id: Option<UserId>,
    pub short_code: ShortCode,
    pub original_url: TargetUrl,
    pub title: Option<Title>,
    pub created_at: NaiveDateTime,
}

/// A partial update of a URL: `None` leaves a field as it is; `title: Some(None)`
/// clears the title.
#[derive(Debug, Clone, Default)]
pub struct UrlPatch {
    pub title: Option<Option<Title>>,
    pub original_url: Option<TargetUrl>,
    pub is_active: Option<bool>,
}

impl UrlPatch {
    /// The URL after this patch at `now`, and one `updated` event per field whose
    /// value actually changes. Repositories call this inside the transaction that
    /// holds the row, so the events describe exactly what was written.
    pub fn apply(&self, url: &Url, now: NaiveDateTime) -> (Url, Vec<NewEvent>) {
        let mut next = Url { updated_at: now, ..url.clone() };
        let mut changes = Vec::new();
        if let Some(title) = &self.title {
            let title = title.as_ref().map(|t| t.as_str().to_owned());
            if title != url.title {
                changes.push(("title", title.clone().map_or(Value::Null, Value::String)));
                next.title = title;
            }
        }
        if let Some(target) = &self.original_url
            && target.as_str() != url.original_url
        {
            changes.push(("original_url", Value::String(target.as_str().to_owned())));
            next.original_url = target.as_str().to_owned();
        }
        if let Some(active) = self.is_active
            && active != url.is_active
        {
            changes.push(("is_active", Value::Bool(active)));
            next.is_active = active;
        }
        let events = changes
            .into_iter()
            .map(|(field, new_value)| {
                let mut details = Details::new();
                details.insert("field".into(), field.into());
                details.insert("new_value".into(), new_value);
                NewEvent::about(&next, EventType::known(NewEvent::UPDATED), now, details)
            })
            .collect();
        (next, events)
    }
}

#[derive(Debug, Clone, Default)]
pub struct UrlFilter {
    pub user_id: Option<UserId>,
    pub is_active: Option<bool>,
    /// Exact, case-sensitive code.
    pub short_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub url_id: Option<UrlId>,
    pub user_id: Option<UserId>,
    pub event_type: String,
    pub timestamp: NaiveDateTime,
    pub details: Details,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub url_id: Option<UrlId>,
    pub user_id: Option<UserId>,
    pub event_type: EventType,
    pub timestamp: NaiveDateTime,
    pub details: Details,
}

impl NewEvent {
    pub const CLICK: &'static str = "click";
    pub const CREATED: &'static str = "created";
    pub const UPDATED: &'static str = "updated";
    pub const DELETED: &'static str = "deleted";

    /// An event about `url`, attributed to the URL's owner.
    fn about(url: &Url, event_type: EventType, timestamp: NaiveDateTime, details: Details) -> Self {
        Self { url_id: Some(url.id), user_id: url.user_id, event_type, timestamp, details }
    }

    /// The `created` event a repository MUST record with a new URL.
    pub fn url_created(url: &Url) -> Self {
        let mut details = Details::new();
        details.insert("short_code".into(), url.short_code.clone().into());
        details.insert("original_url".into(), url.original_url.clone().into());
        Self::about(url, EventType::known(Self::CREATED), url.created_at, details)
    }

    /// The `deleted` event a repository MUST record when it deletes a URL.
    pub fn url_deleted(url: &Url, now: NaiveDateTime) -> Self {
        let mut details = Details::new();
        details.insert("short_code".into(), url.short_code.clone().into());
        Self::about(url, EventType::known(Self::DELETED), now, details)
    }

    /// A `click` through `link`. Its `user_id` is left to the repository, which
    /// MUST attribute the click to the URL's owner at the time it writes it.
    pub fn click(link: &Link, now: NaiveDateTime, context: &crate::ClickContext) -> Self {
        let mut details = Details::new();
        details.insert("short_code".into(), link.short_code.clone().into());
        if let Some(referrer) = &context.referrer {
            details.insert("referrer".into(), referrer.clone().into());
        }
        if let Some(user_agent) = &context.user_agent {
            details.insert("user_agent".into(), user_agent.clone().into());
        }
        if let Some(network) = &context.client_network {
            details.insert("client_network".into(), network.to_string().into());
        }
        Self {
            url_id: Some(link.url_id),
            user_id: None,
            event_type: EventType::known(Self::CLICK),
            timestamp: now,
            details,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub url_id: Option<UrlId>,
    pub user_id: Option<UserId>,
    pub event_type: Option<String>,
}

/// Click statistics of one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlStats {
    pub clicks: u64,
    pub last_click_at: Option<NaiveDateTime>,
}

/// Which slice of a list to return, ordered by id ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    number: u32,
    size: u32,
}

impl Page {
    pub const DEFAULT_SIZE: u32 = 50;
    pub const MAX_SIZE: u32 = 1000;

    /// Page `number` (from 1) of `size` items; a size above [`Self::MAX_SIZE`] is
    /// clamped. `None` when either is zero.
    pub fn new(number: u32, size: u32) -> Option<Self> {
        (number >= 1 && size >= 1).then(|| Self { number, size: size.min(Self::MAX_SIZE) })
    }

    pub fn number(self) -> u32 {
        self.number
    }

    pub fn size(self) -> u32 {
        self.size
    }

    /// How many items come before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.number - 1) * u64::from(self.size)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self { number: 1, size: Self::DEFAULT_SIZE }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
}
