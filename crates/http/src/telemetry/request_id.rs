//! `X-Request-Id`: the id that ties a client's report to the log line of its
//! request. A sane id from the client (or from Nginx) is kept, anything else is
//! replaced, and the response always carries the id that was logged.

use actix_web::http::header::{HeaderMap, HeaderName};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a client: enough for any UUID or trace id, too short to
/// fill the logs with whatever a client cares to send.
const MAX_LEN: usize = 128;

/// The id of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The client's `X-Request-Id` when it is 1 to 128 visible ASCII characters
    /// (no spaces, no control characters), else a new random UUID.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(&X_REQUEST_ID)
            .map(|value| value.as_bytes())
            .filter(|id| is_sane(id))
            .and_then(|id| std::str::from_utf8(id).ok())
            .map_or_else(Self::generate, |id| Self(id.to_owned()))
    }

    fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_sane(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.iter().all(|byte| byte.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn from(value: &[u8]) -> RequestId {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_bytes(value).expect("a header value"));
        RequestId::from_headers(&headers)
    }

    fn is_generated(id: &RequestId) -> bool {
        uuid::Uuid::parse_str(id.as_str()).is_ok_and(|uuid| uuid.get_version_num() == 4)
    }

    #[test]
    fn a_sane_client_id_is_kept() {
        assert_eq!(from(b"abc-123_XYZ.789").as_str(), "abc-123_XYZ.789");
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(from(longest.as_bytes()).as_str(), longest);
    }

    #[test]
    fn anything_else_is_replaced_by_a_uuid() {
        assert!(is_generated(&RequestId::from_headers(&HeaderMap::new())));
        for insane in [&b""[..], b"has space", b"tab\there", "é".as_bytes(), &[b'a'; MAX_LEN + 1]]
        {
            assert!(is_generated(&from(insane)), "{:?}", String::from_utf8_lossy(insane));
        }
    }
}
