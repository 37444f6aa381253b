//! Request extraction with JSON errors: the extractor configurations that turn
//! actix's plain-text refusals into the contract's error bodies, path ids, and the
//! list query (pagination and filters).

use std::collections::BTreeMap;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::{HttpRequest, web};
use domain::{Error, Page};

use crate::error::ApiError;

/// A request body: always a JSON object, or the request is a 400.
pub type JsonObject = web::Json<serde_json::Map<String, serde_json::Value>>;

/// The JSON extractor's settings: the size limit, and the contract's answers for
/// each kind of unusable body (not JSON, not an object, wrong content type: 400;
/// too large: 413).
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(move |error, _req| {
        let error = match error {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::PayloadTooLarge { limit }
            }
            JsonPayloadError::ContentType => {
                ApiError::bad_request("Request body must be JSON (Content-Type: application/json)")
            }
            JsonPayloadError::Deserialize(e) if e.is_data() => {
                ApiError::bad_request("Request body must be a JSON object")
            }
            _ => ApiError::bad_request("Request body is not valid JSON"),
        };
        error.into()
    })
}

/// The query extractor's settings: a malformed query string is a 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::bad_request(format!("Invalid query string: {error}")).into()
    })
}

/// A path id: a positive integer, or the resource does not exist (404, never 500).
pub fn path_id(raw: &str, missing: Error) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::Domain(missing))
}

/// The query string of a list request: its page and its filters, each checked.
#[derive(Debug)]
pub struct ListQuery {
    params: BTreeMap<String, String>,
    pub page: Page,
}

impl ListQuery {
    pub fn parse(query: &web::Query<Vec<(String, String)>>) -> Result<Self, ApiError> {
        // The last occurrence of a parameter wins, as with most frameworks.
        let params: BTreeMap<String, String> = query.iter().cloned().collect();
        let number = |name: &str, default: u32| match params.get(name) {
            None => Ok(default),
            Some(raw) => whole_number(raw)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::bad_field(name, "must be a whole number from 1")),
        };
        let page = Page::new(number("page", 1)?, number("per_page", Page::DEFAULT_SIZE)?)
            .ok_or_else(|| ApiError::bad_field("page", "must be a whole number from 1"))?;
        Ok(Self { params, page })
    }

    /// A text filter, as given; a 400 when it holds NUL, which no text column
    /// can hold (the database would refuse the query).
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.params.get(name) {
            Some(value) if value.contains('\0') => {
                Err(ApiError::bad_field(name, "must not contain NUL characters (U+0000)"))
            }
            value => Ok(value.cloned()),
        }
    }

    /// An id filter: an integer (see [`whole_number`]), or the request is a 400.
    pub fn id(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.params
            .get(name)
            .map(|raw| {
                whole_number(raw).ok_or_else(|| ApiError::bad_field(name, "must be an integer id"))
            })
            .transpose()
    }

    /// A boolean filter: `true` or `false`, or the request is a 400.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.params
            .get(name)
            .map(|raw| match raw.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::bad_field(name, "must be true or false")),
            })
            .transpose()
    }

    /// `Link` header value (RFC 8288) for a list of `total` items at `req`'s path:
    /// first, prev, next and last pages, keeping every other parameter.
    pub fn link_header(&self, req: &HttpRequest, total: u64) -> String {
        let size = u64::from(self.page.size());
        let last = total.div_ceil(size).max(1);
        let current = u64::from(self.page.number());
        let mut rels = vec![("first", 1), ("last", last)];
        if current > 1 {
            rels.push(("prev", (current - 1).min(last)));
        }
        if current < last {
            rels.push(("next", current + 1));
        }
        let others: Vec<(&str, &str)> = self
            .params
            .iter()
            .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        rels.into_iter()
            .map(|(rel, page)| {
                let page = page.to_string();
                let size = size.to_string();
                let mut query: Vec<(&str, &str)> = others.clone();
                query.extend([("page", page.as_str()), ("per_page", size.as_str())]);
                let query = serde_urlencoded::to_string(&query).unwrap_or_default();
                format!("<{}?{query}>; rel=\"{rel}\"", req.path())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The integer a query parameter spells: digits, or a number with no fraction
/// (`2.0`, `2e0`), which JSON Schema counts as the integer 2 and which clients
/// that format numbers as floats send; the same rule as for JSON bodies.
fn whole_number(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    raw.parse().ok().or_else(|| raw.parse().ok().and_then(crate::fields::integral))
}
