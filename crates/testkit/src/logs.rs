//! The log lines of a test application, captured so tests can read them: the
//! application logs exactly as in production (JSON lines, asynchronously), into
//! memory instead of stdout. With `TEST_LOG` set, every line is also copied to
//! stderr.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Lines are written by the logger's background thread; this is how long a
/// test waits for one before it fails.
const WAIT: Duration = Duration::from_secs(5);

/// Everything the application has logged so far. Clones share the buffer.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs {
    written: Arc<Mutex<Vec<u8>>>,
    echo: bool,
}

impl CapturedLogs {
    /// A buffer that copies to stderr when the environment sets `TEST_LOG`.
    pub fn new() -> Self {
        Self { written: Arc::default(), echo: std::env::var_os("TEST_LOG").is_some() }
    }

    /// Every complete line so far, each parsed as JSON; panics on a line that is
    /// not a JSON object, since the logs must hold nothing else.
    pub fn lines(&self) -> Vec<Value> {
        let written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let text = String::from_utf8_lossy(&written);
        let complete = text.rsplit_once('\n').map_or("", |(complete, _)| complete);
        complete
            .lines()
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(value) if value.is_object() => value,
                _ => panic!("a log line that is not a JSON object: {line:?}"),
            })
            .collect()
    }

    /// The first line for which `matches` holds, waiting for the logger to
    /// write it; panics with every line seen when none comes in time.
    pub async fn wait_for(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let lines = self.lines();
            if let Some(line) = lines.iter().find(|line| matches(line)) {
                return line.clone();
            }
            if Instant::now() > deadline {
                panic!("no log line {what} within {WAIT:?}; the lines: {lines:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.written.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        if self.echo {
            std::io::stderr().write_all(bytes)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
