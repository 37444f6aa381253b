//! PostgreSQL down: cached redirects keep working, their clicks wait in a bounded
//! buffer and are written when the database returns; writes answer 503 JSON.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use shortener::StoreChoice;
use store_postgres::{PgConfig, PgStore, run_migrations};
use testkit::redis::redis_url;
use testkit::{PrivatePostgres, TestApp, expect_error, spawn_app_on};

/// An app with Redis on a cluster of the test's own, with a pool that gives up
/// fast and a click buffer of `click_buffer`.
async fn app_on(cluster: &PrivatePostgres, click_buffer: usize) -> TestApp {
    let config = PgConfig {
        max_size: 4,
        connect_timeout: Duration::from_millis(500),
        wait_timeout: Duration::from_millis(500),
        click_buffer,
        ..PgConfig::new(cluster.url())
    };
    run_migrations(&config).await.expect("migrating the private cluster");
    let store = PgStore::connect(&config).expect("a pool");
    spawn_app_on(StoreChoice::Postgres(store), |config| config.redis_url = Some(redis_url())).await
}

async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn clicks_of(app: &TestApp, url_id: &serde_json::Value) -> u64 {
    app.get_json(&format!("/urls/{url_id}/stats")).await["clicks"].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn cached_redirects_survive_a_database_outage_and_their_clicks_arrive_later() {
    let cluster = PrivatePostgres::start_new();
    let app = app_on(&cluster, 1000).await;
    let url = app.create_url(&json!({"original_url": "https://example.com/stay"})).await;
    let path = format!("/{}", url["short_code"].as_str().unwrap());
    assert_eq!(app.get(&path).await.status(), StatusCode::FOUND, "warms the cache");

    cluster.stop();
    for i in 0..10 {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::FOUND, "redirect {i} during the outage");
        assert_eq!(response.headers()["x-cache"], "hit");
    }
    let write = app.post_json("/urls", &json!({"original_url": "https://example.com/no"})).await;
    assert_eq!(write.headers()["retry-after"], "1");
    expect_error(write, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(metric(&app, "shortener_click_queue_depth").await >= 10.0, "the clicks wait");

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(20);
    while clicks_of(&app, &url["id"]).await < 11 {
        assert!(
            Instant::now() < deadline,
            "the buffered clicks are written once the database is back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(clicks_of(&app, &url["id"]).await, 11, "each click exactly once");
}

#[tokio::test]
async fn clicks_beyond_the_buffer_are_dropped_and_counted() {
    let cluster = PrivatePostgres::start_new();
    let app = app_on(&cluster, 3).await;
    let url = app.create_url(&json!({"original_url": "https://example.com/full"})).await;
    let path = format!("/{}", url["short_code"].as_str().unwrap());
    app.get(&path).await;

    cluster.stop();
    let dropped = metric(&app, "shortener_clicks_dropped_total").await;
    for _ in 0..8 {
        assert_eq!(
            app.get(&path).await.status(),
            StatusCode::FOUND,
            "the redirect is served anyway"
        );
    }
    let now_dropped = metric(&app, "shortener_clicks_dropped_total").await;
    assert!(now_dropped >= dropped + 5.0, "8 clicks, room for 3: {dropped} -> {now_dropped}");

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(20);
    while clicks_of(&app, &url["id"]).await < 4 {
        assert!(Instant::now() < deadline, "the buffered clicks are written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(clicks_of(&app, &url["id"]).await, 4, "the first and the three buffered");
}
