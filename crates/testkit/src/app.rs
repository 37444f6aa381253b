//! `spawn_app`: the real application on port 0 over a fresh store, with typed
//! request helpers, so HTTP tests read like the contract they check.

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode, multipart};
use serde_json::Value;
use shortener::config::ServeConfig;
use shortener::{Application, StoreChoice, cache_from_config, telemetry};
use store_memory::MemoryStore;

use crate::logs::CapturedLogs;

/// Which store a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    /// A fresh PostgreSQL database of the test's own, dropped with the app.
    Postgres,
}

/// A running application and a client that does not follow redirects.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub client: Client,
    /// What the application logged.
    pub logs: CapturedLogs,
    handle: actix_web::dev::ServerHandle,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop without waiting: the runtime of the test is going away with us.
        drop(tokio::spawn(async move { handle.stop(false).await }));
    }
}

/// Starts the application on a free port over a fresh store of `kind`.
pub async fn spawn_app(kind: StoreKind) -> TestApp {
    spawn_app_with(kind, |_| {}).await
}

/// Like [`spawn_app`], with the configuration adjusted by `configure`.
pub async fn spawn_app_with(kind: StoreKind, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let store = match kind {
        StoreKind::Memory => StoreChoice::Memory(MemoryStore::new()),
        StoreKind::Postgres => StoreChoice::Postgres(crate::postgres::fresh_store().await),
    };
    spawn_app_on(store, configure).await
}

/// Starts the application on a free port over `store`, a store the test made
/// itself (say over a [`crate::PrivatePostgres`] it stops and starts).
pub async fn spawn_app_on(store: StoreChoice, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let mut config = ServeConfig::defaults();
    config.bind = "127.0.0.1:0".into();
    config.workers = Some(2);
    config.shutdown_timeout_secs = 1;
    config.replica_name = "test".into();
    configure(&mut config);
    let logs = CapturedLogs::new();
    let logger =
        telemetry::logger_writing_to(logs.clone(), &config.log_level, &config.replica_name);
    // A test that sets `redis_url` gets Redis under a key prefix of its own.
    if config.redis_url.is_some() && config.cache_prefix == ServeConfig::defaults().cache_prefix {
        config.cache_prefix = crate::redis::unique_prefix();
    }
    let cache = cache_from_config(&config, &logger).await.expect("a usable cache configuration");
    let app = Application::build(&config, store, cache, &logger).expect("the app binds port 0");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let running = Some(tokio::spawn(app.run_until_stopped()));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    TestApp { address, client, logs, handle, running }
}

impl TestApp {
    /// Stops the app as SIGTERM does (in-flight requests finish, then buffered
    /// clicks are flushed) and returns once it has ended.
    pub async fn shut_down(mut self) {
        self.handle.stop(true).await;
        if let Some(running) = self.running.take() {
            running.await.expect("the app's task ends").expect("the app stops cleanly");
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address))
    }

    async fn send(&self, request: RequestBuilder) -> Response {
        request.send().await.expect("the app answers")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn head(&self, path: &str) -> Response {
        self.send(self.request(Method::HEAD, path)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    /// A request with an arbitrary body and content type (`None`: no header).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut request = self.request(method, path).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        self.send(request).await
    }

    /// `POST /users/bulk` with `csv` as the multipart field `file`.
    pub async fn import_users_csv(&self, csv: impl Into<Vec<u8>>) -> Response {
        let part = multipart::Part::bytes(csv.into()).file_name("users.csv").mime_str("text/csv");
        let form = multipart::Form::new().part("file", part.expect("a MIME type"));
        self.send(self.request(Method::POST, "/users/bulk").multipart(form)).await
    }

    /// Creates a user and returns its JSON.
    pub async fn create_user(&self, username: &str) -> Value {
        let body =
            serde_json::json!({"username": username, "email": format!("{username}@example.com")});
        expect_json(self.post_json("/users", &body).await, StatusCode::CREATED).await
    }

    /// Creates a URL from `body` and returns its JSON.
    pub async fn create_url(&self, body: &Value) -> Value {
        expect_json(self.post_json("/urls", body).await, StatusCode::CREATED).await
    }

    /// `GET path`, expecting 200, as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        expect_json(self.get(path).await, StatusCode::OK).await
    }
}

/// Asserts the status and that the body is JSON, and returns it.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "body: {text}");
    assert!(content_type.starts_with("application/json"), "content type {content_type:?}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error answer: the status, and a body `{"error": "..."}`; returns it.
pub async fn expect_error(response: Response, status: StatusCode) -> Value {
    let body = expect_json(response, status).await;
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "no error sentence: {body}");
    body
}
