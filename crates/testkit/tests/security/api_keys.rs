//! `AUTH_MODE=api-key`: every write needs a live key, reads and redirects do not;
//! the default stays open.

use domain::api_keys::{ApiKeySecret, ApiKeys, KeyName, KeySelector};
use domain::ports::ApiKeyRepository;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shortener::StoreChoice;
use store_memory::MemoryStore;
use testkit::{StoreKind, TestApp, expect_error, expect_json, spawn_app, spawn_app_on};

/// The mutating endpoints of the contract, each with a body it would accept.
fn writes() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (Method::POST, "/users", Some(json!({"username": "bob", "email": "bob@example.com"}))),
        (Method::PUT, "/users/1", Some(json!({"username": "alice2"}))),
        (Method::POST, "/urls", Some(json!({"original_url": "https://example.com/x"}))),
        (Method::PUT, "/urls/1", Some(json!({"title": "Renamed"}))),
        (Method::POST, "/events", Some(json!({"event_type": "signup"}))),
        (Method::DELETE, "/urls/1", None),
        (Method::DELETE, "/users/1", None),
        (Method::POST, "/users/bulk", None),
    ]
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app.request(method, path);
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.send().await.expect("the app answers")
}

/// An app in api-key mode over `store`, with one key made in it beforehand.
async fn guarded_app<S>(store: S, choice: StoreChoice) -> (TestApp, ApiKeys<S>, ApiKeySecret)
where
    S: ApiKeyRepository + Clone,
{
    let keys = ApiKeys::new(store);
    let (_, secret) = keys.create(KeyName::parse("ci").unwrap()).await.expect("a key");
    let app = spawn_app_on(choice, |config| config.auth_mode = "api-key".parse().unwrap()).await;
    (app, keys, secret)
}

async fn memory_app() -> (TestApp, ApiKeys<MemoryStore>, ApiKeySecret) {
    let store = MemoryStore::new();
    guarded_app(store.clone(), StoreChoice::Memory(store)).await
}

async fn postgres_app() -> (TestApp, ApiKeys<store_postgres::PgStore>, ApiKeySecret) {
    let store = testkit::postgres::fresh_store().await;
    guarded_app(store.clone(), StoreChoice::Postgres(store)).await
}

#[tokio::test]
async fn the_default_is_open() {
    let app = spawn_app(StoreKind::Memory).await;
    let user = app.create_user("alice").await;
    let body = json!({"original_url": "https://example.com/", "user_id": user["id"]});
    expect_json(app.post_json("/urls", &body).await, StatusCode::CREATED).await;
}

async fn every_write_needs_a_key(app: TestApp, secret: ApiKeySecret) {
    for (method, path, body) in writes() {
        for key in [None, Some("shk_not-a-key"), Some("")] {
            let response = send(&app, method.clone(), path, body.as_ref(), key).await;
            let challenge = response.headers().get("www-authenticate").cloned();
            let error = expect_error(response, StatusCode::UNAUTHORIZED).await;
            assert!(challenge.is_some_and(|c| c.to_str().unwrap().starts_with("Bearer")), "{path}");
            assert!(error.get("details").is_none(), "{method} {path}: {error}");
        }
        let basic = app.request(method.clone(), path).header("authorization", "Basic YTpi");
        expect_error(basic.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }
    // With the key, writes go through to their handlers.
    let key = Some(secret.expose());
    let user = json!({"username": "alice", "email": "alice@example.com"});
    let created = send(&app, Method::POST, "/users", Some(&user), key).await;
    let user = expect_json(created, StatusCode::CREATED).await;
    let url = json!({"original_url": "https://example.com/k", "user_id": user["id"]});
    let url =
        expect_json(send(&app, Method::POST, "/urls", Some(&url), key).await, StatusCode::CREATED)
            .await;
    // Reads and redirects need none.
    let code = url["short_code"].as_str().unwrap();
    assert_eq!(app.get(&format!("/{code}")).await.status(), StatusCode::FOUND);
    assert_eq!(app.get("/users").await.status(), StatusCode::OK);
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    let deleted = send(&app, Method::DELETE, &format!("/urls/{}", url["id"]), None, key).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

async fn a_revoked_key_is_refused<R: ApiKeyRepository>(
    app: TestApp,
    keys: ApiKeys<R>,
    secret: ApiKeySecret,
) {
    let (_, other) = keys.create(KeyName::parse("other").unwrap()).await.unwrap();
    let event = json!({"event_type": "signup"});
    let before = send(&app, Method::POST, "/events", Some(&event), Some(secret.expose())).await;
    assert_eq!(before.status(), StatusCode::CREATED);
    keys.revoke(&KeySelector::Name(KeyName::parse("ci").unwrap())).await.unwrap();
    let after = send(&app, Method::POST, "/events", Some(&event), Some(secret.expose())).await;
    let error = expect_error(after, StatusCode::FORBIDDEN).await;
    assert_eq!(error["error"], "This API key was revoked");
    let still = send(&app, Method::POST, "/events", Some(&event), Some(other.expose())).await;
    assert_eq!(still.status(), StatusCode::CREATED, "other keys keep working");
}

#[tokio::test]
async fn a_401_challenges_with_the_bearer_scheme_the_realm_and_what_was_wrong() {
    // RFC 6750: no or malformed credentials are `invalid_request`, a key the
    // store does not know is `invalid_token`; the realm names the service.
    let (app, _keys, _secret) = memory_app().await;
    let cases = [
        (None, "invalid_request"),
        (Some("Basic YTpi"), "invalid_request"),
        (Some("Bearer "), "invalid_request"),
        (Some("Bearer shk_not-a-key"), "invalid_token"),
    ];
    for (authorization, error) in cases {
        let mut request = app.request(Method::POST, "/events").json(&json!({"event_type": "x"}));
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.expect("the app answers");
        let challenge = response.headers().get("www-authenticate").cloned();
        expect_error(response, StatusCode::UNAUTHORIZED).await;
        let expected = format!("Bearer realm=\"shortener\", error=\"{error}\"");
        assert_eq!(
            challenge.as_ref().and_then(|c| c.to_str().ok()),
            Some(expected.as_str()),
            "{authorization:?}"
        );
    }
}

#[tokio::test]
async fn every_write_needs_a_key_on_memory() {
    let (app, _keys, secret) = memory_app().await;
    every_write_needs_a_key(app, secret).await;
}

#[tokio::test]
async fn every_write_needs_a_key_on_postgres() {
    let (app, _keys, secret) = postgres_app().await;
    every_write_needs_a_key(app, secret).await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_memory() {
    let (app, keys, secret) = memory_app().await;
    a_revoked_key_is_refused(app, keys, secret).await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_postgres() {
    let (app, keys, secret) = postgres_app().await;
    a_revoked_key_is_refused(app, keys, secret).await;
}
