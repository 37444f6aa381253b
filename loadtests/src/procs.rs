//! CPU and memory of the processes on this machine, from `/proc`: the replicas
//! (by PID), the other parts of the stack and the noise around it (by program
//! name), and the machine as a whole. The replicas' own `process_cpu_seconds_total`
//! counts whole seconds only; `/proc` counts clock ticks.

use std::collections::BTreeMap;

/// The program groups followed, by the names `/proc/PID/stat` gives them.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("nginx", &["nginx"]),
    ("postgres", &["postgres"]),
    ("redis", &["redis-server"]),
    ("prometheus", &["prometheus"]),
    // Other engineers' work on the shared machine: the noise.
    ("builds", &["rustc", "cargo", "cc", "cc1", "ld", "collect2", "build-script-b"]),
    ("other load generators", &["wrk", "bench-ceiling", "chaos", "oha", "ab", "locust"]),
    // Replicas other than the ones under test (other stacks, benchmarks, tests).
    ("other shortener processes", &["shortener"]),
];

/// CPU ticks of the replicas, the groups, the load generator and the machine.
#[derive(Debug, Clone, Default)]
pub struct Ticks {
    /// Per replica, in the order of `LOADTEST_REPLICA_PIDS`: (CPU ticks, RSS in KiB).
    pub replicas: Vec<Option<(u64, u64)>>,
    /// Every process of a group: PID, group and CPU ticks.
    pub grouped: BTreeMap<u32, (&'static str, u64)>,
    pub loadtests: u64,
    pub machine_busy: u64,
    pub machine_total: u64,
}

/// `(program name, utime + stime)` of one process.
fn stat(pid: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let name = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads everything once.
pub fn sample(replica_pids: &[u32]) -> Ticks {
    let mut ticks = Ticks {
        replicas: replica_pids
            .iter()
            .map(|pid| Some((stat(&pid.to_string())?.1, rss_kib(*pid)?)))
            .collect(),
        ..Ticks::default()
    };
    let me = std::process::id().to_string();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Some((name, cpu)) = stat(&pid) else { continue };
            if pid == me {
                ticks.loadtests = cpu;
            }
            if let Some((group, _)) =
                GROUPS.iter().find(|(_, names)| names.contains(&name.as_str()))
                && let Ok(pid) = pid.parse()
                && !replica_pids.contains(&pid)
            {
                ticks.grouped.insert(pid, (group, cpu));
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/stat")
        && let Some(line) = text.lines().next()
    {
        let values: Vec<u64> =
            line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal
        let total: u64 = values.iter().take(8).sum();
        let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
        ticks.machine_total = total;
        ticks.machine_busy = total.saturating_sub(idle);
    }
    ticks
}

/// The CPU ticks of `group` used since the first sample, at each sample: what
/// the processes alive at both ends of an interval used in it, plus all of what
/// a process that appeared in it used (a process that exits loses its last
/// interval). A plain sum of the live processes would fall when one exits.
pub fn cumulative(samples: &[&Ticks], group: &str) -> Vec<u64> {
    let mut total = 0;
    let mut out = Vec::with_capacity(samples.len());
    for (i, b) in samples.iter().enumerate() {
        if i > 0 {
            let a = samples[i - 1];
            for (pid, (g, ticks)) in &b.grouped {
                if *g != group {
                    continue;
                }
                total += match a.grouped.get(pid) {
                    Some((_, before)) => ticks.saturating_sub(*before),
                    None => *ticks,
                };
            }
        }
        out.push(total);
    }
    out
}

/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux unless told otherwise).
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The number of cores (`/proc/stat`'s `cpuN` lines).
pub fn cores() -> usize {
    std::fs::read_to_string("/proc/stat")
        .map(|t| t.lines().filter(|l| l.starts_with("cpu") && !l.starts_with("cpu ")).count())
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_seen() {
        let me = std::process::id();
        let t = sample(&[me]);
        assert!(t.replicas[0].is_some_and(|(_, rss)| rss > 0));
        assert!(t.machine_total > 0);
        assert!(cores() >= 1);
    }

    #[test]
    fn an_exiting_process_does_not_make_cpu_negative() {
        let at = |procs: &[(u32, u64)]| Ticks {
            grouped: procs.iter().map(|&(pid, t)| (pid, ("postgres", t))).collect(),
            ..Ticks::default()
        };
        let (a, b, c) = (at(&[(1, 10), (2, 50)]), at(&[(1, 15), (3, 4)]), at(&[(3, 9)]));
        assert_eq!(cumulative(&[&a, &b, &c], "postgres"), vec![0, 9, 14]);
    }
}
