//! This replica's own metrics registry: what it runs (`shortener_build_info`)
//! and, on PostgreSQL, the state of its connection pool, read at each scrape.
//! The HTTP adapter adds its request metrics to the same registry.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};
use store_postgres::PgStore;

/// A fresh registry for one replica named `replica`, with the pool gauges of
/// `pool` when it runs on PostgreSQL.
pub fn replica_registry(replica: &str, pool: Option<&PgStore>) -> prometheus::Result<Registry> {
    let registry = Registry::new();
    let build = IntGaugeVec::new(
        Opts::new("shortener_build_info", "Always 1; the labels say what this replica runs."),
        &["version", "replica"],
    )?;
    build.with_label_values(&[env!("CARGO_PKG_VERSION"), replica]).set(1);
    registry.register(Box::new(build))?;
    if let Some(store) = pool {
        registry.register(Box::new(PoolCollector::new(store.clone())?))?;
    }
    Ok(registry)
}

/// `shortener_db_pool_connections{state="size"|"idle"|"max"}` and
/// `shortener_db_pool_waiting`, taken from the pool when Prometheus asks rather
/// than kept up to date on every checkout.
struct PoolCollector {
    store: PgStore,
    connections: IntGaugeVec,
    waiting: IntGauge,
}

impl PoolCollector {
    fn new(store: PgStore) -> prometheus::Result<Self> {
        let connections = IntGaugeVec::new(
            Opts::new(
                "shortener_db_pool_connections",
                "PostgreSQL connections: open now (size), of those idle, and the most allowed (max).",
            ),
            &["state"],
        )?;
        let waiting = IntGauge::new(
            "shortener_db_pool_waiting",
            "Requests waiting for a free PostgreSQL connection.",
        )?;
        Ok(Self { store, connections, waiting })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.connections.desc().into_iter().chain(self.waiting.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.store.pool_status();
        for (state, count) in
            [("size", status.size), ("idle", status.idle), ("max", status.max_size)]
        {
            self.connections.with_label_values(&[state]).set(gauge_value(count));
        }
        self.waiting.set(gauge_value(status.waiting));
        let mut families = self.connections.collect();
        families.extend(self.waiting.collect());
        families
    }
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
