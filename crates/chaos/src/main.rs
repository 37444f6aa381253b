//! Chaos tests of the production topology, run against the native stack
//! (`deploy/local/stack`). Each scenario starts a stack of its own, on a private
//! PostgreSQL cluster and a private `redis-server` (never the shared ones), drives
//! steady mixed traffic through Nginx (redirects, reads, writes), applies one
//! fault, and checks in PostgreSQL that every write and every click the service
//! acknowledged is there. Each is bounded in time and prints what it counted.
//!
//!     cargo run -p chaos -- all            # or one: kill-replica, rolling-restart,
//!                                          # redis-outage, postgres-outage
//!
//! `SHORTENER_BIN` names the binary the stack runs (default: the release build).

mod audit;
mod lab;
mod report;
mod scenarios;
mod traffic;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::scenarios::Scenario;

#[derive(Debug, Parser)]
#[command(name = "chaos", about = "Chaos tests of the native shortener stack")]
struct Cli {
    /// The scenario to run, or `all` of them one after the other.
    #[arg(value_enum)]
    scenario: Which,

    /// Requests per second sent through Nginx (stay below its per-client limit).
    #[arg(long, default_value_t = 60)]
    rate: u32,

    /// Seconds of traffic per scenario; the fault starts after a quarter of it.
    #[arg(long, default_value_t = 24)]
    duration_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    All,
    KillReplica,
    RollingRestart,
    RedisOutage,
    PostgresOutage,
}

impl Which {
    fn scenarios(self) -> Vec<Scenario> {
        match self {
            Self::All => Scenario::ALL.to_vec(),
            Self::KillReplica => vec![Scenario::KillReplica],
            Self::RollingRestart => vec![Scenario::RollingRestart],
            Self::RedisOutage => vec![Scenario::RedisOutage],
            Self::PostgresOutage => vec![Scenario::PostgresOutage],
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = scenarios::Settings {
        rate: cli.rate.max(1),
        duration: Duration::from_secs(cli.duration_secs.max(8)),
    };
    let scenarios = cli.scenario.scenarios();
    let mut failed = Vec::new();
    for &scenario in &scenarios {
        match scenarios::run(scenario, &settings).await {
            Ok(report) => {
                report.print();
                if !report.passed() {
                    failed.push(scenario.name());
                }
            }
            Err(error) => {
                eprintln!("chaos {}: could not run: {error}", scenario.name());
                failed.push(scenario.name());
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("chaos: failed: {}", failed.join(", "));
    }
    // The closing line CI reads, as test runners print it.
    eprintln!("chaos: {} passed, {} failed", scenarios.len() - failed.len(), failed.len());
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
