//! Fresh PostgreSQL databases for tests: each test gets its own database, created
//! with a unique name on a real server and dropped when the test is done, so tests
//! run in parallel and leave nothing behind.
//!
//! The server is the one `DATABASE_URL` names when it is set and reachable, else
//! the local default `postgres://postgres@127.0.0.1:5432/postgres`. When neither
//! answers, the test panics with how to start one; it never passes silently. (No
//! Docker engine exists on this project's machines, so there is no testcontainers
//! fallback.)
//!
//! Databases are dropped by [`TestDatabase`]'s `Drop`, also when the test panics.
//! A test process that was killed leaves its databases behind: the first database
//! a later test process creates sweeps those of dead processes on this host.

use std::process;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use store_postgres::{PgConfig, PgStore, run_migrations};
use tokio::sync::OnceCell;

/// The server every test database of this process lives on.
const LOCAL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Names of test databases start with this, then `{host}_{pid}_{n}_{salt}`.
const PREFIX: &str = "shortener_test_";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

static SERVER: OnceCell<String> = OnceCell::const_new();
static SWEPT: AtomicBool = AtomicBool::new(false);
static CREATED: AtomicU64 = AtomicU64::new(0);

/// A database of its own for one test, dropped (connections and all) when this
/// value is. Keep it alive for as long as the test uses [`TestDatabase::url`].
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL of this database.
    pub url: String,
    /// Its name on the server.
    pub name: String,
    /// A URL of the same server outside this database, to drop it from.
    admin_url: String,
}

impl TestDatabase {
    /// A new database with the shortener's schema.
    pub async fn create() -> Self {
        let database = Self::create_empty().await;
        if let Err(error) = run_migrations(&database.config()).await {
            panic!("migrating test database {}: {error}", database.name);
        }
        database
    }

    /// A new database without any schema (to test the migrations themselves).
    pub async fn create_empty() -> Self {
        let admin_url = server().await.to_owned();
        let mut admin = connect(&admin_url).await.unwrap_or_else(|error| {
            panic!("reconnecting to the test server {}: {error}", redacted(&admin_url))
        });
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep_abandoned(&mut admin).await;
        }
        let name = unique_name();
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("creating test database {name}: {error}"));
        let url = with_database(&admin_url, &name);
        Self { url, name, admin_url }
    }

    /// Pool settings for this database, sized for a test.
    pub fn config(&self) -> PgConfig {
        PgConfig { max_size: 4, ..PgConfig::new(self.url.clone()) }
    }

    /// A store over this database; the database lives as long as `self`.
    pub fn store(&self) -> PgStore {
        PgStore::connect(&self.config()).expect("a pool for the test database")
    }

    /// A store that owns this database: it is dropped with the store's last clone.
    pub fn into_store(self) -> PgStore {
        self.store().keeping_alive(self)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, where blocking on async work is not
        // allowed: drop the database from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(drop_database(&admin_url, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop test database {}: {error}", self.name),
            Err(_) => eprintln!("could not drop test database {}: the thread panicked", self.name),
        }
    }
}

/// A store over a fresh, migrated, empty database of its own, dropped with the
/// store: the factory for `store_contract_suite!`.
pub async fn fresh_store() -> PgStore {
    TestDatabase::create().await.into_store()
}

/// The URL of the first reachable server, decided once per process.
async fn server() -> &'static str {
    SERVER.get_or_init(find_server).await
}

async fn find_server() -> String {
    let mut candidates = Vec::new();
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|url| !url.trim().is_empty()) {
        candidates.push(("DATABASE_URL", url));
    }
    candidates.push(("the local default", LOCAL_DEFAULT.to_owned()));
    let mut tried = Vec::new();
    for (source, url) in candidates {
        match connect(&url).await {
            Ok(_) => {
                if !tried.is_empty() {
                    eprintln!("test databases: {} ({})", redacted(&url), tried.join("; "));
                }
                return url;
            }
            Err(error) => tried.push(format!("{source} {} failed: {error}", redacted(&url))),
        }
    }
    panic!(
        "no PostgreSQL server for the tests: {}.\n\
         Start one, e.g. `pg_ctlcluster 15 main start` (Debian; trust auth for user postgres on \
         127.0.0.1:5432) or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust \
         postgres:15`, or set DATABASE_URL to a server whose user may CREATE DATABASE.",
        tried.join("; ")
    );
}

async fn connect(url: &str) -> Result<AsyncPgConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(url)).await {
        Ok(connected) => connected.map_err(|error| error.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let mut admin = connect(admin_url).await?;
    // FORCE ends the connections a pool may still hold open.
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .map(drop)
        .map_err(|error| error.to_string())
}

/// Drops the test databases that processes of this host, now gone, left behind.
async fn sweep_abandoned(admin: &mut AsyncPgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Database {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let pattern = format!("{PREFIX}{}\\_%", host_tag());
    let Ok(databases) = diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
        .bind::<Text, _>(pattern)
        .load::<Database>(admin)
        .await
    else {
        return; // Best effort: a failed sweep must not fail the test.
    };
    let tag = format!("{PREFIX}{}_", host_tag());
    for Database { datname } in databases {
        let pid = datname.strip_prefix(&tag).and_then(|rest| rest.split('_').next());
        let abandoned = pid
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if abandoned {
            let statement = format!("DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)");
            let _ = diesel::sql_query(statement).execute(admin).await;
        }
    }
}

/// `shortener_test_{host}_{pid}_{n}_{salt}`: unique on the server, and telling
/// which process on which host made it, for the sweep.
fn unique_name() -> String {
    let n = CREATED.fetch_add(1, Ordering::SeqCst);
    // The salt tells apart databases of a reused pid whose predecessor left some.
    let salt = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{PREFIX}{}_{}_{n}_{salt:x}", host_tag(), process::id())
}

/// This host's name as a short identifier (lowercase ASCII letters and digits).
fn host_tag() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let tag: String = host
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    if tag.is_empty() { "host".into() } else { tag }
}

/// `url` pointing at database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.to_string()
        }
        Err(error) => panic!("the test server URL {} is not a URL: {error}", redacted(url)),
    }
}

fn redacted(url: &str) -> String {
    PgConfig::new(url).redacted_url()
}
