//! A PostgreSQL cluster of one test's own, for tests that stop the database: it
//! is made with `initdb` in a temporary directory, listens on a free port of
//! 127.0.0.1 only, and is stopped and deleted when the value is dropped, also
//! when the test panics. The shared server other tests use is never touched.
//!
//! The cluster is tuned for throwaway use (trust authentication, `fsync` off,
//! small buffers). As root, the PostgreSQL programs (which refuse to run as root)
//! run as the `postgres` system user. A test process that was killed leaves its
//! cluster behind: the next cluster this machine makes stops and deletes those
//! whose process is gone.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Directories of private clusters are `{temp}/{PREFIX}{pid}-{n}-{salt}`.
const PREFIX: &str = "shortener-private-pg-";
/// Where Debian puts the server programs when they are not on `PATH`.
const DEBIAN_BIN: &str = "/usr/lib/postgresql";
/// Fresh ports to try when another process takes ours before the server binds it.
const PORT_ATTEMPTS: usize = 5;

static CREATED: AtomicU64 = AtomicU64::new(0);

/// A running (or deliberately stopped) PostgreSQL cluster of this test's own.
#[derive(Debug)]
pub struct PrivatePostgres {
    /// Holds `data/` (the cluster), the server's log and its Unix socket.
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    /// `Some("postgres")` when this process is root.
    run_as: Option<&'static str>,
}

impl PrivatePostgres {
    /// Makes a new cluster and starts it. Blocks for the second or two `initdb`
    /// and the start take; panics, saying what to install, when PostgreSQL's
    /// server programs are missing.
    pub fn start_new() -> Self {
        let bin = find_bin_dir();
        let run_as = is_root().then_some("postgres");
        sweep_abandoned(&bin, run_as);
        let n = CREATED.fetch_add(1, Ordering::SeqCst);
        let salt = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("{PREFIX}{}-{n}-{salt:x}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        if run_as.is_some() {
            // The postgres user must create data/ and its socket here. A scratch
            // directory only this test uses, deleted on drop.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                .unwrap_or_else(|e| panic!("opening {} to postgres: {e}", dir.display()));
        }
        let mut cluster = Self { dir, port: 0, bin, run_as };
        let data = cluster.data_dir();
        let init = cluster
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"])
            .output();
        expect_success("initdb", init);
        let mut tried = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            cluster.port = free_port();
            match cluster.try_start() {
                Ok(()) => return cluster,
                Err(error) => tried.push(format!("port {}: {error}", cluster.port)),
            }
        }
        panic!("the private PostgreSQL cluster would not start: {}", tried.join("; "));
    }

    /// A URL of the cluster's `postgres` database (user `postgres`, no password).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (`pg_ctl stop -m fast`): connections are cut, new ones
    /// are refused, as when a database host goes down.
    pub fn stop(&self) {
        let stopped = self.pg_ctl().args(["-m", "fast", "stop"]).output();
        expect_success("pg_ctl stop", stopped);
    }

    /// Starts the server again on the same port, with the same data.
    pub fn start(&self) {
        if let Err(error) = self.try_start() {
            panic!("restarting the private PostgreSQL cluster on port {}: {error}", self.port);
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40",
            self.port,
            self.dir.display()
        );
        let output = self
            .pg_ctl()
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &options, "start"])
            .output()
            .map_err(|e| format!("running pg_ctl: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            Err(format!("{}; server log: {log}", describe(&output)))
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `pg_ctl -D data -w -t 30`: every action waits, for 30 s at most.
    fn pg_ctl(&self) -> Command {
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.data_dir()).args(["-w", "-t", "30"]);
        command
    }

    fn command(&self, program: &str) -> Command {
        program_command(&self.bin, self.run_as, program)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Immediate: nothing here is worth a clean checkpoint. Fails harmlessly
        // when the test left the server stopped.
        let _ = self.pg_ctl().args(["-m", "immediate", "stop"]).output();
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not delete the private cluster {}: {error}", self.dir.display());
        }
    }
}

fn program_command(bin: &Path, run_as: Option<&str>, program: &str) -> Command {
    let program = bin.join(program);
    match run_as {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The directory of `initdb` and `pg_ctl`: on `PATH`, else the newest Debian one.
fn find_bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let debian = std::fs::read_dir(DEBIAN_BIN)
        .map(|versions| {
            let mut dirs: Vec<_> = versions.flatten().map(|v| v.path().join("bin")).collect();
            // Newest first; version directories are numbers ("15", "16").
            dirs.sort_by_key(|dir| {
                std::cmp::Reverse(
                    dir.parent()
                        .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                        .unwrap_or(0),
                )
            });
            dirs
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server programs (initdb, pg_ctl) on PATH or in {DEBIAN_BIN}/*/bin; \
                 install them, e.g. `apt-get install -y postgresql`"
            )
        })
}

/// Whether this process runs as root (uid 0), from `/proc/self/status`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().nth(1))
            .is_some_and(|effective| effective == "0")
    })
}

/// Stops and deletes the clusters that test processes, now gone, left behind.
fn sweep_abandoned(bin: &Path, run_as: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)?.split('-').next())
        else {
            continue;
        };
        let abandoned =
            pid.parse::<u32>().is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if abandoned {
            let data = entry.path().join("data");
            let _ = program_command(bin, run_as, "pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-w", "-t", "10", "-m", "immediate", "stop"])
                .output();
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn expect_success(what: &str, output: std::io::Result<Output>) {
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!("{what} failed: {}", describe(&output)),
        Err(e) => panic!("{what} could not run: {e}"),
    }
}

fn describe(output: &Output) -> String {
    format!(
        "{}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )
}
