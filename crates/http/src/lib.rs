//! The shortener's inbound HTTP adapter: actix-web routes for the whole contract
//! of `api-contract.md`, strict request parsing, and the mapping of every failure
//! to a JSON error body. It knows HTTP and JSON, and nothing of SQL or Redis: it
//! drives the domain's [`Shortener`] over whatever [`Store`] it is given.

mod dto;
mod error;
mod extract;
mod fields;
mod json_errors;
mod routes;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use domain::Shortener;
use domain::ports::Store;

pub use error::ApiError;
use routes::{bulk, events, health, redirect, urls, users};

/// How the HTTP server behaves, from configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest JSON request body, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Largest CSV upload to `/users/bulk`, in bytes.
    pub bulk_limit: usize,
    /// Worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            bulk_limit: 512 * 1024 * 1024,
            workers: None,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// The routes of the API on `S`, for `App::configure`.
pub fn routes<S: Store>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/health").get(health::deep::<S>))
        .service(web::resource("/health/live").get(health::live))
        .service(web::resource("/health/ready").get(health::deep::<S>))
        .service(web::resource("/users").get(users::list::<S>).post(users::create::<S>))
        .service(web::resource("/users/bulk").post(bulk::import::<S>))
        .service(
            web::resource("/users/{id}")
                .get(users::get::<S>)
                .put(users::update::<S>)
                .delete(users::delete::<S>),
        )
        .service(web::resource("/urls").get(urls::list::<S>).post(urls::create::<S>))
        .service(
            web::resource("/urls/{id}")
                .get(urls::get::<S>)
                .put(urls::update::<S>)
                .delete(urls::delete::<S>),
        )
        .service(web::resource("/urls/{id}/stats").get(urls::stats::<S>))
        .service(web::resource("/urls/{id}/events").get(urls::events::<S>))
        .service(web::resource("/events").get(events::list::<S>).post(events::create::<S>))
        .service(web::resource("/events/{id}").get(events::get::<S>))
        // Last: a code never shadows the routes above.
        .service(
            web::resource("/{short_code}").get(redirect::follow::<S>).head(redirect::peek::<S>),
        );
}

/// Builds the HTTP server for `shortener` on an already bound `listener` (port 0
/// in tests). It stops gracefully on SIGTERM or SIGINT: no new connections,
/// in-flight requests finish.
pub fn server<S: Store>(
    shortener: Shortener<S>,
    settings: &HttpSettings,
    listener: TcpListener,
) -> std::io::Result<Server> {
    let shortener = web::Data::new(shortener);
    let bulk_limit = web::Data::new(bulk::BulkLimit(settings.bulk_limit));
    let body_limit = settings.body_limit;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(shortener.clone())
            .app_data(bulk_limit.clone())
            .app_data(extract::json_config(body_limit))
            .app_data(extract::query_config())
            .wrap(json_errors::middleware())
            .configure(routes::<S>)
            .default_service(web::to(json_errors::not_found))
    })
    .shutdown_timeout(settings.shutdown_timeout.as_secs())
    // Slow clients may not hold a worker's connection open for ever.
    .client_request_timeout(Duration::from_secs(10))
    .client_disconnect_timeout(Duration::from_secs(2))
    .listen(listener)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
