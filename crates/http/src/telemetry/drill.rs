//! The drill switch: latency and failures injected into one route, so on-call
//! engineers can practise an incident against a real replica and watch the
//! dashboard and the alerts react. It is set only from the environment at
//! start-up; no request can switch it on or off.

use std::time::Duration;

use domain::Error;

use crate::error::ApiError;

/// Faults to inject into every request of one route pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    route: String,
    latency: Duration,
    error_rate: f64,
}

impl Drill {
    /// Requests whose route pattern is `route` (as in the metrics, e.g.
    /// `/{short_code}`) are delayed by `latency`, then a share `error_rate`
    /// (0 to 1) of them fails with 500 instead of reaching their handler.
    pub fn new(route: impl Into<String>, latency: Duration, error_rate: f64) -> Self {
        Self { route: route.into(), latency, error_rate }
    }

    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn latency(&self) -> Duration {
        self.latency
    }

    pub fn error_rate(&self) -> f64 {
        self.error_rate
    }

    pub(crate) fn targets(&self, route: &str) -> bool {
        self.route == route
    }

    /// Waits the injected latency; `Some(failure)` when this request is one of
    /// those that must fail.
    pub(crate) async fn strike(&self) -> Option<ApiError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        // A comparison, not `random_bool`: it cannot panic whatever the rate.
        (rand::random::<f64>() < self.error_rate).then(|| {
            ApiError::Domain(Error::Internal(format!(
                "drill: failure injected into {}",
                self.route
            )))
        })
    }
}
