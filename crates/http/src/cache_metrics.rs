//! The cache's part of `/metrics`: what the use cases report through the domain's
//! `CacheStats` port, counted in `shortener_cache_operations_total{outcome}`.

use std::sync::LazyLock;

use domain::cache::{CacheOutcome, CacheStats};
use prometheus::{IntCounterVec, register_int_counter_vec};

static OPERATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "shortener_cache_operations_total",
        "Cache lookups by outcome (hit, miss, bypass) and failed cache calls (error)",
        &["outcome"]
    )
    .expect("metric registers once")
});

/// Counts cache outcomes in the process's metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheMetrics;

impl CacheStats for CacheMetrics {
    fn lookup(&self, outcome: CacheOutcome) {
        OPERATIONS.with_label_values(&[outcome.as_str()]).inc();
    }

    fn error(&self) {
        OPERATIONS.with_label_values(&["error"]).inc();
    }
}
