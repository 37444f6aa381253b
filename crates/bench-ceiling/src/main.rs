//! The framework's ceiling: the cheapest redirect actix-web can serve on this
//! machine, to compare `shortener`'s `GET /{short_code}` with
//! (`loadtests/redirect-bench.sh`).
//!
//! Same actix-web version and features as the service, same routing shape
//! (`/{code}` path parameter), same worker count (`WORKERS`, default one per
//! core), same response headers as a redirect; no middleware, no I/O. Listens
//! on `BIND` (default `127.0.0.1:8090`).

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};

async fn redirect(code: web::Path<String>) -> HttpResponse {
    // Touch the parameter as the service does, so routing and extraction cost
    // the same; the answer is static.
    let _ = code.len();
    HttpResponse::Found()
        .insert_header((header::LOCATION, "https://example.com/"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8090".to_owned());
    let mut server = HttpServer::new(|| App::new().service(web::resource("/{code}").get(redirect)));
    if let Some(workers) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        server = server.workers(workers);
    }
    server.bind(bind)?.run().await
}
