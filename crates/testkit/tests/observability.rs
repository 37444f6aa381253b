//! What operators see: `/metrics` after real traffic, one JSON log line per
//! request with its `X-Request-Id`, health answers while the database is down
//! and after it returns, and the drill switch.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shortener::StoreChoice;
use shortener::config::{Cli, ServeConfig};
use store_postgres::{PgConfig, PgStore, run_migrations};
use testkit::{
    PrivatePostgres, StoreKind, TestApp, expect_error, expect_json, spawn_app, spawn_app_on,
    spawn_app_with,
};

/// One sample of the text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `GET /metrics`, checked to be the text format, parsed into samples.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(parse_sample)
        .collect()
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => (name, labels.strip_suffix('}').unwrap()),
        None => (series, ""),
    };
    let labels = labels
        .split("\",")
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("label: {line}"));
            (key.to_owned(), value.trim_end_matches('"').to_owned())
        })
        .collect();
    Sample { name: name.to_owned(), labels, value: value.parse().unwrap() }
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<_> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v)))
        .collect();
    assert_eq!(matching.len(), 1, "{name} {labels:?} in {samples:#?}");
    matching[0].value
}

#[tokio::test]
async fn metrics_label_requests_by_route_pattern_and_never_by_path() {
    let app = spawn_app(StoreKind::Memory).await;
    let url = app
        .create_url(&json!({"original_url": "https://example.com/o", "short_code": "Obs4242"}))
        .await;
    for _ in 0..3 {
        assert_eq!(app.get("/Obs4242").await.status(), StatusCode::FOUND);
    }
    app.get_json(&format!("/urls/{}", url["id"])).await;
    expect_error(app.get("/Nope4242").await, StatusCode::NOT_FOUND).await;
    expect_error(app.get("/no/such/Deep4242/path").await, StatusCode::NOT_FOUND).await;
    expect_error(
        app.request(Method::from_bytes(b"BREW").unwrap(), "/urls").send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;

    let samples = scrape(&app).await;
    let requests = "shortener_http_requests_total";
    let redirect = [("method", "GET"), ("route", "/{short_code}"), ("status", "302")];
    assert_eq!(value(&samples, requests, &redirect), 3.0);
    assert_eq!(
        value(&samples, requests, &[("method", "POST"), ("route", "/urls"), ("status", "201")]),
        1.0
    );
    assert_eq!(
        value(&samples, requests, &[("method", "GET"), ("route", "/urls/{id}"), ("status", "200")]),
        1.0
    );
    assert_eq!(value(&samples, requests, &[("route", "/{short_code}"), ("status", "404")]), 1.0);
    assert_eq!(value(&samples, requests, &[("route", "unmatched"), ("status", "404")]), 1.0);
    assert_eq!(
        value(&samples, requests, &[("method", "other"), ("route", "/urls"), ("status", "405")]),
        1.0
    );

    let duration = "shortener_http_request_duration_seconds";
    assert_eq!(value(&samples, &format!("{duration}_count"), &redirect), 3.0);
    let buckets: Vec<_> = samples
        .iter()
        .filter(|s| {
            s.name == format!("{duration}_bucket")
                && s.labels["route"] == "/{short_code}"
                && s.labels["status"] == "302"
        })
        .map(|s| s.labels["le"].as_str())
        .collect();
    let expected = [
        "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
        "2.5", "5", "+Inf",
    ];
    assert_eq!(buckets, expected);
    // The scrape itself is in flight while the metrics are gathered.
    assert!(value(&samples, "shortener_http_requests_in_flight", &[]) >= 1.0);
    assert_eq!(
        value(
            &samples,
            "shortener_build_info",
            &[("replica", "test"), ("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // CPU time is counted in whole seconds by the process collector: maybe 0 yet.
    assert!(value(&samples, "process_cpu_seconds_total", &[]) >= 0.0);
    for process in ["process_resident_memory_bytes", "process_open_fds", "process_max_fds"] {
        assert!(value(&samples, process, &[]) > 0.0, "{process}");
    }
    assert!(!samples.iter().any(|s| s.name.starts_with("shortener_db_pool")), "no pool in memory");

    for sample in &samples {
        for label in sample.labels.values() {
            for raw in ["Obs4242", "Nope4242", "Deep4242", "BREW"] {
                assert!(!label.contains(raw), "{raw} became a label value: {sample:?}");
            }
        }
    }
}

#[tokio::test]
async fn metrics_on_postgres_show_the_pool() {
    let app = spawn_app(StoreKind::Postgres).await;
    app.create_user("pooled").await;
    let samples = scrape(&app).await;
    let connections = "shortener_db_pool_connections";
    assert_eq!(value(&samples, connections, &[("state", "max")]), 4.0, "the test pool's size");
    assert!(value(&samples, connections, &[("state", "size")]) >= 1.0);
    let idle = value(&samples, connections, &[("state", "idle")]);
    assert!((0.0..=4.0).contains(&idle), "{idle}");
    assert_eq!(value(&samples, "shortener_db_pool_waiting", &[]), 0.0);
}

#[tokio::test]
async fn every_request_logs_one_json_line_with_its_request_id() {
    let app = spawn_app(StoreKind::Memory).await;
    let url = app.create_url(&json!({"original_url": "https://example.com/log"})).await;
    let path = format!("/urls/{}", url["id"]);
    let response = app
        .request(Method::GET, &path)
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123", "a sane id is echoed");

    let line = app.logs.wait_for("of trace-abc-123", |l| l["request_id"] == "trace-abc-123").await;
    assert_eq!(line["msg"], "request");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/urls/{id}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["replica"], "test");
    assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    let time = line["time"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    let lines = app.logs.lines();
    assert_eq!(lines.iter().filter(|l| l["request_id"] == "trace-abc-123").count(), 1, "one line");
    assert!(
        lines
            .iter()
            .all(|l| l["replica"] == "test" && l["time"].is_string() && l["msg"].is_string())
    );

    for sent in [None, Some("has a space"), Some(&*"x".repeat(129))] {
        let mut request = app.request(Method::GET, "/health/live");
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let uuid =
            uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("{sent:?} gave {id:?}: {e}"));
        assert_eq!(uuid.get_version_num(), 4);
        let line =
            app.logs.wait_for("of the generated id", |l| l["request_id"] == id.as_str()).await;
        assert_eq!(line["route"], "/health/live");
    }
}

#[tokio::test]
async fn the_drill_fails_and_slows_only_its_route() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.drill_route = Some("/urls/{id}".into());
        config.drill_latency_ms = 200;
        config.drill_error_rate = 1.0;
    })
    .await;
    let warning = app
        .logs
        .wait_for("announcing the drill", |l| {
            l["msg"].as_str().unwrap().starts_with("drill active")
        })
        .await;
    assert_eq!(
        (warning["level"].as_str(), warning["route"].as_str()),
        (Some("WARNING"), Some("/urls/{id}"))
    );
    let url = app.create_url(&json!({"original_url": "https://example.com/drill"})).await;
    let started = Instant::now();
    let response = app
        .request(Method::GET, &format!("/urls/{}", url["id"]))
        .header("x-request-id", "drill-1")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200), "the latency was injected");
    let body = expect_error(response, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(body, json!({"error": "Internal server error"}), "the cause stays out of the body");
    let line = app.logs.wait_for("of the injected failure", |l| l["request_id"] == "drill-1").await;
    assert_eq!((line["level"].as_str(), line["status"].as_u64()), (Some("ERROR"), Some(500)));
    assert!(line["error"].as_str().unwrap().contains("drill"), "the cause is logged: {line}");
    let code = url["short_code"].as_str().unwrap();
    assert_eq!(app.get(&format!("/{code}")).await.status(), StatusCode::FOUND, "other routes work");
}

