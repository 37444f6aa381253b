//! Health: `/health` reports every dependency and fails when the store of record
//! does, `/health/ready` says whether this replica can serve a request now, and
//! `/health/live` only that the process answers.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use domain::Shortener;
use domain::ports::Store;
use serde_json::json;

use crate::openapi::schemas::{Health, Probe};

/// How long a health check waits for the database before calling it down: a
/// probe must answer in time even when the database hangs.
#[derive(Debug, Clone, Copy)]
pub struct HealthTimeout(pub Duration);

/// The database did not answer the health check; the response says which
/// dependency is down, the log line of the request says why.
#[derive(Debug, thiserror::Error)]
#[error("the database is down: {reason}")]
pub struct DatabaseDown {
    reason: String,
    /// The cache's state, for `/health`, which reports every dependency.
    cache: Option<&'static str>,
}

impl ResponseError for DatabaseDown {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({"status": "unavailable", "database": "down"});
        if let Some(cache) = self.cache {
            body["cache"] = cache.into();
        }
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn check_database<S: Store>(
    app: &Shortener<S>,
    timeout: HealthTimeout,
) -> Result<(), DatabaseDown> {
    let down = |reason| DatabaseDown { reason, cache: None };
    match tokio::time::timeout(timeout.0, app.check_health()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(down(error.to_string())),
        Err(_) => Err(down(format!("no answer within {:?}", timeout.0))),
    }
}

/// `ok`, `down`, or `disabled` when no cache is configured. A cache outage is
/// reported, never fatal: requests then go to the database.
async fn cache_status<S: Store>(app: &Shortener<S>, timeout: HealthTimeout) -> &'static str {
    match tokio::time::timeout(timeout.0, app.check_cache()).await {
        Ok(None) => "disabled",
        Ok(Some(Ok(()))) => "ok",
        Ok(Some(Err(_))) | Err(_) => "down",
    }
}

/// Health of the service and its dependencies
///
/// 200 while the database answers, 503 otherwise; the cache's state is reported
/// either way (a cache outage alone stays 200).
#[utoipa::path(
    get, path = "/health", tag = "operations", operation_id = "health",
    responses(
        (status = 200, description = "The service can serve", body = Health,
            example = json!({"status": "ok", "database": "ok", "cache": "ok"})),
        (status = 503, description = "The database does not answer", body = Health,
            example = json!({"status": "unavailable", "database": "down", "cache": "ok"})),
    )
)]
// Both dependencies are checked at once, each within the time-out.
pub async fn deep<S: Store>(
    app: web::Data<Shortener<S>>,
    timeout: web::Data<HealthTimeout>,
) -> Result<HttpResponse, DatabaseDown> {
    let (database, cache) =
        tokio::join!(check_database(&app, **timeout), cache_status(&app, **timeout));
    database.map_err(|down| DatabaseDown { cache: Some(cache), ..down })?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok", "database": "ok", "cache": cache})))
}

/// Readiness
///
/// 200 when this replica can serve requests now. Only the database decides it:
/// the cache is optional, and a replica without it still serves.
#[utoipa::path(
    get, path = "/health/ready", tag = "operations", operation_id = "readiness",
    responses(
        (status = 200, description = "Ready", body = Probe, example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer", body = Probe,
            example = json!({"status": "unavailable", "database": "down"})),
    )
)]
pub async fn ready<S: Store>(
    app: web::Data<Shortener<S>>,
    timeout: web::Data<HealthTimeout>,
) -> Result<HttpResponse, DatabaseDown> {
    check_database(&app, **timeout).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}

/// Liveness
///
/// 200 as long as the process answers at all.
#[utoipa::path(
    get, path = "/health/live", tag = "operations", operation_id = "liveness",
    responses((status = 200, description = "Alive", body = Probe, example = json!({"status": "ok"})))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}
