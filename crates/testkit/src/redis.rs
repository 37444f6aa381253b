//! Redis for tests: a cache on the shared server under a key prefix of the test's
//! own, and [`PrivateRedis`], a `redis-server` of the test's own that it may stop
//! and start without disturbing anyone else.

use crate::free_port;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_redis::{RedisCache, RedisConfig};

/// The shared server tests use unless `REDIS_URL` names another.
const LOCAL_DEFAULT: &str = "redis://127.0.0.1:6379";

static PREFIXES: AtomicU64 = AtomicU64::new(0);

/// The Redis URL tests should use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| LOCAL_DEFAULT.into())
}

/// A key prefix no other test (or test process) uses.
pub fn unique_prefix() -> String {
    let n = PREFIXES.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("test:{}:{nanos}:{n}:", std::process::id())
}

/// A connected cache at `url` under `prefix`; panics with how to start Redis when
/// none answers.
pub async fn cache_at(url: &str, prefix: &str) -> RedisCache {
    let config = RedisConfig { prefix: prefix.to_owned(), ..RedisConfig::new(url) };
    let cache = RedisCache::connect(&config).expect("a valid Redis URL");
    assert!(
        cache.wait_until_connected(Duration::from_secs(3)).await,
        "no Redis answers at {url}: start one (`redis-server --daemonize yes`, or \
         scripts/ensure-services.sh) or point REDIS_URL at one"
    );
    cache
}

/// A cache on the shared Redis under a fresh prefix: the factory for
/// `cache_contract_suite!`.
pub async fn fresh_cache() -> Arc<dyn domain::cache::Cache> {
    Arc::new(cache_at(&redis_url(), &unique_prefix()).await)
}

/// A `redis-server` child process on a free port, stopped when dropped.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one and waits until it answers.
    pub fn start() -> Self {
        let port = free_port();
        let mut redis = Self { port, child: None };
        redis.resume();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGKILL: an outage, not a goodbye) and waits for it to go.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install -y redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the private redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
