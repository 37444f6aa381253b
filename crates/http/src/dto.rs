//! Response bodies, exactly as the contract spells them, and their schemas in
//! the OpenAPI document.

use chrono::NaiveDateTime;
use domain::{Details, Event, Url, UrlStats, User};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::openapi::schemas::{event_example, url_example, user_example};

/// `YYYY-MM-DDTHH:MM:SS`, UTC, no offset, no fraction.
const TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%S";

fn timestamp<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&at.format(TIMESTAMP))
}

fn optional_timestamp<S: Serializer>(at: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp(at, s),
        None => s.serialize_none(),
    }
}

/// A user account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User, example = user_example)]
pub struct UserBody<'a> {
    #[schema(minimum = 1, example = 1)]
    id: i64,
    #[schema(example = "alice")]
    username: &'a str,
    #[schema(example = "alice@example.com")]
    email: &'a str,
    #[serde(serialize_with = "timestamp")]
    #[schema(value_type = String, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", example = "2025-09-19T22:25:05")]
    created_at: NaiveDateTime,
}

impl<'a> From<&'a User> for UserBody<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: &user.username,
            email: &user.email,
            created_at: user.created_at,
        }
    }
}

/// A short link. `user_id` is `null` for anonymous links and once the owner is
/// deleted; `title` may be `null`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Url, example = url_example)]
pub struct UrlBody<'a> {
    #[schema(minimum = 1, example = 1)]
    id: i64,
    #[schema(example = 1)]
    user_id: Option<i64>,
    /// Generated: 6 characters of `[A-Za-z0-9]`; custom: 1 to 32 of `[A-Za-z0-9_-]`.
    #[schema(example = "Ab3dE9")]
    short_code: &'a str,
    /// Exactly as given.
    #[schema(example = "https://example.com/docs?page=2")]
    original_url: &'a str,
    #[schema(example = "The docs")]
    title: Option<&'a str>,
    is_active: bool,
    #[serde(serialize_with = "timestamp")]
    #[schema(value_type = String, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", example = "2025-09-19T22:25:05")]
    created_at: NaiveDateTime,
    #[serde(serialize_with = "timestamp")]
    #[schema(value_type = String, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", example = "2025-09-19T22:25:05")]
    updated_at: NaiveDateTime,
}

impl<'a> From<&'a Url> for UrlBody<'a> {
    fn from(url: &'a Url) -> Self {
        Self {
            id: url.id,
            user_id: url.user_id,
            short_code: &url.short_code,
            original_url: &url.original_url,
            title: url.title.as_deref(),
            is_active: url.is_active,
            created_at: url.created_at,
            updated_at: url.updated_at,
        }
    }
}

/// An analytics event: `created`, `updated`, `deleted` and `click` are recorded
/// by the service, any other type through `POST /events`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event, example = event_example)]
pub struct EventBody<'a> {
    #[schema(minimum = 1, example = 7)]
    id: i64,
    #[schema(example = 1)]
    url_id: Option<i64>,
    #[schema(example = 1)]
    user_id: Option<i64>,
    #[schema(example = "click")]
    event_type: &'a str,
    #[serde(serialize_with = "timestamp")]
    #[schema(value_type = String, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", example = "2025-09-19T22:25:05")]
    timestamp: NaiveDateTime,
    /// A JSON object (never a JSON-encoded string).
    #[schema(value_type = Object, example = json!({"short_code": "Ab3dE9"}))]
    details: &'a Details,
}

impl<'a> From<&'a Event> for EventBody<'a> {
    fn from(event: &'a Event) -> Self {
        Self {
            id: event.id,
            url_id: event.url_id,
            user_id: event.user_id,
            event_type: &event.event_type,
            timestamp: event.timestamp,
            details: &event.details,
        }
    }
}

/// A short link's clicks.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = UrlStats,
    example = json!({"id": 1, "short_code": "Ab3dE9", "original_url": "https://example.com/docs?page=2", "clicks": 42, "last_click_at": "2025-09-19T22:30:11"})
)]
pub struct StatsBody<'a> {
    #[schema(minimum = 1, example = 1)]
    id: i64,
    #[schema(example = "Ab3dE9")]
    short_code: &'a str,
    #[schema(example = "https://example.com/docs?page=2")]
    original_url: &'a str,
    #[schema(example = 42)]
    clicks: u64,
    /// `null` before the first click.
    #[serde(serialize_with = "optional_timestamp")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", example = "2025-09-19T22:30:11")]
    last_click_at: Option<NaiveDateTime>,
}

impl<'a> StatsBody<'a> {
    pub fn new(url: &'a Url, stats: &UrlStats) -> Self {
        Self {
            id: url.id,
            short_code: &url.short_code,
            original_url: &url.original_url,
            clicks: stats.clicks,
            last_click_at: stats.last_click_at,
        }
    }
}