#[test]
fn the_drill_is_off_unless_the_environment_sets_one() {
    let parse = |args: &[&str]| -> Result<ServeConfig, clap::Error> {
        Cli::try_parse_from(std::iter::once("shortener").chain(args.iter().copied()))
            .map(|cli| cli.serve)
    };
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.drill(), None);
    let route_only = parse(&["--drill-route", "/{short_code}"]).unwrap();
    assert_eq!(route_only.drill(), None, "a route without a fault is no drill");
    let drill = parse(&["--drill-route", "/{short_code}", "--drill-error-rate", "0.1"])
        .unwrap()
        .drill()
        .unwrap();
    assert_eq!(
        (drill.route(), drill.error_rate(), drill.latency()),
        ("/{short_code}", 0.1, Duration::ZERO)
    );
    assert!(parse(&["--drill-error-rate", "1.5"]).is_err());
    assert!(parse(&["--drill-error-rate", "NaN"]).is_err());
}

/// An app on a cluster of the test's own, migrated, with a pool that gives up
/// quickly so the test need not wait long for failures.
async fn app_on(cluster: &PrivatePostgres) -> TestApp {
    let config = PgConfig {
        max_size: 4,
        connect_timeout: Duration::from_secs(1),
        wait_timeout: Duration::from_secs(1),
        ..PgConfig::new(cluster.url())
    };
    run_migrations(&config).await.expect("migrating the private cluster");
    let store = PgStore::connect(&config).expect("a pool");
    spawn_app_on(StoreChoice::Postgres(store), |_| {}).await
}

