//! The command line: goose's own flags, with the chosen plan's defaults added.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::plan::{self, Plan};

/// The arguments goose parses, and what this run writes.
#[derive(Debug)]
pub struct Prepared {
    pub args: Vec<String>,
    pub plan: &'static Plan,
    /// `loadtests/reports/NAME-TIME`: the server summary goes to `STEM.server.json`.
    pub stem: String,
    pub report_files: Vec<String>,
}

/// Help, version and listing: nothing to measure, goose answers and exits.
pub fn wants_information(args: &[String]) -> bool {
    args.iter().any(|a| {
        matches!(
            a.as_str(),
            "-h" | "--help" | "-V" | "--version" | "-l" | "--list" | "--scenarios-list"
        )
    })
}

/// The value of `--flag VALUE` or `--flag=VALUE`.
fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let prefix = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag { args.get(i + 1).map(String::as_str) } else { a.strip_prefix(&prefix) }
    })
}

/// Picks the plan from `--scenarios` (one name; `baseline` when absent), renames
/// `--hatch-rate` to goose's `--increase-rate`, and adds an HTML and a JSON report
/// under `loadtests/reports/` unless `--report-file` is given.
pub fn prepare(mut args: Vec<String>) -> Result<Prepared, String> {
    for a in &mut args {
        if a == "--hatch-rate" {
            *a = "--increase-rate".into();
        } else if let Some(rate) = a.strip_prefix("--hatch-rate=") {
            *a = format!("--increase-rate={rate}");
        }
    }
    let plan = match value_of(&args, "--scenarios").or_else(|| value_of(&args, "-S")) {
        Some(name) => plan::find(name).ok_or_else(|| {
            let names: Vec<&str> = plan::PLANS.iter().map(|p| p.name).collect();
            format!("--scenarios takes one of {}, got '{name}'", names.join(", "))
        })?,
        None => {
            args.extend(["--scenarios".into(), plan::PLANS[0].name.into()]);
            &plan::PLANS[0]
        }
    };
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/reports");
    let stem = format!("{dir}/{}-{stamp}", plan.name);
    let mut report_files: Vec<String> = args
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            if a == "--report-file" {
                args.get(i + 1).cloned()
            } else {
                a.strip_prefix("--report-file=").map(str::to_string)
            }
        })
        .collect();
    if report_files.is_empty() {
        for ext in ["html", "json"] {
            let file = format!("{stem}.{ext}");
            args.extend(["--report-file".into(), file.clone()]);
            report_files.push(file);
        }
    }
    // The server summary sits beside the JSON report when one is named.
    let stem = report_files
        .iter()
        .find_map(|f| f.strip_suffix(".json"))
        .map(str::to_string)
        .unwrap_or(stem);
    Ok(Prepared { args, plan, stem, report_files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn hatch_rate_is_goose_increase_rate() {
        let p = prepare(strings(&["--hatch-rate", "5", "--hatch-rate=7"])).unwrap();
        assert!(p.args.starts_with(&strings(&["--increase-rate", "5", "--increase-rate=7"])));
    }

    #[test]
    fn the_scenario_picks_the_plan_and_reports_go_under_reports() {
        let p = prepare(strings(&["--scenarios", "tsunami"])).unwrap();
        assert_eq!(p.plan.name, "tsunami");
        assert_eq!(p.report_files.len(), 2);
        assert!(p.report_files[0].contains("/loadtests/reports/tsunami-"));
        assert!(p.report_files[1].ends_with(".json"));
    }

    #[test]
    fn no_scenario_means_baseline_and_a_given_report_wins() {
        let p = prepare(strings(&["--report-file=/tmp/x.json"])).unwrap();
        assert_eq!(p.plan.name, "baseline");
        assert_eq!(p.report_files, vec!["/tmp/x.json".to_string()]);
        assert_eq!(p.stem, "/tmp/x");
        assert!(p.args.ends_with(&strings(&["--scenarios", "baseline"])));
    }

    #[test]
    fn an_unknown_scenario_is_refused() {
        assert!(prepare(strings(&["--scenarios=nope"])).is_err());
    }
}
