//! `GET /metrics`: every metric of this process in Prometheus' text format.

use actix_web::{HttpResponse, web};
use domain::Error;
use prometheus::{Encoder, TextEncoder};

use crate::error::ApiError;
use crate::telemetry::Telemetry;

/// Prometheus metrics
///
/// Every metric of this replica in Prometheus' text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain",
            example = "shortener_http_requests_total{method=\"GET\",route=\"/{short_code}\",status=\"302\"} 42"),
    )
)]
// The replica's own registry (requests, pool, build) and the prometheus
// crate's default one: the process collector is registered there once per
// process, and so are the metrics of any crate that uses `register_*!`.
pub async fn export(telemetry: web::Data<Telemetry>) -> Result<HttpResponse, ApiError> {
    let mut families = prometheus::gather();
    families.extend(telemetry.registry().gather());
    let encoder = TextEncoder::new();
    let text = encoder
        .encode_to_string(&families)
        .map_err(|error| Error::Internal(format!("encoding the metrics: {error}")))?;
    Ok(HttpResponse::Ok().content_type(encoder.format_type()).body(text))
}
