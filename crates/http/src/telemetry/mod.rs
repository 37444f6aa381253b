//! What the HTTP adapter tells its operators: one JSON log line per request, the
//! request metrics Prometheus scrapes, the `X-Request-Id` that ties a client's
//! report to both, and the drill switch that injects faults for incident
//! practice.

mod drill;
mod metrics;
mod middleware;
mod request_id;

use prometheus::Registry;
use slog::Logger;

pub use drill::Drill;
pub(crate) use middleware::Observer;

use metrics::HttpMetrics;

/// Where a server reports to: its logger, and the registry of this replica's
/// metrics, which `/metrics` serves together with the prometheus crate's
/// default registry.
#[derive(Debug, Clone)]
pub struct Telemetry {
    logger: Logger,
    registry: Registry,
    metrics: HttpMetrics,
}

impl Telemetry {
    /// Registers the request metrics in `registry`.
    pub fn new(logger: Logger, registry: Registry) -> prometheus::Result<Self> {
        let metrics = HttpMetrics::register(&registry)?;
        Ok(Self { logger, registry, metrics })
    }

    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The middleware state of one worker.
    pub(crate) fn observer(&self, drill: Option<Drill>) -> Observer {
        Observer { logger: self.logger.clone(), metrics: self.metrics.clone(), drill }
    }
}
