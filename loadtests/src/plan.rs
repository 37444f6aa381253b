//! The steps of the capacity plan: who runs the mix, how many, for how long, and
//! what the run must meet to pass.

/// One step of the plan; its name is the goose scenario's machine name.
#[derive(Debug)]
pub struct Plan {
    pub name: &'static str,
    pub about: &'static str,
    pub users: usize,
    /// Users started per second (goose's `--increase-rate`, once `--hatch-rate`).
    pub increase_rate: &'static str,
    /// The hold at full load; goose resets its metrics when the ramp-up ends, so
    /// the reports cover the hold only.
    pub run_time_secs: usize,
    /// Goose thresholds: a run that misses one exits non-zero.
    pub thresholds: &'static [&'static str],
}

/// The redirect's name in goose's reports and thresholds.
pub const REDIRECT: &str = "GET /{short_code}";

/// Every step. The first is the default when `--scenarios` is not given.
///
/// Latency thresholds come from the SLO (docs/slo.md): redirects within 25 ms
/// for 99 % of requests, API requests within 250 ms; the capacity target adds a
/// p95 under 50 ms for the whole mix. Goose measures at the client, so Nginx and
/// the load generator's own scheduling on this 2-core machine are included.
pub const PLANS: &[Plan] = &[
    Plan {
        name: "baseline",
        about: "50 users, one replica, no Nginx: what one process does",
        users: 50,
        increase_rate: "10",
        run_time_secs: 60,
        thresholds: &["error-rate<0.1%", "p95<50ms", "p99<25ms for GET /{short_code}"],
    },
    Plan {
        name: "scaleout",
        about: "200 users through Nginx and two replicas",
        users: 200,
        increase_rate: "40",
        run_time_secs: 60,
        thresholds: &["error-rate<0.1%", "p95<50ms", "p99<25ms for GET /{short_code}"],
    },
    Plan {
        name: "tsunami",
        about: "500 users through Nginx and two replicas, Redis cache on",
        users: 500,
        increase_rate: "100",
        run_time_secs: 60,
        thresholds: &["error-rate<=0%", "p95<50ms", "p99<25ms for GET /{short_code}"],
    },
    Plan {
        name: "soak",
        about: "200 users for 10 minutes through Nginx and two replicas: leaks, drift",
        users: 200,
        increase_rate: "40",
        run_time_secs: 600,
        thresholds: &["error-rate<0.1%", "p95<50ms", "p99<25ms for GET /{short_code}"],
    },
];

/// The plan named `name`.
pub fn find(name: &str) -> Option<&'static Plan> {
    PLANS.iter().find(|plan| plan.name == name)
}
