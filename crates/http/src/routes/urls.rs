//! `/urls`: short links, their statistics and their events.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::cache::{CacheOutcome, Cached};
use domain::ports::Store;
use domain::{CreateUrl, Error, ShortCode, Shortener, TargetUrl, Title, UrlFilter, UrlPatch};

use crate::dto::{EventBody, StatsBody, UrlBody};
use crate::error::ApiError;
use crate::extract::{JsonObject, ListQuery, path_id};
use crate::fields::{Fields, present};
use crate::openapi::schemas::{
    ErrorBody, NewUrl, PageQuery, UrlChanges, UrlListQuery, event_example, url_example,
};

type App<S> = web::Data<Shortener<S>>;

/// Shorten a URL
///
/// The code is 6 random characters of `[A-Za-z0-9]` unless a custom
/// `short_code` is given. The same target posted twice gives two links. Records
/// a `created` event.
#[utoipa::path(
    post, path = "/urls", tag = "urls", operation_id = "createUrl",
    request_body(content = NewUrl, content_type = "application/json"),
    responses(
        (status = 201, description = "The new short link", body = UrlBody, links(
                ("GetUrl" = (operation_id = "getUrl", parameters(("id" = "$response.body#/id")))),
                ("UpdateUrl" = (operation_id = "updateUrl", parameters(("id" = "$response.body#/id")))),
                ("DeleteUrl" = (operation_id = "deleteUrl", parameters(("id" = "$response.body#/id")))),
                ("GetUrlStats" = (operation_id = "getUrlStats", parameters(("id" = "$response.body#/id")))),
                ("ListUrlEvents" = (operation_id = "listUrlEvents", parameters(("id" = "$response.body#/id")))),
                ("FollowShortCode" = (operation_id = "followShortCode", parameters(("short_code" = "$response.body#/short_code")))),
                ("PeekShortCode" = (operation_id = "peekShortCode", parameters(("short_code" = "$response.body#/short_code")))),
            ), example = url_example),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody),
        (status = 404, description = "`user_id` names no user", body = ErrorBody, example = json!({"error": "User not found"})),
        (status = 409, description = "The custom code is taken", body = ErrorBody,
            example = json!({"error": "Short code already exists"})),
        (status = 413, description = "The body is over the size limit", body = ErrorBody),
        (status = 422, description = "A field is missing or wrong", body = ErrorBody,
            example = json!({"error": "Validation failed", "details": {"original_url": "must be an absolute http or https URL"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn create<S: Store>(app: App<S>, body: JsonObject) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body);
    let original_url = fields.required("original_url", TargetUrl::parse);
    let title = fields.nullable("title", Title::parse).into_change().flatten();
    let short_code = fields.nullable("short_code", ShortCode::parse).into_change().flatten();
    let user_id = fields.optional_id("user_id");
    fields.finish()?;
    let request = CreateUrl { original_url: present(original_url)?, title, user_id, short_code };
    let url = app.create_url(request).await?;
    Ok(HttpResponse::Created().json(UrlBody::from(&url)))
}

/// List URLs
///
/// Ordered by id; deleted URLs are never listed.
#[utoipa::path(
    get, path = "/urls", tag = "urls", operation_id = "listUrls",
    params(UrlListQuery),
    responses(
        (status = 200, description = "One page of URLs", body = [UrlBody],
            headers(
                ("X-Total-Count" = u64, description = "Items matching the filters"),
                ("Link" = String, description = "RFC 8288 links: first, last, and prev/next when they exist"),
            ),
            example = json!([url_example()])),
        (status = 400, description = "A bad page, page size or filter", body = ErrorBody,
            example = json!({"error": "Invalid query parameter", "details": {"is_active": "must be true or false"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn list<S: Store>(
    app: App<S>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&query)?;
    let filter = UrlFilter {
        user_id: query.id("user_id")?,
        is_active: query.flag("is_active")?,
        short_code: query.text("short_code")?,
    };
    let urls = app.list_urls(&filter, query.page).await?;
    Ok(super::list_response(&req, &query, &urls, UrlBody::from))
}

/// Get a URL
#[utoipa::path(
    get, path = "/urls/{id}", tag = "urls", operation_id = "getUrl",
    params(("id" = i64, Path, description = "The URL's id", minimum = 1, example = 1)),
    responses(
        (status = 200, description = "The short link", body = UrlBody, example = url_example),
        (status = 404, description = "No such URL (or deleted)", body = ErrorBody, example = json!({"error": "URL not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn get<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let url = app.get_url(path_id(&id, Error::UrlNotFound)?).await?;
    Ok(HttpResponse::Ok().json(UrlBody::from(&url)))
}

/// Update a URL
///
/// A partial update of `title`, `original_url` and `is_active`; `updated_at` is
/// refreshed. Records one `updated` event per field whose value changed. A
/// deactivation stops redirects before this answers.
#[utoipa::path(
    put, path = "/urls/{id}", tag = "urls", operation_id = "updateUrl",
    params(("id" = i64, Path, description = "The URL's id", minimum = 1, example = 1)),
    request_body(content = UrlChanges, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated short link", body = UrlBody, links(("GetUrl" = (operation_id = "getUrl", parameters(("id" = "$response.body#/id"))))), example = url_example),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody),
        (status = 404, description = "No such URL (or deleted)", body = ErrorBody, example = json!({"error": "URL not found"})),
        (status = 413, description = "The body is over the size limit", body = ErrorBody),
        (status = 422, description = "A field is wrong", body = ErrorBody,
            example = json!({"error": "Validation failed", "details": {"is_active": "must be a boolean (true or false)"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn update<S: Store>(
    app: App<S>,
    id: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Error::UrlNotFound)?;
    let mut fields = Fields::new(&body);
    let patch = UrlPatch {
        title: fields.nullable("title", Title::parse).into_change(),
        original_url: fields.optional("original_url", TargetUrl::parse),
        is_active: fields.optional_bool("is_active"),
    };
    fields.finish()?;
    let url = app.update_url(id, patch).await?;
    Ok(HttpResponse::Ok().json(UrlBody::from(&url)))
}

/// Delete a URL
///
/// Afterwards the URL is gone from reads, lists and redirects, its code is never
/// handed out again, and its events stay. Records a `deleted` event.
#[utoipa::path(
    delete, path = "/urls/{id}", tag = "urls", operation_id = "deleteUrl",
    params(("id" = i64, Path, description = "The URL's id", minimum = 1, example = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such URL (or deleted)", body = ErrorBody, example = json!({"error": "URL not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn delete<S: Store>(
    app: App<S>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.delete_url(path_id(&id, Error::UrlNotFound)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A URL's clicks
#[utoipa::path(
    get, path = "/urls/{id}/stats", tag = "urls", operation_id = "getUrlStats",
    params(("id" = i64, Path, description = "The URL's id", minimum = 1, example = 1)),
    responses(
        (status = 200, description = "Click count and last click", body = StatsBody),
        (status = 404, description = "No such URL (or deleted)", body = ErrorBody, example = json!({"error": "URL not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn stats<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (url, stats) = app.url_stats(path_id(&id, Error::UrlNotFound)?).await?;
    Ok(HttpResponse::Ok().json(StatsBody::new(&url, &stats)))
}

/// A URL's events
///
/// Ordered by id, with the same pagination as the lists.
#[utoipa::path(
    get, path = "/urls/{id}/events", tag = "urls", operation_id = "listUrlEvents",
    params(("id" = i64, Path, description = "The URL's id", minimum = 1, example = 1), PageQuery),
    responses(
        (status = 200, description = "One page of the URL's events", body = [EventBody],
            headers(
                ("X-Total-Count" = u64, description = "Items matching the filters"),
                ("Link" = String, description = "RFC 8288 links: first, last, and prev/next when they exist"),
            ),
            example = json!([event_example()])),
        (status = 400, description = "A bad page or page size", body = ErrorBody),
        (status = 404, description = "No such URL (or deleted)", body = ErrorBody, example = json!({"error": "URL not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn events<S: Store>(
    app: App<S>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Error::UrlNotFound)?;
    let query = ListQuery::parse(&query)?;
    let events = app.url_events(id, query.page).await?;
    let events = Cached { value: events, outcome: CacheOutcome::Bypass };
    Ok(super::list_response(&req, &query, &events, EventBody::from))
}
