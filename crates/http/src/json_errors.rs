//! A safety net for the rule "every response body is JSON": errors produced by
//! actix itself (405 from a resource, 404 from routing, extractor refusals without
//! a handler) are rewritten as `{"error": ...}` bodies.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, Result};

use crate::error::error_body;

pub fn middleware<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(ensure_json)
}

/// The default service: no route matched.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(error_body("Not found", None))
}

fn ensure_json<B>(response: ServiceResponse<B>) -> Result<ErrorHandlerResponse<B>> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let status = response.status();
    let message = status.canonical_reason().unwrap_or("Error");
    let (request, old) = response.into_parts();
    let mut rewritten = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.append_header((name.clone(), value.clone()));
        }
    }
    let rewritten: HttpResponse<BoxBody> = rewritten.json(error_body(message, None));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, rewritten).map_into_right_body::<B>(),
    ))
}
