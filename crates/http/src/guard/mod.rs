//! The doors a public shortener must close, in one middleware around every
//! request: who the client is (behind trusted proxies only), how large a
//! request head may be, how often a client may write (and, if configured, read),
//! whether a write carries a live API key, how long a body may stall, and a
//! panic in a handler answered as a 500 instead of a dropped connection. Every
//! answer also gets `X-Content-Type-Options: nosniff`.
//!
//! Connection-level limits (how many connections, how long a client may take to
//! send its request head) are the server's settings; see [`crate::HttpSettings`].

mod api_key;
mod client_ip;
mod rate_limit;

use std::any::Any;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::test::TestRequest;
use actix_web::{HttpMessage, HttpResponse};
use domain::Error;
use domain::api_keys::KeyChecker;
use futures_util::{FutureExt, StreamExt};

use crate::error::{ApiError, error_body};

pub use api_key::AuthMode;
pub use client_ip::TrustedProxies;
pub(crate) use client_ip::client_ip;
pub use rate_limit::RateLimit;

use client_ip::ClientIp;
use rate_limit::{Limiter, Verdict};

/// What the guard enforces, from configuration.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Proxies whose `X-Forwarded-For` names the client; empty trusts nobody.
    pub trusted_proxies: TrustedProxies,
    /// Writes (`POST`, `PUT`, `PATCH`, `DELETE`) per client; `None`: unlimited.
    pub write_limit: Option<RateLimit>,
    /// Reads (`GET`, `HEAD`, redirects included; not `/health*` or `/metrics`)
    /// per client; `None`: unlimited.
    pub read_limit: Option<RateLimit>,
    /// Whether writes need an API key.
    pub auth: AuthMode,
    /// Largest request head (request target plus headers) in bytes; larger gets
    /// 431.
    pub max_header_bytes: usize,
    /// Longest pause allowed while a request body arrives; `None`: no limit.
    pub body_idle_timeout: Option<Duration>,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: TrustedProxies::default(),
            write_limit: None,
            read_limit: None,
            auth: AuthMode::Open,
            max_header_bytes: 16 * 1024,
            body_idle_timeout: Some(Duration::from_secs(15)),
        }
    }
}

/// The guard of one server, shared by its workers (and so are its buckets).
#[derive(Debug)]
pub(crate) struct Guard {
    settings: GuardSettings,
    writes: Option<Limiter>,
    reads: Option<Limiter>,
    keys: Option<Arc<dyn KeyChecker>>,
}

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

impl Guard {
    /// The guard of `settings`, checking API keys (when the mode asks for them)
    /// with `keys`.
    pub(crate) fn new(settings: &GuardSettings, keys: Option<Arc<dyn KeyChecker>>) -> Arc<Self> {
        Arc::new(Self {
            settings: settings.clone(),
            writes: settings.write_limit.map(Limiter::new),
            reads: settings.read_limit.map(Limiter::new),
            keys,
        })
    }

    pub(crate) async fn check<B: MessageBody + 'static>(
        self: Arc<Self>,
        mut req: ServiceRequest,
        next: Next<B>,
    ) -> actix_web::Result<ServiceResponse<EitherBody<B>>> {
        let mut response = match self.admit(&mut req).await {
            // Kept as an HttpResponse (into_response would make it a plain
            // Response): the error it carries is the cause on the log line.
            Err(refusal) => ServiceResponse::new(req.into_parts().0, refusal).map_into_right_body(),
            Ok(limited) => {
                let mut response = catch_panics(req, next).await?;
                if let Some((limiter, verdict)) = limited {
                    limiter.headers(verdict, response.headers_mut());
                }
                response
            }
        };
        response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
        Ok(response)
    }

    /// Checks a request before it reaches its handler: `Err` is the answer that
    /// refuses it; `Ok` carries the limit it counted against, for the headers.
    async fn admit(
        &self,
        req: &mut ServiceRequest,
    ) -> Result<Option<(&Limiter, Verdict)>, HttpResponse> {
        let client =
            client_ip::resolve(req.peer_addr(), req.headers(), &self.settings.trusted_proxies);
        if let Some(client) = client {
            req.extensions_mut().insert(ClientIp(client));
        }
        if head_size(req) > self.settings.max_header_bytes {
            let body = error_body("Request headers are too large", None);
            return Err(HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).json(body));
        }

        let writes = is_write(req.method());
        let limiter = if writes { self.writes.as_ref() } else { self.reads.as_ref() };
        let limiter = limiter.filter(|_| writes || !is_operational(req.path()));
        let mut counted = None;
        if let (Some(limiter), Some(client)) = (limiter, client) {
            let verdict = limiter.check(client);
            if matches!(verdict, Verdict::Limited { .. }) {
                return Err(limiter.refusal(verdict));
            }
            counted = Some((limiter, verdict));
        }

        if writes && self.settings.auth == AuthMode::ApiKey {
            // Fail closed: without a key store no write can be authorised.
            let Some(keys) = self.keys.as_deref() else {
                let error = ApiError::Domain(Error::Internal("no API key store to check".into()));
                return Err(HttpResponse::from_error(error));
            };
            if let Some(refusal) = api_key::refusal(keys, req.headers()).await {
                return Err(refusal);
            }
        }

        if let Some(idle) = self.settings.body_idle_timeout.filter(|_| writes) {
            let payload = req.take_payload();
            req.set_payload(with_idle_timeout(payload, idle));
        }
        Ok(counted)
    }
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// Paths of probes and scrapers, never rate limited as reads.
pub(crate) fn is_operational(path: &str) -> bool {
    path == "/metrics" || path == "/health" || path.starts_with("/health/")
}

/// The bytes of the request target and the headers, as sent.
fn head_size(req: &ServiceRequest) -> usize {
    let target = req.uri().path_and_query().map_or(0, |target| target.as_str().len());
    let headers: usize =
        req.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    target + headers
}

/// Runs the rest of the chain; a panic in it becomes a 500 JSON answer (and an
/// error in the request's log line) while the worker goes on serving.
async fn catch_panics<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> actix_web::Result<ServiceResponse<EitherBody<B>>> {
    // The request itself cannot be kept for the answer: routing needs it
    // unshared (actix panics on a clone), and the panic takes it down with the
    // handler. Its head is enough to describe it to the middleware further out.
    let (method, uri) = (req.method().clone(), req.uri().clone()); // both cheap clones
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(outcome) => outcome.map(ServiceResponse::map_into_left_body),
        Err(panic) => {
            let error =
                Error::Internal(format!("the handler panicked: {}", panic_message(&*panic)));
            let response = HttpResponse::from_error(ApiError::Domain(error));
            // The only public way to make a request value outside routing.
            let request =
                TestRequest::default().method(method).uri(&uri.to_string()).to_http_request();
            Ok(ServiceResponse::new(request, response).map_into_right_body())
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// The body, failing once no byte has come for `idle`: a client that stalls
/// mid-body gets its answer instead of holding a worker's connection.
fn with_idle_timeout(payload: Payload, idle: Duration) -> Payload {
    let stream = futures_util::stream::unfold(Some(payload), move |state| async move {
        let mut payload = state?;
        match tokio::time::timeout(idle, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let stalled = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no body bytes for {} ms", idle.as_millis()),
                );
                Some((Err(PayloadError::Io(stalled)), None))
            }
        }
    });
    // Fused: readers such as multipart may poll again after the end.
    Payload::Stream { payload: Box::pin(stream.fuse()) }
}
