//! The middleware around every request: it names the request (`X-Request-Id`),
//! applies the drill switch, then measures and logs the answer.

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::middleware::Next;
use slog::{Logger, Record, Serializer, error, info};

use super::drill::Drill;
use super::metrics::HttpMetrics;
use super::request_id::{RequestId, X_REQUEST_ID};

/// The route label of requests that matched no route: a scan of random paths
/// must not create a series per path.
const UNMATCHED: &str = "unmatched";

/// What one worker's middleware reports to.
#[derive(Debug)]
pub struct Observer {
    pub logger: Logger,
    pub metrics: HttpMetrics,
    pub drill: Option<Drill>,
}

impl Observer {
    pub async fn observe<B: MessageBody + 'static>(
        self: Rc<Self>,
        req: ServiceRequest,
        next: Next<B>,
    ) -> actix_web::Result<ServiceResponse<EitherBody<B>>> {
        let started = Instant::now();
        let _in_flight = self.metrics.enter();
        let request_id = RequestId::from_headers(req.headers());
        // The pattern the router will pick (e.g. `/{short_code}`), never the path.
        let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
        let method = req.method().clone();

        let injected = match self.drill.as_ref().filter(|drill| drill.targets(&route)) {
            Some(drill) => drill.strike().await,
            None => None,
        };
        let outcome = match injected {
            Some(failure) => Ok(req.error_response(failure).map_into_right_body()),
            None => next.call(req).await.map(ServiceResponse::map_into_left_body),
        };
        // Only a failing middleware yields `Err`; actix answers it further out.
        let (status, cause) = match &outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };

        let elapsed = started.elapsed();
        self.metrics.record(&method, &route, status, elapsed);
        let line = RequestLine {
            request_id: request_id.as_str(),
            method: method.as_str(),
            route: &route,
            status,
            latency: elapsed,
        };
        if status.is_server_error() {
            // The internal text (a database error, a bug) goes to the log only:
            // the body the client got says no more than "Internal server error".
            error!(self.logger, "request"; line, "error" => cause.map(ToString::to_string));
        } else {
            info!(self.logger, "request"; line);
        }
        let mut response = outcome?;
        if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
            response.headers_mut().insert(X_REQUEST_ID, value);
        }
        Ok(response)
    }
}

/// The fields of a request's log line.
struct RequestLine<'a> {
    request_id: &'a str,
    method: &'a str,
    route: &'a str,
    status: StatusCode,
    latency: Duration,
}

impl slog::KV for RequestLine<'_> {
    fn serialize(&self, _: &Record<'_>, serializer: &mut dyn Serializer) -> slog::Result {
        serializer.emit_str("request_id", self.request_id)?;
        serializer.emit_str("method", self.method)?;
        serializer.emit_str("route", self.route)?;
        serializer.emit_u16("status", self.status.as_u16())?;
        serializer.emit_f64("latency_ms", self.latency.as_secs_f64() * 1000.0)
    }
}
