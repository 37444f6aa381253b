//! The cache on real Redis and PostgreSQL: hits and misses, invalidation by every
//! write, the deactivation rule across two replicas, a Redis outage, and clicks
//! under concurrency.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use shortener::StoreChoice;
use testkit::postgres::TestDatabase;
use testkit::redis::{PrivateRedis, redis_url, unique_prefix};
use testkit::{StoreKind, TestApp, expect_json, spawn_app_on, spawn_app_with};

/// An app on a fresh database with Redis (the shared server, a prefix of its own).
async fn cached_app() -> TestApp {
    spawn_app_with(StoreKind::Postgres, |config| config.redis_url = Some(redis_url())).await
}

fn x_cache(response: &reqwest::Response) -> String {
    response.headers().get("x-cache").and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned()
}

async fn redirect(app: &TestApp, code: &str) -> (StatusCode, String) {
    let response = app.get(&format!("/{code}")).await;
    (response.status(), x_cache(&response))
}

async fn list(app: &TestApp, path: &str) -> (Value, String) {
    let response = app.get(path).await;
    let cache = x_cache(&response);
    (expect_json(response, StatusCode::OK).await, cache)
}

/// The value of a counter in `/metrics`, 0 when absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn redirects_miss_then_hit_and_unknown_codes_are_remembered_briefly() {
    let app = cached_app().await;
    let url = app.create_url(&json!({"original_url": "https://example.com/c"})).await;
    let code = url["short_code"].as_str().unwrap();
    assert_eq!(redirect(&app, code).await, (StatusCode::FOUND, "miss".into()));
    assert_eq!(redirect(&app, code).await, (StatusCode::FOUND, "hit".into()));
    let stats = app.get_json(&format!("/urls/{}/stats", url["id"])).await;
    assert_eq!(stats["clicks"], 2, "a cached redirect still records its click");

    // Unknown: cached as missing, until a URL takes the code.
    assert_eq!(app.get("/later1").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/later1").await.status(), StatusCode::NOT_FOUND);
    app.create_url(&json!({"original_url": "https://example.com/l", "short_code": "later1"})).await;
    assert_eq!(redirect(&app, "later1").await.0, StatusCode::FOUND, "creation invalidates");
}

#[tokio::test]
async fn every_url_write_reaches_redirects_and_lists_at_once() {
    let app = cached_app().await;
    let url =
        app.create_url(&json!({"original_url": "https://example.com/old", "title": "Old"})).await;
    let (code, path) =
        (url["short_code"].as_str().unwrap().to_owned(), format!("/urls/{}", url["id"]));
    redirect(&app, &code).await;
    assert_eq!(list(&app, "/urls").await.1, "miss");
    assert_eq!(list(&app, "/urls").await.1, "hit");

    app.put_json(&path, &json!({"original_url": "https://example.com/new", "title": "New"})).await;
    let response = app.get(&format!("/{code}")).await;
    assert_eq!(response.headers()["location"], "https://example.com/new");
    assert_eq!(list(&app, "/urls").await.0[0]["title"], "New");

    app.put_json(&path, &json!({"is_active": false})).await;
    assert_eq!(redirect(&app, &code).await.0, StatusCode::NOT_FOUND);
    assert_eq!(list(&app, "/urls?is_active=true").await.0, json!([]));
    app.put_json(&path, &json!({"is_active": true})).await;
    assert_eq!(redirect(&app, &code).await.0, StatusCode::FOUND);

    let second = app.create_url(&json!({"original_url": "https://example.com/2"})).await;
    assert_eq!(list(&app, "/urls").await.0.as_array().unwrap().len(), 2);
    assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(redirect(&app, &code).await.0, StatusCode::NOT_FOUND);
    assert_eq!(list(&app, "/urls").await.0, json!([second]));
}

#[tokio::test]
async fn every_user_and_event_write_reaches_lists_at_once() {
    let app = cached_app().await;
    let alice = app.create_user("alice").await;
    assert_eq!(list(&app, "/users").await.1, "miss");
    assert_eq!(list(&app, "/users").await, (json!([alice]), "hit".into()));
    let bob = app.create_user("bob").await;
    assert_eq!(list(&app, "/users").await.0, json!([alice, bob]));
    let path = format!("/users/{}", bob["id"]);
    let renamed =
        expect_json(app.put_json(&path, &json!({"username": "robert"})).await, StatusCode::OK)
            .await;
    assert_eq!(list(&app, "/users").await.0, json!([alice, renamed]));
    app.delete(&path).await;
    assert_eq!(list(&app, "/users").await.0, json!([alice]));
    app.import_users_csv("username,email\ncarol,carol@example.com\n").await;
    assert_eq!(list(&app, "/users").await.0.as_array().unwrap().len(), 2);

    // Pages that cannot hold clicks are cached; events that join them invalidate.
    let created = "/events?event_type=created";
    assert_eq!(list(&app, created).await, (json!([]), "miss".into()));
    assert_eq!(list(&app, created).await.1, "hit");
    app.create_url(&json!({"original_url": "https://example.com/e"})).await;
    assert_eq!(list(&app, created).await.0.as_array().unwrap().len(), 1);
    app.post_json("/events", &json!({"event_type": "created"})).await;
    assert_eq!(list(&app, created).await.0.as_array().unwrap().len(), 2);
    assert_eq!(
        list(&app, "/events").await.1,
        "bypass",
        "pages that may hold clicks are not cached"
    );
}

