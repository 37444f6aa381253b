//! Every bad body, bad type and bad path gets a JSON error and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestApp, expect_error};

/// The kinds of body that are not a JSON object, with their content types.
const NOT_AN_OBJECT: &[(Option<&str>, &str)] = &[
    (Some("application/json"), "\"just a string\""),
    (Some("application/json"), "42"),
    (Some("application/json"), "[1, 2]"),
    (Some("application/json"), "null"),
    (Some("application/json"), ""),
    (Some("application/json"), "{\"username\": "),
    (Some("text/plain"), "{\"username\": \"a\", \"email\": \"a@example.com\"}"),
    (Some("application/x-www-form-urlencoded"), "username=a&email=a%40example.com"),
    (None, "{\"username\": \"a\", \"email\": \"a@example.com\"}"),
];

async fn seed(app: &TestApp) {
    let user = app.create_user("owner").await;
    app.create_url(&json!({"original_url": "https://example.com/", "user_id": user["id"]})).await;
}

async fn counts(app: &TestApp) -> (usize, usize, usize) {
    let len = |v: serde_json::Value| v.as_array().map_or(0, Vec::len);
    (
        len(app.get_json("/users").await),
        len(app.get_json("/urls").await),
        len(app.get_json("/events").await),
    )
}

on_every_store! {
    async fn bodies_that_are_not_json_objects_are_400_on_every_endpoint(app: TestApp) {
        seed(&app).await;
        let before = counts(&app).await;
        for (method, path) in [
            (Method::POST, "/users"),
            (Method::PUT, "/users/1"),
            (Method::POST, "/urls"),
            (Method::PUT, "/urls/1"),
            (Method::POST, "/events"),
        ] {
            for (content_type, body) in NOT_AN_OBJECT {
                let response = app.send_raw(method.clone(), path, *content_type, *body).await;
                let context = format!("{method} {path} with {content_type:?} {body:?}");
                assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{context}");
                expect_error(response, StatusCode::BAD_REQUEST).await;
            }
        }
        assert_eq!(counts(&app).await, before, "nothing changed");
        let owner = app.get_json("/users/1").await;
        assert_eq!(owner["username"], "owner");
    }

    async fn wrong_json_types_are_422_naming_the_field(app: TestApp) {
        seed(&app).await;
        let before = counts(&app).await;
        let cases = [
            (Method::POST, "/users", json!({"username": 12345, "email": "a@example.com"}), "username"),
            (Method::POST, "/users", json!({"username": "a", "email": ["a@example.com"]}), "email"),
            (Method::PUT, "/users/1", json!({"username": null}), "username"),
            (Method::POST, "/urls", json!({"original_url": "https://e.com", "user_id": true}), "user_id"),
            (Method::POST, "/urls", json!({"original_url": "https://e.com", "user_id": "1"}), "user_id"),
            (Method::POST, "/urls", json!({"original_url": 7}), "original_url"),
            (Method::POST, "/urls", json!({"original_url": "https://e.com", "title": 5}), "title"),
            (Method::PUT, "/urls/1", json!({"is_active": "yes"}), "is_active"),
            (Method::PUT, "/urls/1", json!({"is_active": 1}), "is_active"),
            (Method::PUT, "/urls/1", json!({"original_url": null}), "original_url"),
            (Method::POST, "/events", json!({"event_type": "x", "details": "text"}), "details"),
            (Method::POST, "/events", json!({"event_type": "x", "details": [1]}), "details"),
            (Method::POST, "/events", json!({"event_type": "x", "url_id": 1.5}), "url_id"),
            (Method::POST, "/events", json!({"event_type": 3}), "event_type"),
            // NUL fits no text column: refused up front, never a driver error.
            (Method::POST, "/urls", json!({"original_url": "https://e.com", "title": "a\0b"}), "title"),
            (Method::POST, "/events", json!({"event_type": "x\0"}), "event_type"),
            (Method::POST, "/events", json!({"event_type": "x", "details": {"k": ["a\0"]}}), "details"),
        ];
        for (method, path, body, field) in cases {
            let response = app.send_raw(method.clone(), path, Some("application/json"), body.to_string()).await;
            let error = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(error["details"][field].is_string(), "{method} {path} {body}: {error}");
        }
        assert_eq!(counts(&app).await, before, "nothing changed");
    }

    async fn missing_required_fields_are_422(app: TestApp) {
        for (path, body, field) in [
            ("/users", json!({"email": "a@example.com"}), "username"),
            ("/users", json!({"username": "a"}), "email"),
            ("/urls", json!({"title": "no target"}), "original_url"),
            ("/events", json!({"details": {}}), "event_type"),
        ] {
            let error = expect_error(app.post_json(path, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(error["details"][field].is_string(), "{path}: {error}");
        }
        let both = expect_error(app.post_json("/users", &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(both["details"]["username"].is_string() && both["details"]["email"].is_string());
    }

    async fn unknown_fields_are_ignored(app: TestApp) {
        let body = json!({"username": "extra", "email": "extra@example.com", "role": "admin"});
        let user = testkit::expect_json(app.post_json("/users", &body).await, StatusCode::CREATED).await;
        assert!(user.get("role").is_none());
    }

    async fn a_body_over_the_limit_is_413_json(app: TestApp) {
        let huge = json!({"username": "a", "email": "a@example.com", "pad": "x".repeat(200 * 1024)});
        expect_error(app.post_json("/users", &huge).await, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(app.get_json("/users").await, json!([]));
    }

    async fn bad_paths_are_404_and_wrong_methods_405_in_json(app: TestApp) {
        for path in ["/users/abc", "/users/0", "/users/-1", "/users/99999999999999999999", "/urls/1.5",
                     "/events/x", "/urls/abc/stats", "/no/such/route", "/users/1/nothing"] {
            expect_error(app.get(path).await, StatusCode::NOT_FOUND).await;
        }
        let missing = expect_error(app.get("/users/12345").await, StatusCode::NOT_FOUND).await;
        assert_eq!(missing["error"], "User not found");
        let missing = expect_error(app.get("/urls/12345").await, StatusCode::NOT_FOUND).await;
        assert_eq!(missing["error"], "URL not found");
        expect_error(app.get("/events/12345").await, StatusCode::NOT_FOUND).await;
        for (method, path) in [(Method::DELETE, "/users"), (Method::POST, "/health"),
                               (Method::PATCH, "/urls/1"), (Method::GET, "/users/bulk")] {
            let response = app.send_raw(method.clone(), path, None, "").await;
            expect_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
        }
    }

    async fn bad_query_values_are_400(app: TestApp) {
        for path in ["/urls?user_id=abc", "/urls?is_active=maybe", "/events?url_id=x", "/events?user_id=1.5",
                     "/events?url_id=NaN", "/events?url_id=inf", "/users?page=0", "/users?page=abc",
                     "/users?per_page=0", "/urls?per_page=-3", "/urls?page=1.5", "/urls?per_page=5e-1"] {
            let error = expect_error(app.get(path).await, StatusCode::BAD_REQUEST).await;
            assert!(error["details"].is_object(), "{path}: {error}");
        }
        let ignored = app.get("/urls?colour=blue").await;
        assert_eq!(ignored.status(), StatusCode::OK, "unknown parameters are ignored");
    }

    async fn whole_numbers_written_as_floats_are_integers_in_queries_too(app: TestApp) {
        // JSON Schema's integers, as bodies take them: `2.0` and `2e0` are 2.
        let alice = app.create_user("alice").await;
        // Someone else's, so that a filter read as absent would show.
        app.create_url(&json!({"original_url": "https://example.com/other"})).await;
        for n in 0..3 {
            let body = json!({"original_url": format!("https://example.com/{n}"), "user_id": alice["id"]});
            app.create_url(&body).await;
        }
        let id = alice["id"].as_i64().unwrap();
        let plain = app.get(&format!("/urls?user_id={id}&page=2&per_page=2")).await;
        let plain_total = plain.headers()["x-total-count"].clone();
        let plain: Value = plain.json().await.unwrap();
        for (user_id, page, per_page) in [(format!("{id}.0"), "2.0", "2e0"), (format!("{id}e0"), "2", "2.00")] {
            let floats = app.get(&format!("/urls?user_id={user_id}&page={page}&per_page={per_page}")).await;
            assert_eq!(floats.status(), StatusCode::OK, "{user_id} {page} {per_page}");
            assert_eq!(floats.headers()["x-total-count"], plain_total);
            assert_eq!(floats.json::<Value>().await.unwrap(), plain, "{user_id} {page} {per_page}");
        }
    }

    async fn health_says_ok(app: TestApp) {
        let health = app.get_json("/health").await;
        assert_eq!(health["status"], "ok");
        assert_eq!(app.get_json("/health/live").await["status"], "ok");
    }
}
