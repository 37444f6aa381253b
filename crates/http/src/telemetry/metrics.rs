//! The request metrics of the four golden signals: traffic and errors
//! (`shortener_http_requests_total`), latency
//! (`shortener_http_request_duration_seconds`) and a share of saturation
//! (`shortener_http_requests_in_flight`).

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// Latency buckets in seconds: fine below 25 ms, where the redirect's SLO
/// threshold is (`le="0.025"`), coarse up to the slowest CSV import.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

const LABELS: &[&str] = &["method", "route", "status"];

/// The request metrics of one server. Cheap to clone: clones share the series.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
}

impl HttpMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new("shortener_http_requests_total", "HTTP requests answered."),
            LABELS,
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "shortener_http_request_duration_seconds",
                "Time from a request's arrival to its response's headers.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            LABELS,
        )?;
        let in_flight = IntGauge::new(
            "shortener_http_requests_in_flight",
            "HTTP requests received and not yet answered.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self { requests, duration, in_flight })
    }

    /// Counts a request as in flight until the returned guard is dropped; the
    /// guard also ends the count when a client hangs up and its request is
    /// abandoned half-way.
    pub fn enter(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Records one answered request. `route` must be a route pattern or a fixed
    /// word, never a raw path: each distinct value is a new time series.
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.duration.with_label_values(&labels).observe(elapsed.as_secs_f64());
    }
}

/// A request counted in `shortener_http_requests_in_flight`.
#[derive(Debug)]
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The method as a label: clients may send any token as a method, and each
/// would otherwise become a series of its own.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
