//! A request the guard refuses is logged like any other: one line with its
//! status, since the request log sits outside the guard. A refusal the service
//! caused (the key store did not answer) is a 5xx whose line carries the cause.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use shortener::StoreChoice;
use store_postgres::{PgConfig, PgStore};
use testkit::{StoreKind, TestApp, expect_error, spawn_app_on, spawn_app_with};

/// The one log line of the request sent with `X-Request-Id: id`.
async fn line_of(app: &TestApp, id: &str) -> serde_json::Value {
    let line = app.logs.wait_for(&format!("of {id}"), |l| l["request_id"] == id).await;
    let lines = app.logs.lines();
    assert_eq!(lines.iter().filter(|l| l["request_id"] == id).count(), 1, "one line for {id}");
    line
}

#[tokio::test]
async fn requests_refused_by_the_guard_are_logged_with_their_status() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.auth_mode = "api-key".parse().unwrap();
        config.rate_limit_writes_per_minute = 1;
        config.rate_limit_writes_burst = 1;
        config.max_header_bytes = 4096;
    })
    .await;
    let write = |id: &str| {
        let request = app.request(Method::POST, "/events").header("x-request-id", id);
        request.json(&json!({"event_type": "signup"})).send()
    };
    // The first write fits the burst and then lacks a key; the second is over it.
    let no_key = write("refused-no-key").await.expect("the app answers");
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);
    let too_many = write("refused-too-many").await.expect("the app answers");
    assert_eq!(too_many.status(), StatusCode::TOO_MANY_REQUESTS);
    let huge_head = app
        .request(Method::GET, "/health")
        .header("x-request-id", "refused-huge-head")
        .header("x-pad", "p".repeat(5000))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(huge_head.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    for (id, method, route, status) in [
        ("refused-no-key", "POST", "/events", 401),
        ("refused-too-many", "POST", "/events", 429),
        ("refused-huge-head", "GET", "/health", 431),
    ] {
        let line = line_of(&app, id).await;
        assert_eq!(line["msg"], "request", "{line}");
        assert_eq!(line["level"], "INFO", "a client's mistake is no error of ours: {line}");
        assert_eq!((line["method"].as_str(), line["route"].as_str()), (Some(method), Some(route)));
        assert_eq!(line["status"], status, "{line}");
    }
}

#[tokio::test]
async fn a_key_check_the_store_cannot_answer_is_503_and_its_log_line_carries_the_cause() {
    // A store whose server is gone: nobody listens on the port, so every
    // connection is refused at once.
    let url = format!("postgres://postgres@127.0.0.1:{}/gone", testkit::free_port());
    let config = PgConfig {
        connect_timeout: Duration::from_secs(1),
        wait_timeout: Duration::from_secs(1),
        ..PgConfig::new(url)
    };
    let store = PgStore::connect(&config).expect("a pool (it connects lazily)");
    let app = spawn_app_on(StoreChoice::Postgres(store), |config| {
        config.auth_mode = "api-key".parse().unwrap();
    })
    .await;
    let response = app
        .request(Method::POST, "/events")
        .header("x-request-id", "key-check-down")
        .header("authorization", "Bearer shk_some-key")
        .json(&json!({"event_type": "signup"}))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.headers()["retry-after"], "1");
    let body = expect_error(response, StatusCode::SERVICE_UNAVAILABLE).await;

    let line = line_of(&app, "key-check-down").await;
    assert_eq!((line["level"].as_str(), line["status"].as_u64()), (Some("ERROR"), Some(503)));
    let cause = line["error"].as_str().unwrap_or_default();
    assert!(!cause.is_empty(), "the cause is logged: {line}");
    assert!(!body.to_string().contains(cause), "the cause stays out of the body: {body}");
}
