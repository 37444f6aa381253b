//! PostgreSQL down: cached redirects keep working, their clicks wait in a bounded
//! buffer and are written when the database returns; writes answer 503 JSON.

use std::time::{Duration, Instant};

use domain::ports::EventRepository;
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

/// A new link to `target`, followed once so that its code is cached, and its path.
async fn cached_link(app: &TestApp, target: &str) -> (serde_json::Value, String) {
    let url = app.create_url(&json!({ "original_url": target })).await;
    let path = format!("/{}", url["short_code"].as_str().unwrap());
    assert_eq!(app.get(&path).await.status(), StatusCode::FOUND, "warms the cache");
    (url, path)
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
    let (url, path) = cached_link(&app, "https://example.com/stay").await;

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
    let (url, path) = cached_link(&app, "https://example.com/full").await;

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

/// Follows `path` `times` times with PostgreSQL stopped: each click goes to the
/// backlog, its redirect is served from the cache.
async fn clicks_into_the_backlog(app: &TestApp, path: &str, times: usize) {
    for i in 0..times {
        assert_eq!(app.get(path).await.status(), StatusCode::FOUND, "redirect {i}");
    }
    assert!(metric(app, "shortener_click_queue_depth").await >= times as f64, "the clicks wait");
}

/// The clicks of `url_id` in the cluster's database, read after the app is gone.
async fn clicks_in_database(cluster: &PrivatePostgres, url_id: &serde_json::Value) -> u64 {
    let store = PgStore::connect(&PgConfig::new(cluster.url())).expect("a pool");
    let id = url_id.as_i64().expect("an id");
    store.url_stats(id).await.expect("the stats").clicks
}

#[tokio::test]
async fn a_graceful_stop_writes_the_backlog_once_the_database_is_back() {
    let cluster = PrivatePostgres::start_new();
    let app = app_on(&cluster, 1000).await;
    let (url, path) = cached_link(&app, "https://example.com/drain").await;

    cluster.stop();
    clicks_into_the_backlog(&app, &path, 5).await;
    cluster.start();
    // SIGTERM right away: the flush at shutdown writes whatever the writer's own
    // retry has not written yet.
    let logs = app.logs.clone();
    app.shut_down().await;
    logs.wait_for("saying the clicks were flushed", |l| l["msg"] == "clicks flushed").await;
    assert_eq!(clicks_in_database(&cluster, &url["id"]).await, 6, "each click exactly once");
}

#[tokio::test]
async fn a_graceful_stop_during_an_outage_ends_and_says_how_many_clicks_are_lost() {
    let cluster = PrivatePostgres::start_new();
    let app = app_on(&cluster, 1000).await;
    let (url, path) = cached_link(&app, "https://example.com/lost").await;

    cluster.stop();
    clicks_into_the_backlog(&app, &path, 3).await;
    let logs = app.logs.clone();
    // Bounded by the pool's time-outs (500 ms here), not by the outage.
    app.shut_down().await;
    let warning =
        logs.wait_for("of the loss", |l| l["msg"] == "clicks left unwritten at shutdown").await;
    assert_eq!(warning["level"], "WARNING");
    assert!(warning["error"].as_str().is_some_and(|e| e.contains("3 clicks")), "{warning}");
    cluster.start();
    assert_eq!(clicks_in_database(&cluster, &url["id"]).await, 1, "only the warm-up click");
}
