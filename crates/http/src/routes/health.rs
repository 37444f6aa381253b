//! Health: `/health` checks the store of record, `/health/live` only the process.

use actix_web::{HttpResponse, web};
use domain::Shortener;
use domain::ports::Store;
use serde_json::json;

/// 200 while the store can serve, 503 otherwise.
pub async fn deep<S: Store>(app: web::Data<Shortener<S>>) -> HttpResponse {
    match app.check_health().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"})),
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "database": "down"})),
    }
}

/// 200 as long as the process answers at all.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}
