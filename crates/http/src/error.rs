//! The one place where failures become HTTP answers: every error body is
//! `{"error": "<sentence>"}`, with `details` naming the fields at fault.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::{Error, FieldErrors};
use serde_json::{Map, Value};

/// A failed request, ready to be answered.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The domain refused or could not do what was asked.
    #[error(transparent)]
    Domain(#[from] Error),
    /// The request is malformed before any domain rule applies (400).
    #[error("{message}")]
    BadRequest { message: String, details: FieldErrors },
    /// A path that names nothing (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// The body is over the configured limit (413).
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest { message: message.into(), details: FieldErrors::default() }
    }

    pub fn bad_field(field: &str, why: impl Into<String>) -> Self {
        let mut details = FieldErrors::default();
        details.add(field, why);
        Self::BadRequest { message: "Invalid query parameter".into(), details }
    }
}

/// The JSON error body.
pub fn error_body(message: &str, details: Option<&FieldErrors>) -> Value {
    let mut body = Map::new();
    body.insert("error".into(), message.into());
    if let Some(details) = details.filter(|d| !d.is_empty()) {
        let fields = details.iter().map(|(k, v)| (k.to_owned(), Value::from(v))).collect();
        body.insert("details".into(), Value::Object(fields));
    }
    Value::Object(body)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Domain(error) => match error {
                Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Error::UserNotFound
                | Error::UrlNotFound
                | Error::EventNotFound
                | Error::KeyNotFound => StatusCode::NOT_FOUND,
                Error::DuplicateUsername
                | Error::DuplicateEmail
                | Error::DuplicateShortCode
                | Error::DuplicateKeyName => StatusCode::CONFLICT,
                Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let body = match self {
            // Store and bug details stay in the logs, never in the answer.
            Self::Domain(Error::Unavailable(_)) => {
                error_body("Service temporarily unavailable, retry shortly", None)
            }
            Self::Domain(Error::Internal(_)) => error_body("Internal server error", None),
            Self::Domain(Error::Invalid(details)) => error_body("Validation failed", Some(details)),
            Self::BadRequest { message, details } => error_body(message, Some(details)),
            other => error_body(&other.to_string(), None),
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        response.json(body)
    }
}
