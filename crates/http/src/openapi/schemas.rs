//! Schemas that exist for the document only: request bodies, query strings and
//! the bodies the handlers build as JSON values. The handlers never deserialise
//! into these types (bodies are read field by field in `fields.rs`, so that every
//! wrong field is named in one 422); each type says in schema terms what those
//! readers accept, and a test keeps the two in step.
//!
//! Patterns are written for both ECMA-262 and Python's `re` (the fuzzer reads
//! them): character classes, `\s`, `\x..` escapes and anchors, nothing more.
//! They state the domain's rules (`domain::values`): a username has 1 to 150
//! characters, none whitespace or control; an e-mail is `local@domain.tld`; a
//! target is an absolute `http`/`https` URL with a host and no user information
//! (the service accepts any URL its parser does, also non-ASCII hosts; the
//! pattern is the plain ASCII core of that set); a custom code has 1 to 32 of
//! `[A-Za-z0-9_-]`; an event type 1 to 50 characters, not all whitespace, no
//! control characters; no text holds NUL, which no text column can store.

// The fields are read by the `ToSchema` derive, never by code.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Ref, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// Every error: a sentence, and `details` naming each field at fault (422, and
/// 400 for a bad query parameter).
#[derive(Debug, ToSchema)]
#[schema(
    as = Error,
    example = json!({"error": "Validation failed", "details": {"email": "must be an e-mail address like name@example.com"}})
)]
pub struct ErrorBody {
    /// A human sentence saying what went wrong.
    #[schema(example = "User not found")]
    error: String,
    /// Field name to the reason it was refused; only when fields were at fault.
    #[schema(required = false, example = json!({"username": "must not be empty"}))]
    details: BTreeMap<String, String>,
}

/// `POST /users`.
#[derive(Debug, ToSchema)]
#[schema(as = NewUser, example = json!({"username": "alice", "email": "alice@example.com"}))]
pub struct NewUser {
    /// Unique as written (case matters).
    #[schema(
        min_length = 1,
        max_length = 150,
        pattern = r"^[^\s\x00-\x1F\x7F-\x9F]{1,150}$",
        example = "alice"
    )]
    username: String,
    /// Unique ignoring case; stored trimmed.
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1F\x7F-\x9F]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
        example = "alice@example.com"
    )]
    email: String,
}

/// `PUT /users/{id}`: the fields to change; absent ones stay as they are.
#[derive(Debug, ToSchema)]
#[schema(as = UserChanges, example = json!({"email": "alice@example.org"}))]
pub struct UserChanges {
    #[schema(
        required = false,
        min_length = 1,
        max_length = 150,
        pattern = r"^[^\s\x00-\x1F\x7F-\x9F]{1,150}$",
        example = "alice2"
    )]
    username: String,
    #[schema(
        required = false,
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1F\x7F-\x9F]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
        example = "alice@example.org"
    )]
    email: String,
}

/// `POST /urls`.
#[derive(Debug, ToSchema)]
#[schema(
    as = NewUrl,
    example = json!({"original_url": "https://example.com/docs?page=2", "title": "The docs", "user_id": 1})
)]
pub struct NewUrl {
    /// Stored byte for byte; at most 2,048 bytes.
    #[schema(
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?(?:#[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$",
        example = "https://example.com/docs?page=2"
    )]
    original_url: String,
    /// At most 500 characters.
    #[schema(max_length = 500, pattern = r"^[^\x00]*$", example = "The docs")]
    title: Option<String>,
    /// The owner: an existing user (404 otherwise).
    #[schema(minimum = 1, example = 1)]
    user_id: Option<i64>,
    /// A custom code instead of a generated one; refused when it names a route of
    /// the service (`health`, `metrics`, `users`, `urls`, `events`, `docs`, ...,
    /// compared ignoring case), 409 when taken.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$", example = "docs-2025")]
    short_code: Option<String>,
}

