//! Load scenarios for the shortener, run with goose's own command line:
//!
//! ```sh
//! cargo run --release -p loadtests -- --host http://127.0.0.1:8080 --scenarios tsunami
//! ```
//!
//! Each scenario is the same weighted mix of what clients do (mostly redirects of
//! existing codes, then reads of lists and single resources, then creates and
//! updates); the steps of the capacity plan differ in how many users run it, for
//! how long, and which thresholds the run must meet (see [`plan::PLANS`]). Picking a
//! scenario with `--scenarios NAME` also picks its defaults; any goose flag given
//! on the command line (`--users`, `--increase-rate` or its old name
//! `--hatch-rate`, `--run-time`, `--threshold`, `--report-file`) wins over them.
//!
//! Besides goose's HTML and JSON reports (`loadtests/reports/NAME-TIME.{html,json}`
//! unless `--report-file` names others), a run watches the replicas' `/metrics`
//! and writes `NAME-TIME.server.json`: CPU and RSS per replica, pool waiting, cache
//! hit ratio, and the redirects served compared with the click rows recorded.
//! A missed threshold or a click count that does not match makes the run exit 1.

mod args;
mod mix;
mod plan;
mod procs;
mod server;

use std::process::ExitCode;

use goose::config::GooseConfiguration;
use goose::prelude::*;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(passed) if passed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("loadtests: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs the load test; `Ok(false)` when a threshold or the click check failed.
async fn run() -> Result<bool, String> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if args::wants_information(&raw) {
        // --help, --version, --list: goose answers and exits.
        build_attack(GooseAttack::initialize().map_err(|e| e.to_string())?, &plan::PLANS[0])?
            .execute()
            .await
            .map_err(|e| e.to_string())?;
        return Ok(true);
    }
    let prepared = args::prepare(raw)?;
    let plan = prepared.plan;
    let configuration =
        GooseConfiguration::parse_args_default(&prepared.args).map_err(|e| format!("{e:?}"))?;
    let host = configuration.host.as_deref().unwrap_or("").trim_end_matches('/').to_string();
    if host.is_empty() {
        return Err("--host is required, e.g. --host http://127.0.0.1:8080".into());
    }
    eprintln!(
        "loadtests: scenario {} ({}) against {host}; reports: {}",
        plan.name,
        plan.about,
        prepared.report_files.join(", ")
    );

    let watch = server::Watch::start(&host, &prepared.stem).await?;
    let attack = build_attack(
        GooseAttack::initialize_with_config(configuration).map_err(|e| e.to_string())?,
        plan,
    )?;
    let (metrics, thresholds_passed) = match attack.execute().await {
        Ok(metrics) => (metrics, true),
        Err(GooseError::ThresholdsFailed { failed, metrics }) => {
            for result in &failed {
                eprintln!(
                    "loadtests: threshold {} failed: observed {}",
                    result.rule, result.observed
                );
            }
            ((*metrics).clone(), false)
        }
        Err(e) => return Err(format!("{e:?}")),
    };
    let summary = watch.finish(&metrics).await?;
    let clicks_match = summary.clicks_match();
    eprintln!("{}", summary.describe());
    if !clicks_match {
        eprintln!("loadtests: FAIL: the click rows do not match the redirects served");
    }
    Ok(thresholds_passed && clicks_match)
}

/// The scenarios and the chosen plan's defaults.
fn build_attack(attack: GooseAttack, plan: &plan::Plan) -> Result<GooseAttack, String> {
    // Goose refuses an abort delay beside --no-threshold-abort.
    let refused = std::env::args()
        .any(|a| a == "--no-threshold-abort" || a.starts_with("--threshold-abort-delay"));
    with_defaults(attack, plan, refused).map_err(|e| format!("{e:?}"))
}

fn with_defaults(
    attack: GooseAttack,
    plan: &plan::Plan,
    abort_delay_refused: bool,
) -> Result<GooseAttack, GooseError> {
    let mut attack = *attack
        .set_default(GooseDefault::Users, plan.users)?
        .set_default(GooseDefault::IncreaseRate, plan.increase_rate)?
        .set_default(GooseDefault::RunTime, plan.run_time_secs)?;
    if !abort_delay_refused {
        // The first seconds of a hold may see a cold cache: judge them at the end.
        attack = *attack.set_default(GooseDefault::ThresholdAbortDelay, 10)?;
    }
    for rule in plan.thresholds {
        attack = *attack.set_default(GooseDefault::Threshold, *rule)?;
    }
    for scenario in plan::PLANS {
        attack = attack.register_scenario(mix::scenario(scenario.name)?);
    }
    Ok(attack)
}
