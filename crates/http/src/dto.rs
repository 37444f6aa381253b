//! Response bodies, exactly as the contract spells them.

use chrono::NaiveDateTime;
use domain::{Details, Event, Url, UrlStats, User};
use serde::{Serialize, Serializer};

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

#[derive(Debug, Serialize)]
pub struct UserBody<'a> {
    id: i64,
    username: &'a str,
    email: &'a str,
    #[serde(serialize_with = "timestamp")]
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

#[derive(Debug, Serialize)]
pub struct UrlBody<'a> {
    id: i64,
    user_id: Option<i64>,
    short_code: &'a str,
    original_url: &'a str,
    title: Option<&'a str>,
    is_active: bool,
    #[serde(serialize_with = "timestamp")]
    created_at: NaiveDateTime,
    #[serde(serialize_with = "timestamp")]
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

#[derive(Debug, Serialize)]
pub struct EventBody<'a> {
    id: i64,
    url_id: Option<i64>,
    user_id: Option<i64>,
    event_type: &'a str,
    #[serde(serialize_with = "timestamp")]
    timestamp: NaiveDateTime,
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

#[derive(Debug, Serialize)]
pub struct StatsBody<'a> {
    id: i64,
    short_code: &'a str,
    original_url: &'a str,
    clicks: u64,
    #[serde(serialize_with = "optional_timestamp")]
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
