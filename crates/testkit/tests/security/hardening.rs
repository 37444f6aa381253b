//! Request limits: `nosniff` on answers, bounded request heads, slow clients cut
//! off, a bounded number of connections.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use testkit::{StoreKind, expect_error, spawn_app, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn answers_tell_browsers_not_to_sniff() {
    let app = spawn_app(StoreKind::Memory).await;
    let bad = app.post_json("/users", &json!({"username": ""})).await;
    for response in [app.get("/health").await, app.get("/nowhere/at/all").await, bad] {
        let nosniff = response.headers().get("x-content-type-options").cloned();
        assert_eq!(nosniff.as_ref().and_then(|v| v.to_str().ok()), Some("nosniff"));
    }
}

#[tokio::test]
async fn an_oversized_request_head_gets_431_json() {
    let app = spawn_app_with(StoreKind::Memory, |config| config.max_header_bytes = 4096).await;
    let padded = app.request(reqwest::Method::GET, "/health").header("x-pad", "p".repeat(5000));
    expect_error(padded.send().await.unwrap(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    let long_path = format!("/users?username={}", "u".repeat(5000));
    expect_error(app.get(&long_path).await, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    assert_eq!(app.get("/health").await.status(), StatusCode::OK, "normal heads pass");
}

/// Opens a raw connection to the app and writes `bytes`.
async fn raw(address: &str, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Whatever the server sends until it closes the connection, within `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server still holds the connection after {limit:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_client_that_stalls_its_body_gets_an_answer() {
    let app = spawn_app_with(StoreKind::Memory, |config| config.body_idle_timeout_ms = 300).await;
    let head = "POST /users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\nConnection: close\r\n\r\n{\"username\"";
    let mut stream = raw(&app.address, head.as_bytes()).await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
}

#[tokio::test]
async fn a_client_that_stalls_its_request_head_is_cut_off() {
    let app =
        spawn_app_with(StoreKind::Memory, |config| config.client_request_timeout_ms = 300).await;
    let mut stream = raw(&app.address, b"GET /health HTTP/1.1\r\nHost: te").await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_for_a_free_slot() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.workers = Some(1);
        config.max_connections_per_worker = 1;
    })
    .await;
    // One idle connection takes the only slot.
    let idle = raw(&app.address, b"").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = app.client.get(format!("{}/health/live", app.address));
    let waited = waiting.timeout(Duration::from_millis(700)).send().await;
    assert!(waited.is_err(), "a second connection is not served: {waited:?}");
    drop(idle);
    let served = tokio::time::timeout(Duration::from_secs(5), app.get("/health/live")).await;
    assert_eq!(served.expect("served once the slot is free").status(), StatusCode::OK);
}

#[tokio::test]
async fn an_upload_over_the_bulk_limit_is_413_json_and_imports_nothing() {
    // Within one batch (10,000 rows) of the endpoint: nothing may be written, not
    // even the rows that arrived before the limit was crossed.
    for store in [StoreKind::Memory, StoreKind::Postgres] {
        let limit = 1024 * 1024;
        let app = spawn_app_with(store, |config| config.bulk_limit_bytes = limit).await;
        let mut csv = String::from("username,email\n");
        let padding = "x".repeat(150);
        for i in 0..9_000 {
            csv.push_str(&format!("user{i},user{i}.{padding}@example.com\n"));
        }
        assert!(csv.len() > limit + limit / 2, "the file is well over the limit");
        expect_error(app.import_users_csv(csv).await, StatusCode::PAYLOAD_TOO_LARGE).await;
        let users = app.get("/users?per_page=1").await;
        assert_eq!(users.headers()["x-total-count"], "0", "{store:?}: nothing imported");
    }
}
