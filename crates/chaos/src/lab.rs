//! The system under test: a private PostgreSQL cluster, a private `redis-server`
//! and a native stack (`deploy/local/stack`) of this run's own on free ports, in
//! a scratch directory. Dropping it stops the stack, then Redis and PostgreSQL,
//! and deletes the directory, unless a check failed: then the logs stay.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testkit::PrivatePostgres;
use testkit::redis::PrivateRedis;

use crate::scenarios::Error;

/// The database the stack creates on the private cluster.
const DATABASE: &str = "shortener_chaos";

#[derive(Debug)]
pub struct Lab {
    // Fields drop in this order: the replicas go before their dependencies.
    pub stack: Stack,
    pub redis: PrivateRedis,
    pub postgres: PrivatePostgres,
}

impl Lab {
    /// Starts the dependencies, then the stack on them, and waits until healthy.
    pub async fn start(name: &str) -> Result<Self, Error> {
        let (postgres, redis) =
            tokio::task::spawn_blocking(|| (PrivatePostgres::start_new(), PrivateRedis::start()))
                .await
                .map_err(|e| format!("starting the private PostgreSQL and Redis: {e}"))?;
        let database_url = database_url(&postgres.url());
        let stack = Stack::new(name, database_url, redis.url())?;
        tokio::task::block_in_place(|| stack.run("up").and_then(|()| stack.run("status")))?;
        Ok(Self { stack, redis, postgres })
    }
}

/// The private cluster's URL with the stack's database instead of `postgres`.
fn database_url(cluster: &str) -> String {
    let server = cluster.rsplit_once('/').map_or(cluster, |(server, _)| server);
    format!("{server}/{DATABASE}")
}

/// One native stack, driven through its script.
#[derive(Debug)]
pub struct Stack {
    script: PathBuf,
    run_dir: PathBuf,
    env: Vec<(&'static str, String)>,
    pub port: u16,
    pub replica_ports: [u16; 2],
    pub database_url: String,
    keep_logs: bool,
}

impl Stack {
    fn new(name: &str, database_url: String, redis_url: String) -> Result<Self, Error> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = repo.join("deploy/local/stack");
        let run_dir =
            std::env::temp_dir().join(format!("shortener-chaos-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| format!("creating {}: {e}", run_dir.display()))?;
        let [port, replica_1, replica_2, prometheus] = testkit::free_ports();
        let env = vec![
            ("STACK_RUN_DIR", run_dir.display().to_string()),
            ("STACK_PORT", port.to_string()),
            ("STACK_REPLICA_PORTS", format!("{replica_1} {replica_2}")),
            ("STACK_PROMETHEUS_PORT", prometheus.to_string()),
            ("DATABASE_URL", database_url.clone()),
            ("REDIS_URL", redis_url),
        ];
        Ok(Self {
            script,
            run_dir,
            env,
            port,
            replica_ports: [replica_1, replica_2],
            database_url,
            keep_logs: false,
        })
    }

    /// `deploy/local/stack <command>`, its output passed through. It blocks: call
    /// it in `block_in_place`, so the traffic goes on meanwhile.
    pub fn run(&self, command: &str) -> Result<(), Error> {
        let status = Command::new(&self.script)
            .arg(command)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("running {}: {e}", self.script.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`stack {command}` failed ({status}); logs in {}", self.logs().display())
                .into())
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn replica_url(&self, replica: usize) -> String {
        format!("http://127.0.0.1:{}", self.replica_ports[replica - 1])
    }

    /// The PID the stack recorded for `replica-<n>`.
    pub fn replica_pid(&self, replica: usize) -> Result<u32, Error> {
        let file = self.run_dir.join(format!("pids/replica-{replica}.pid"));
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        Ok(text.trim().parse().map_err(|e| format!("{}: {e}", file.display()))?)
    }

    pub fn logs(&self) -> PathBuf {
        self.run_dir.join("logs")
    }

    /// Keeps the scratch directory (and its logs) after the run.
    pub fn keep_logs(&mut self) {
        self.keep_logs = true;
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let down = Command::new(&self.script)
            .arg("down")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !matches!(down, Ok(status) if status.success()) {
            eprintln!("chaos: `stack down` failed for {}", self.run_dir.display());
        } else if !self.keep_logs {
            let _ = std::fs::remove_dir_all(&self.run_dir);
        }
    }
}

/// Sends `signal` (a name such as `KILL`) to a process of the stack.
pub fn signal(pid: u32, signal: &str) -> Result<(), Error> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .map_err(|e| format!("running kill: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("kill -{signal} {pid} failed").into()) }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_stack_database_replaces_the_cluster_default() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5433/postgres"),
            "postgres://postgres@127.0.0.1:5433/shortener_chaos"
        );
    }
}