/// `PUT /urls/{id}`: the fields to change; absent ones stay as they are. One
/// `updated` event is recorded per field whose value changes.
#[derive(Debug, ToSchema)]
#[schema(as = UrlChanges, example = json!({"title": "Renamed", "is_active": false}))]
pub struct UrlChanges {
    /// `null` clears the title.
    #[schema(max_length = 500, pattern = r"^[^\x00]*$", example = "Renamed")]
    title: Option<String>,
    #[schema(
        required = false,
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?(?:#[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$",
        example = "https://example.com/new"
    )]
    original_url: String,
    /// `false` stops redirects at once.
    #[schema(required = false, example = false)]
    is_active: bool,
}

/// `POST /events`.
#[derive(Debug, ToSchema)]
#[schema(
    as = NewEvent,
    example = json!({"event_type": "share", "url_id": 1, "user_id": 1, "details": {"channel": "email"}})
)]
pub struct NewEvent {
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$",
        example = "share"
    )]
    event_type: String,
    /// An existing, not deleted URL (404 otherwise).
    #[schema(minimum = 1, example = 1)]
    url_id: Option<i64>,
    /// An existing user (404 otherwise).
    #[schema(minimum = 1, example = 1)]
    user_id: Option<i64>,
    /// Any JSON object without NUL characters; `{}` when absent.
    #[schema(value_type = Option<Details>, example = json!({"channel": "email"}))]
    details: Option<serde_json::Value>,
}

/// Text without NUL characters (U+0000), which no text column can store.
fn text_without_nul() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[^\x00]*$"))
}

/// Any JSON value whose strings and keys hold no NUL character, at any depth.
#[derive(Debug)]
pub struct JsonValue;

impl PartialSchema for JsonValue {
    fn schema() -> RefOr<Schema> {
        let itself = || Ref::from_schema_name("JsonValue");
        AnyOfBuilder::new()
            .item(text_without_nul())
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .item(ArrayBuilder::new().items(itself()))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property_names(Some(text_without_nul()))
                    .additional_properties(Some(itself())),
            )
            .description(Some("Any JSON value without NUL characters in its strings and keys"))
            .into()
    }
}

impl ToSchema for JsonValue {}

/// An event's `details`: a JSON object without NUL characters, at any depth.
#[derive(Debug)]
pub struct Details;

impl PartialSchema for Details {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(text_without_nul()))
            .additional_properties(Some(Ref::from_schema_name("JsonValue")))
            .description(Some("A JSON object without NUL characters in its strings and keys"))
            .into()
    }
}

impl ToSchema for Details {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((JsonValue::name().into(), JsonValue::schema()));
    }
}

/// `POST /users/bulk`: `multipart/form-data` with the CSV in the field `file`.
#[derive(Debug, ToSchema)]
#[schema(as = UserImport)]
pub struct UserImport {
    /// A CSV whose header names its columns in any order: `username` (required),
    /// `id`, `email`, `created_at` (`YYYY-MM-DD HH:MM:SS`).
    #[schema(value_type = String, format = Binary, content_media_type = "text/csv")]
    file: Vec<u8>,
}

/// One refused row of an import.
#[derive(Debug, ToSchema)]
#[schema(as = ImportError)]
pub struct ImportError {
    /// The line the row starts on (the header is line 1).
    #[schema(minimum = 1, example = 3)]
    line: u64,
    #[schema(example = "email: must be an e-mail address like name@example.com")]
    error: String,
}

/// The answer to an import.
#[derive(Debug, ToSchema)]
#[schema(
    as = ImportReport,
    example = json!({"count": 399, "imported": 399, "rejected": 1, "errors": [{"line": 3, "error": "email: must be an e-mail address like name@example.com"}]})
)]
pub struct ImportReport {
    /// Accepted rows: inserted now or already present by username.
    count: u64,
    /// The same number as `count`.
    imported: u64,
    /// Refused rows.
    rejected: u64,
    /// The first 1,000 refused rows.
    errors: Vec<ImportError>,
}

