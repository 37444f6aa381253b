//! The shortener's inbound HTTP adapter: actix-web routes for the whole contract
//! of `api-contract.md`, strict request parsing, and the mapping of every failure
//! to a JSON error body. It knows HTTP and JSON, and nothing of SQL or Redis: it
//! drives the domain's [`Shortener`] over whatever [`Store`] it is given.

mod cache_metrics;
mod dto;
mod error;
mod extract;
mod fields;
mod guard;
mod json_errors;
pub mod openapi;
mod routes;
mod telemetry;

use std::net::TcpListener;
use std::time::Duration;

use std::rc::Rc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use domain::Shortener;
use domain::ports::Store;
use slog::warn;
use utoipa_actix_web::AppExt;

pub use cache_metrics::CacheMetrics;
pub use error::ApiError;
pub use guard::{AuthMode, GuardSettings, RateLimit, TrustedProxies};
use openapi::ApiResource;
use routes::{bulk, events, health, metrics, redirect, urls, users};
pub use telemetry::{Drill, Telemetry};

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
    /// How long a health check waits for the database before reporting it down.
    pub health_timeout: Duration,
    /// Faults to inject for an incident drill; `None` outside drills.
    pub drill: Option<Drill>,
    /// Client identity, rate limits, API keys and request limits.
    pub guard: GuardSettings,
    /// Open connections each worker serves at most; more wait to be accepted.
    pub max_connections_per_worker: usize,
    /// Time a client has to send its request head (slow clients get 408).
    pub client_request_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: Duration,
    /// Routes a test harness adds (a handler that panics, say). Only code can set
    /// it, never configuration, so production serves none.
    pub extra_routes: Option<fn(&mut web::ServiceConfig)>,
    /// Where `AUTH_MODE=api-key` looks keys up.
    pub api_keys: Option<std::sync::Arc<dyn domain::api_keys::KeyChecker>>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            bulk_limit: 512 * 1024 * 1024,
            workers: None,
            shutdown_timeout: Duration::from_secs(30),
            health_timeout: Duration::from_secs(1),
            drill: None,
            guard: GuardSettings::default(),
            max_connections_per_worker: 2048,
            client_request_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            extra_routes: None,
            api_keys: None,
        }
    }
}

/// The routes of the API on `S`, for `UtoipaApp::configure`. Each is registered
/// with its OpenAPI operation (see [`openapi::ApiResource`]), which also makes
/// the document.
pub fn routes<S: Store>(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    use openapi::docs;
    config
        .service(ApiResource::new("/health").to(health::__path_deep, health::deep::<S>))
        .service(ApiResource::new("/health/live").to(health::__path_live, health::live))
        .service(ApiResource::new("/health/ready").to(health::__path_ready, health::ready::<S>))
        .service(ApiResource::new("/metrics").to(metrics::__path_export, metrics::export))
        .service(ApiResource::new("/openapi.json").to(docs::__path_document, docs::document))
        .service(ApiResource::new("/docs").to(docs::__path_page, docs::page))
        .service(ApiResource::new("/docs/{file}").to(docs::__path_file, docs::file))
        .service(
            ApiResource::new("/users")
                .to(users::__path_list, users::list::<S>)
                .to(users::__path_create, users::create::<S>),
        )
        .service(ApiResource::new("/users/bulk").to(bulk::__path_import, bulk::import::<S>))
        .service(
            ApiResource::new("/users/{id}")
                .to(users::__path_get, users::get::<S>)
                .to(users::__path_update, users::update::<S>)
                .to(users::__path_delete, users::delete::<S>),
        )
        .service(
            ApiResource::new("/urls")
                .to(urls::__path_list, urls::list::<S>)
                .to(urls::__path_create, urls::create::<S>),
        )
        .service(
            ApiResource::new("/urls/{id}")
                .to(urls::__path_get, urls::get::<S>)
                .to(urls::__path_update, urls::update::<S>)
                .to(urls::__path_delete, urls::delete::<S>),
        )
        .service(ApiResource::new("/urls/{id}/stats").to(urls::__path_stats, urls::stats::<S>))
        .service(ApiResource::new("/urls/{id}/events").to(urls::__path_events, urls::events::<S>))
        .service(
            ApiResource::new("/events")
                .to(events::__path_list, events::list::<S>)
                .to(events::__path_create, events::create::<S>),
        )
        .service(ApiResource::new("/events/{id}").to(events::__path_get, events::get::<S>))
        // Last: a code never shadows the routes above.
        .service(
            ApiResource::new("/{short_code}")
                .to(redirect::__path_follow, redirect::follow::<S>)
                .to(redirect::__path_peek, redirect::peek::<S>),
        );
}

/// Builds the HTTP server for `shortener` on an already bound `listener` (port 0
/// in tests), logging and measuring every request through `telemetry`. It stops
/// gracefully on SIGTERM or SIGINT: no new connections, in-flight requests
/// finish.
pub fn server<S: Store>(
    shortener: Shortener<S>,
    settings: &HttpSettings,
    telemetry: Telemetry,
    listener: TcpListener,
) -> std::io::Result<Server> {
    if let Some(drill) = &settings.drill {
        warn!(telemetry.logger(), "drill active: faults are injected on purpose";
              "route" => drill.route(), "latency_ms" => drill.latency().as_millis(),
              "error_rate" => drill.error_rate());
    }
    let shortener = web::Data::new(shortener);
    let bulk_limit = web::Data::new(bulk::BulkLimit(settings.bulk_limit));
    let health_timeout = web::Data::new(health::HealthTimeout(settings.health_timeout));
    let body_limit = settings.body_limit;
    let drill = settings.drill.clone();
    let telemetry = web::Data::new(telemetry);
    let document = web::Data::new(openapi::docs::ApiDocument::new(&openapi::document::<S>()));
    let guard = guard::Guard::new(&settings.guard, settings.api_keys.clone());
    let extra_routes = settings.extra_routes;
    let mut server = HttpServer::new(move || {
        let observer = Rc::new(telemetry.observer(drill.clone()));
        let guard = std::sync::Arc::clone(&guard);
        App::new()
            .app_data(shortener.clone())
            .app_data(bulk_limit.clone())
            .app_data(health_timeout.clone())
            .app_data(telemetry.clone())
            .app_data(document.clone())
            .app_data(extract::json_config(body_limit))
            .app_data(extract::query_config())
            .wrap(from_fn(move |req, next| std::sync::Arc::clone(&guard).check(req, next)))
            .wrap(json_errors::middleware())
            // Outermost, so it sees the final answer (JSON error rewrites included).
            .wrap(from_fn(move |req, next| Rc::clone(&observer).observe(req, next)))
            .into_utoipa_app()
            .configure(routes::<S>)
            .default_service(web::to(json_errors::not_found))
            .into_app()
            .configure(|config| extra_routes.into_iter().for_each(|extra| extra(config)))
    })
    .shutdown_timeout(settings.shutdown_timeout.as_secs())
    // Slow clients may not hold a worker's connection open for ever.
    .client_request_timeout(settings.client_request_timeout)
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(settings.keep_alive)
    .max_connections(settings.max_connections_per_worker)
    .listen(listener)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
