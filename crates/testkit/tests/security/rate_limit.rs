//! Writes per client are limited when configured: 429 JSON with `Retry-After`
//! and `RateLimit-*` headers, then room again; reads stay unlimited by default.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::json;
use testkit::{StoreKind, TestApp, expect_error, spawn_app_with};

use super::{client_from, follow, new_code};

fn header(response: &Response, name: &str) -> String {
    let value = response.headers().get(name).unwrap_or_else(|| panic!("no {name} header"));
    value.to_str().expect("an ASCII header").to_owned()
}

async fn new_user(app: &TestApp, name: &str) -> Response {
    app.post_json("/users", &json!({"username": name, "email": format!("{name}@example.com")}))
        .await
}

#[tokio::test]
async fn writes_beyond_the_limit_get_429_with_the_headers_and_then_recover() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.rate_limit_writes_per_minute = 60; // one more a second
        config.rate_limit_writes_burst = 2;
    })
    .await;
    let code = new_code(&app).await; // the first write of the burst
    let second = new_user(&app, "second").await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(header(&second, "ratelimit-limit"), "2");
    assert_eq!(header(&second, "ratelimit-remaining"), "0");
    assert_eq!(header(&second, "ratelimit-policy"), "60;w=60;burst=2");

    let refused = new_user(&app, "third").await;
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_eq!(header(&refused, "ratelimit-limit"), "2");
    assert_eq!(header(&refused, "ratelimit-remaining"), "0");
    assert_eq!(header(&refused, "ratelimit-reset"), "1");
    let body = expect_error(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["error"].as_str().unwrap().contains("retry in 1 s"), "{body}");

    // Reads and redirects are not limited while writes are.
    for _ in 0..5 {
        assert_eq!(app.get("/users").await.status(), StatusCode::OK);
        assert_eq!(follow(&app, &app.client, &code, None).await.status(), StatusCode::FOUND);
    }

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(new_user(&app, "third").await.status(), StatusCode::CREATED, "room again");
    assert_eq!(new_user(&app, "fourth").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn each_client_has_its_own_bucket_and_spoofing_does_not_buy_another() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.rate_limit_writes_per_minute = 1;
        config.rate_limit_writes_burst = 1;
        config.trusted_proxies = "127.0.0.2".parse().unwrap();
    })
    .await;
    let post = |client: reqwest::Client, xff: &'static str, name: &'static str| {
        let url = format!("{}/users", app.address);
        async move {
            let body = json!({"username": name, "email": format!("{name}@example.com")});
            let request = client.post(url).header("x-forwarded-for", xff).json(&body);
            request.send().await.expect("the app answers").status()
        }
    };
    let (direct, proxy) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    // Behind the trusted proxy, two clients are two buckets.
    assert_eq!(post(proxy.clone(), "203.0.113.1", "a1").await, StatusCode::CREATED);
    assert_eq!(post(proxy.clone(), "203.0.113.1", "a2").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(post(proxy.clone(), "203.0.113.2", "b1").await, StatusCode::CREATED);
    // A direct client cannot pick a new bucket by inventing addresses.
    assert_eq!(post(direct.clone(), "198.51.100.1", "c1").await, StatusCode::CREATED);
    assert_eq!(post(direct.clone(), "198.51.100.2", "c2").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(post(direct, "198.51.100.3", "c3").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn reads_are_limited_only_when_asked_and_probes_never() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.rate_limit_reads_per_minute = 1;
        config.rate_limit_reads_burst = 2;
    })
    .await;
    let code = new_code(&app).await; // a write: not counted as a read
    assert_eq!(follow(&app, &app.client, &code, None).await.status(), StatusCode::FOUND);
    assert_eq!(app.get("/users").await.status(), StatusCode::OK);
    let limited = follow(&app, &app.client, &code, None).await;
    assert!(header(&limited, "retry-after").parse::<u64>().unwrap() > 1, "a minute per read");
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS).await;
    for path in ["/health", "/health/live", "/health/ready", "/metrics"] {
        assert_eq!(app.get(path).await.status(), StatusCode::OK, "{path}");
    }
}
