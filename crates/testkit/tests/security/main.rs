//! The abuse-resistance rules of issue 8, against the real application: client
//! identity behind proxies, rate limits, API keys, request limits and panics.

mod api_keys;
mod client_ip;
mod hardening;
mod panics;
mod rate_limit;
mod refusal_logs;

use std::net::IpAddr;

use reqwest::{Client, Response};
use serde_json::{Value, json};
use testkit::TestApp;

/// A client that does not follow redirects, connecting from `local` (any address
/// of 127.0.0.0/8 works on Linux), so a test can play a second peer.
fn client_from(local: &str) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local.parse::<IpAddr>().expect("a loopback address"))
        .build()
        .expect("an HTTP client")
}

/// Creates a short link and returns its code.
async fn new_code(app: &TestApp) -> String {
    let url = app.create_url(&json!({"original_url": "https://example.com/landing"})).await;
    url["short_code"].as_str().expect("a code").to_owned()
}

/// Follows `code` with `client`, sending `X-Forwarded-For: xff` when given.
async fn follow(app: &TestApp, client: &Client, code: &str, xff: Option<&str>) -> Response {
    let mut request = client.get(format!("{}/{code}", app.address));
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.expect("the app answers")
}

/// The details of the clicks on `code`, oldest first.
async fn click_details(app: &TestApp, code: &str) -> Vec<Value> {
    let events = app.get_json("/events?event_type=click&per_page=1000").await;
    events
        .as_array()
        .expect("a list")
        .iter()
        .filter(|event| event["details"]["short_code"] == code)
        .map(|event| event["details"].clone())
        .collect()
}
