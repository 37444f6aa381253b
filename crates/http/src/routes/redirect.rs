//! `GET /{short_code}`: the hot path. Resolve, record one click, answer 302.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use domain::cache::Cached;
use domain::ports::Store;
use domain::{ClickContext, Link, Shortener};

use crate::error::ApiError;
use crate::openapi::schemas::ErrorBody;

type App<S> = web::Data<Shortener<S>>;

/// A header's text as sent. Browsers and crawlers put UTF-8 in `User-Agent` and
/// `Referer`, which `HeaderValue::to_str` (visible ASCII only) would drop whole;
/// bytes that are not UTF-8 become U+FFFD.
fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<Cow<'_, str>> {
    headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()))
}

fn redirect_to(link: &Cached<Link>) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, link.value.location().as_ref()))
        .insert_header((super::X_CACHE, link.outcome.as_str()))
        // Browsers must not remember the redirect: edits and deactivations apply at once.
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .finish()
}

/// Follow a short link
///
/// Redirects to the target of an active link and records one `click` event
/// (with the referrer and user agent when sent). Unknown, inactive and deleted
/// codes are 404 and record nothing.
#[utoipa::path(
    get, path = "/{short_code}", tag = "redirects", operation_id = "followShortCode",
    params(("short_code" = String, Path, description = "The link's code (case-sensitive)", example = "Ab3dE9")),
    responses(
        (status = 302, description = "To the target", headers(
                ("Location" = String, description = "The target, always pure ASCII"),
                ("Cache-Control" = String, description = "`private, no-store`: edits apply at once"),
                ("X-Cache" = String, description = "How the cache took part: `hit`, `miss` or `bypass`"),
            )),
        (status = 404, description = "No active link has this code", body = ErrorBody,
            example = json!({"error": "URL not found"})),
        (status = 503, description = "The database is unavailable and the code is not cached", body = ErrorBody),
    )
)]
pub async fn follow<S: Store>(
    app: App<S>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    let context = ClickContext::new(
        header_text(headers, header::REFERER).as_deref(),
        header_text(headers, header::USER_AGENT).as_deref(),
    )
    .with_client_ip(crate::guard::client_ip(&req));
    // A click that could not be written yet is buffered (or counted as dropped) by
    // the store; the visitor is redirected either way.
    let followed = app.follow(&code, &context).await?;
    Ok(redirect_to(&followed.link))
}

/// Look at a short link
///
/// Answers like `GET` without a body, and records no click.
#[utoipa::path(
    head, path = "/{short_code}", tag = "redirects", operation_id = "peekShortCode",
    params(("short_code" = String, Path, description = "The link's code (case-sensitive)", example = "Ab3dE9")),
    responses(
        (status = 302, description = "To the target", headers(
                ("Location" = String, description = "The target, always pure ASCII"),
                ("Cache-Control" = String, description = "`private, no-store`: edits apply at once"),
                ("X-Cache" = String, description = "How the cache took part: `hit`, `miss` or `bypass`"),
            )),
        (status = 404, description = "No active link has this code"),
        (status = 503, description = "The database is unavailable and the code is not cached"),
    )
)]
pub async fn peek<S: Store>(
    app: App<S>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let link = app.resolve(&code).await?;
    Ok(redirect_to(&link))
}