#[tokio::test]
async fn a_deactivation_stops_redirects_on_every_replica_at_once() {
    let database = TestDatabase::create().await;
    let prefix = unique_prefix();
    let replica = |prefix: String| {
        spawn_app_on(StoreChoice::Postgres(database.store()), move |config| {
            config.redis_url = Some(redis_url());
            config.cache_prefix = prefix;
        })
    };
    let (a, b) = (replica(prefix.clone()).await, replica(prefix).await);
    let url = a.create_url(&json!({"original_url": "https://example.com/r"})).await;
    let (code, path) =
        (url["short_code"].as_str().unwrap().to_owned(), format!("/urls/{}", url["id"]));
    for round in 0..10 {
        // Both replicas have the code cached...
        redirect(&a, &code).await;
        assert_eq!(redirect(&b, &code).await, (StatusCode::FOUND, "hit".into()), "round {round}");
        // ...a write through one of them answers...
        let writer = if round % 2 == 0 { &a } else { &b };
        expect_json(writer.put_json(&path, &json!({"is_active": false})).await, StatusCode::OK)
            .await;
        // ...and neither redirects the code any more.
        assert_eq!(redirect(&a, &code).await.0, StatusCode::NOT_FOUND, "round {round}");
        assert_eq!(redirect(&b, &code).await.0, StatusCode::NOT_FOUND, "round {round}");
        expect_json(writer.put_json(&path, &json!({"is_active": true})).await, StatusCode::OK)
            .await;
    }
}

#[tokio::test]
async fn a_redis_outage_costs_nothing_but_the_cache() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let app = spawn_app_with(StoreKind::Postgres, move |config| config.redis_url = Some(url)).await;
    let target = app.create_url(&json!({"original_url": "https://example.com/o"})).await;
    let code = target["short_code"].as_str().unwrap().to_owned();
    redirect(&app, &code).await;
    assert_eq!(redirect(&app, &code).await.1, "hit");
    assert_eq!(app.get_json("/health").await["cache"], "ok");

    redis.stop();
    let bypasses = metric(&app, "shortener_cache_operations_total{outcome=\"bypass\"}").await;
    for i in 0..20 {
        assert_eq!(
            redirect(&app, &code).await,
            (StatusCode::FOUND, "bypass".into()),
            "redirect {i}"
        );
    }
    let created =
        app.post_json("/urls", &json!({"original_url": "https://example.com/during"})).await;
    assert_eq!(created.status(), StatusCode::CREATED, "writes do not need the cache");
    assert_eq!(list(&app, "/urls").await.0.as_array().unwrap().len(), 2);
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK, "a cache outage is reported, not fatal");
    assert_eq!(expect_json(health, StatusCode::OK).await["cache"], "down");
    let counted = metric(&app, "shortener_cache_operations_total{outcome=\"bypass\"}").await;
    assert!(counted >= bypasses + 20.0, "bypasses counted: {bypasses} -> {counted}");

    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if redirect(&app, &code).await.1 == "hit" {
            break;
        }
        assert!(Instant::now() < deadline, "the cache is used again after Redis returns");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = app.get_json(&format!("/urls/{}/stats", target["id"])).await;
    assert!(stats["clicks"].as_u64().unwrap() >= 22, "every redirect clicked: {stats}");
}

#[tokio::test]
async fn concurrent_redirects_record_exactly_as_many_clicks() {
    let app = cached_app().await;
    let url = app.create_url(&json!({"original_url": "https://example.com/n"})).await;
    let path = format!("/{}", url["short_code"].as_str().unwrap());
    let responses = futures_util::future::join_all((0..300).map(|_| app.get(&path))).await;
    let found = responses.iter().filter(|r| r.status() == StatusCode::FOUND).count();
    assert_eq!(found, 300);
    let stats = app.get_json(&format!("/urls/{}/stats", url["id"])).await;
    assert_eq!(stats["clicks"], 300, "one click per redirect, visible when it returned");
    let events =
        app.get(&format!("/events?url_id={}&event_type=click&per_page=1", url["id"])).await;
    assert_eq!(events.headers()["x-total-count"], "300");
}
