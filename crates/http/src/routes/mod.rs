//! The API's routes, one module per resource.

pub mod bulk;
pub mod events;
pub mod health;
pub mod metrics;
pub mod redirect;
pub mod urls;
pub mod users;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use domain::Listing;
use domain::cache::Cached;
use serde::Serialize;

use crate::extract::ListQuery;

/// `X-Cache: hit|miss|bypass`: how the cache took part in an answer.
const X_CACHE: &str = "X-Cache";

/// A list answer: a plain JSON array, with the pagination facts in headers.
fn list_response<'a, T, B: Serialize>(
    req: &HttpRequest,
    query: &ListQuery,
    cached: &'a Cached<Listing<T>>,
    body: impl Fn(&'a T) -> B,
) -> HttpResponse {
    let listing = &cached.value;
    HttpResponse::Ok()
        .insert_header((X_CACHE, cached.outcome.as_str()))
        .insert_header(("X-Total-Count", listing.total.to_string()))
        .insert_header((header::LINK, query.link_header(req, listing.total)))
        .json(listing.items.iter().map(body).collect::<Vec<_>>())
}