/// Polls `path` until it answers `status`, for 20 s at most.
async fn eventually(app: &TestApp, path: &str, status: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        let answered = app.get(path).await.status();
        if answered == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{path} still {answered}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_follows_the_database_down_and_back() {
    // Blocking calls (initdb, pg_ctl) are fine here: the app serves from threads
    // of its own.
    let cluster = PrivatePostgres::start_new();
    let app = app_on(&cluster).await;
    assert_eq!(
        app.get_json("/health").await,
        json!({"status": "ok", "database": "ok", "cache": "disabled"})
    );
    assert_eq!(app.get_json("/health/ready").await, json!({"status": "ok"}));
    app.create_user("before").await;

    cluster.stop();
    let started = Instant::now();
    let down = json!({"status": "unavailable", "database": "down", "cache": "disabled"});
    assert_eq!(expect_json(app.get("/health").await, StatusCode::SERVICE_UNAVAILABLE).await, down);
    assert!(started.elapsed() < Duration::from_secs(3), "the health check is bounded");
    expect_json(app.get("/health/ready").await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(app.get_json("/health/live").await, json!({"status": "ok"}));
    let response = app
        .request(Method::POST, "/users")
        .header("x-request-id", "write-while-down")
        .json(&json!({"username": "during", "email": "during@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let body = expect_error(response, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(!body.to_string().to_lowercase().contains("connect"), "no database detail: {body}");
    let line =
        app.logs.wait_for("of the failed write", |l| l["request_id"] == "write-while-down").await;
    assert_eq!((line["level"].as_str(), line["status"].as_u64()), (Some("ERROR"), Some(503)));
    assert!(line["error"].as_str().is_some_and(|e| !e.is_empty()), "the cause is logged: {line}");

    cluster.start();
    eventually(&app, "/health", StatusCode::OK).await;
    eventually(&app, "/health/ready", StatusCode::OK).await;
    app.create_user("after").await;
}

#[tokio::test]
async fn the_first_log_line_says_the_store_is_in_memory() {
    let app = spawn_app(StoreKind::Memory).await;
    let first = app.logs.lines().into_iter().next().expect("a start-up line");
    assert_eq!(first["msg"], "starting", "{first}");
    assert!(first["store"].as_str().is_some_and(|s| s.starts_with("in-memory")), "{first}");
    assert!(first["cache"].as_str().is_some_and(|c| c.starts_with("none")), "{first}");
}
