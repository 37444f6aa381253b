//! `AUTH_MODE=api-key`: every request that changes something carries
//! `Authorization: Bearer <key>`, checked against the digests in the store.

use std::str::FromStr;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use domain::api_keys::{KeyCheck, KeyChecker};

use crate::error::{ApiError, error_body};

/// Who may change things.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Anyone (the default, so existing clients keep working).
    #[default]
    Open,
    /// Only holders of a live API key.
    ApiKey,
}

impl FromStr for AuthMode {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "api-key" | "api_key" | "apikey" => Ok(Self::ApiKey),
            other => Err(format!("{other:?} is not an auth mode (open or api-key)")),
        }
    }
}

/// `None` when the request may go on; the answer to send otherwise.
pub(crate) async fn refusal(keys: &dyn KeyChecker, headers: &HeaderMap) -> Option<HttpResponse> {
    let presented = match bearer(headers) {
        Ok(key) => key,
        Err(why) => return Some(unauthorized(why, "invalid_request")),
    };
    match keys.check(presented).await {
        Ok(KeyCheck::Valid(_)) => None,
        Ok(KeyCheck::Unknown) => Some(unauthorized("Unknown API key", "invalid_token")),
        // The key was real: say so, so its holder knows to ask for a new one
        // rather than to check for typos. It tells nothing to anyone else.
        Ok(KeyCheck::Revoked(_)) => Some(
            HttpResponse::build(StatusCode::FORBIDDEN)
                .json(error_body("This API key was revoked", None)),
        ),
        // from_error keeps the cause for the request's log line.
        Err(error) => Some(HttpResponse::from_error(ApiError::Domain(error))),
    }
}

/// The key of an `Authorization: Bearer <key>` header.
fn bearer(headers: &HeaderMap) -> Result<&str, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("This request needs an API key: send Authorization: Bearer <key>");
    };
    let malformed = "Malformed Authorization header: expected Bearer <key>";
    let value = value.to_str().map_err(|_| malformed)?;
    let (scheme, key) = value.trim().split_once(' ').ok_or(malformed)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Err(malformed);
    }
    Ok(key)
}

/// 401 with the challenge RFC 6750 asks for.
fn unauthorized(message: &str, error: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"shortener\", error=\"{error}\""),
        ))
        .json(error_body(message, None))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_bearer_credentials_count() {
        assert_eq!(bearer(&with_authorization("Bearer shk_abc")), Ok("shk_abc"));
        assert_eq!(bearer(&with_authorization("bearer   shk_abc ")), Ok("shk_abc"));
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "shk_abc"] {
            assert!(bearer(&with_authorization(bad)).is_err(), "{bad:?}");
        }
        assert!(bearer(&HeaderMap::new()).is_err());
    }

    #[test]
    fn modes_parse_from_configuration() {
        assert_eq!("open".parse(), Ok(AuthMode::Open));
        assert_eq!("API-KEY".parse(), Ok(AuthMode::ApiKey));
        assert!("token".parse::<AuthMode>().is_err());
    }
}