/// Whether the service can serve.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ServiceStatus {
    Ok,
    Unavailable,
}

/// The database's state in a health answer.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DatabaseState {
    Ok,
    Down,
}

/// The cache's state in a health answer; `disabled` when none is configured.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CacheState {
    Ok,
    Down,
    Disabled,
}

/// `GET /health`: every dependency's state. A cache outage alone leaves the
/// service healthy.
#[derive(Debug, ToSchema)]
#[schema(as = Health, example = json!({"status": "ok", "database": "ok", "cache": "disabled"}))]
pub struct Health {
    status: ServiceStatus,
    database: DatabaseState,
    cache: CacheState,
}

/// `GET /health/live` and `GET /health/ready`.
#[derive(Debug, ToSchema)]
#[schema(as = Probe, example = json!({"status": "ok"}))]
pub struct Probe {
    status: ServiceStatus,
    /// Only when the database is down.
    #[schema(required = false)]
    database: DatabaseState,
}

/// The query of `GET /users`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 1)]
    page: Option<u32>,
    /// Items per page, from 1; default 50, values above 1000 are clamped to 1000.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 10)]
    per_page: Option<u32>,
    /// Only the user with exactly this username.
    #[param(pattern = r"^[^\x00]*$", example = "alice")]
    username: Option<String>,
    /// Only the user with this e-mail, ignoring case and surrounding whitespace.
    #[param(pattern = r"^[^\x00]*$", example = "alice@example.com")]
    email: Option<String>,
}

/// The query of `GET /urls`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UrlListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 1)]
    page: Option<u32>,
    /// Items per page, from 1; default 50, values above 1000 are clamped to 1000.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 10)]
    per_page: Option<u32>,
    /// Only the URLs of this user.
    #[param(example = 1)]
    user_id: Option<i64>,
    /// Only active (`true`) or inactive (`false`) URLs.
    #[param(example = true)]
    is_active: Option<bool>,
    /// Only the URL with exactly this code (case-sensitive).
    #[param(pattern = r"^[^\x00]*$", example = "Ab3dE9")]
    short_code: Option<String>,
}

/// The query of `GET /events`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 1)]
    page: Option<u32>,
    /// Items per page, from 1; default 50, values above 1000 are clamped to 1000.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 10)]
    per_page: Option<u32>,
    /// Only the events of this URL.
    #[param(example = 1)]
    url_id: Option<i64>,
    /// Only the events attributed to this user.
    #[param(example = 1)]
    user_id: Option<i64>,
    /// Only events of this type (`click`, `created`, `updated`, `deleted`, ...).
    #[param(pattern = r"^[^\x00]*$", example = "click")]
    event_type: Option<String>,
}

/// The query of `GET /urls/{id}/events`: pagination only.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 1)]
    page: Option<u32>,
    /// Items per page, from 1; default 50, values above 1000 are clamped to 1000.
    #[param(minimum = 1, value_type = Option<i64>, maximum = 4294967295.0, example = 10)]
    per_page: Option<u32>,
}

/// Example bodies shared by several operations.
pub fn user_example() -> serde_json::Value {
    json!({"id": 1, "username": "alice", "email": "alice@example.com", "created_at": "2025-09-19T22:25:05"})
}

pub fn url_example() -> serde_json::Value {
    json!({
        "id": 1, "user_id": 1, "short_code": "Ab3dE9", "original_url": "https://example.com/docs?page=2",
        "title": "The docs", "is_active": true,
        "created_at": "2025-09-19T22:25:05", "updated_at": "2025-09-19T22:25:05"
    })
}

pub fn event_example() -> serde_json::Value {
    json!({
        "id": 7, "url_id": 1, "user_id": 1, "event_type": "click", "timestamp": "2025-09-19T22:30:11",
        "details": {"short_code": "Ab3dE9", "referrer": "https://news.example/", "user_agent": "curl/8.5.0"}
    })
}
