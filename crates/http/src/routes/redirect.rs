//! `GET /{short_code}`: the hot path. Resolve, record one click, answer 302.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use domain::cache::Cached;
use domain::ports::Store;
use domain::{ClickContext, Link, Shortener};

use crate::error::ApiError;

type App<S> = web::Data<Shortener<S>>;

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn redirect_to(link: &Cached<Link>) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, link.value.location().as_ref()))
        .insert_header((super::X_CACHE, link.outcome.as_str()))
        // Browsers must not remember the redirect: edits and deactivations apply at once.
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .finish()
}

pub async fn follow<S: Store>(
    app: App<S>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    let context = ClickContext::new(
        header_str(headers, header::REFERER),
        header_str(headers, header::USER_AGENT),
    )
    .with_client_ip(crate::guard::client_ip(&req));
    // A click that could not be written yet is buffered (or counted as dropped) by
    // the store; the visitor is redirected either way.
    let followed = app.follow(&code, &context).await?;
    Ok(redirect_to(&followed.link))
}

/// `HEAD` answers like `GET` but records no click.
pub async fn peek<S: Store>(
    app: App<S>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let link = app.resolve(&code).await?;
    Ok(redirect_to(&link))
}
