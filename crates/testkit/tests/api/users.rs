//! `/users`: creation rules, uniqueness, partial updates and deletion.

use reqwest::StatusCode;
use serde_json::json;
use testkit::{expect_error, expect_json};

on_every_store! {
    async fn a_created_user_has_the_contract_shape(app: TestApp) {
        let body = json!({"username": "alice", "email": "  Alice@Example.com "});
        let user = expect_json(app.post_json("/users", &body).await, StatusCode::CREATED).await;
        let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{user}");
        assert!(user["id"].as_i64().unwrap() > 0);
        assert_eq!(user["username"], "alice");
        assert_eq!(user["email"], "Alice@Example.com", "trimmed, case kept");
        let created = user["created_at"].as_str().unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%S").is_ok(), "{created}");
        assert_eq!(app.get_json(&format!("/users/{}", user["id"])).await, user);
    }

    async fn duplicates_are_409_with_the_contract_messages(app: TestApp) {
        app.create_user("alice").await;
        let same_name = json!({"username": "alice", "email": "other@example.com"});
        let error = expect_error(app.post_json("/users", &same_name).await, StatusCode::CONFLICT).await;
        assert_eq!(error["error"], "Username already exists");
        let same_email = json!({"username": "alice2", "email": " ALICE@example.com "});
        let error = expect_error(app.post_json("/users", &same_email).await, StatusCode::CONFLICT).await;
        assert_eq!(error["error"], "Email already exists");
        assert_eq!(app.get_json("/users").await.as_array().unwrap().len(), 1);
    }

    async fn invalid_usernames_and_emails_are_422(app: TestApp) {
        for (username, email, field) in [
            ("", "a@example.com", "username"),
            ("has space", "a@example.com", "username"),
            ("tab\there", "a@example.com", "username"),
            (&"x".repeat(151), "a@example.com", "username"),
            ("fine", "not-an-email", "email"),
            ("fine", "a@b", "email"),
            ("fine", "", "email"),
        ] {
            let body = json!({"username": username, "email": email});
            let error = expect_error(app.post_json("/users", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(error["details"][field].is_string(), "{body}: {error}");
        }
        assert_eq!(app.get_json("/users").await, json!([]));
    }

    async fn updates_are_partial_and_keep_the_rules(app: TestApp) {
        let alice = app.create_user("alice").await;
        app.create_user("bob").await;
        let path = format!("/users/{}", alice["id"]);
        let renamed = expect_json(app.put_json(&path, &json!({"username": "alicia"})).await, StatusCode::OK).await;
        assert_eq!(renamed["username"], "alicia");
        assert_eq!(renamed["email"], alice["email"]);
        let moved = expect_json(app.put_json(&path, &json!({"email": "new@example.com"})).await, StatusCode::OK).await;
        assert_eq!((moved["username"].as_str(), moved["email"].as_str()), (Some("alicia"), Some("new@example.com")));
        let error = expect_error(app.put_json(&path, &json!({"username": "bob"})).await, StatusCode::CONFLICT).await;
        assert_eq!(error["error"], "Username already exists");
        let error = expect_error(app.put_json(&path, &json!({"email": "BOB@example.com"})).await, StatusCode::CONFLICT).await;
        assert_eq!(error["error"], "Email already exists");
        expect_error(app.put_json(&path, &json!({"email": "nope"})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        let error = expect_error(app.put_json("/users/999", &json!({"username": "x"})).await, StatusCode::NOT_FOUND).await;
        assert_eq!(error["error"], "User not found");
        assert_eq!(app.get_json(&path).await, moved, "failed updates changed nothing");
    }

    async fn deleting_a_user_keeps_its_urls_and_events(app: TestApp) {
        let alice = app.create_user("alice").await;
        let url = app.create_url(&json!({"original_url": "https://example.com/a", "user_id": alice["id"]})).await;
        let path = format!("/users/{}", alice["id"]);
        let response = app.delete(&path).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.bytes().await.unwrap().is_empty(), "204 has an empty body");
        expect_error(app.get(&path).await, StatusCode::NOT_FOUND).await;
        expect_error(app.delete(&path).await, StatusCode::NOT_FOUND).await;
        let kept = app.get_json(&format!("/urls/{}", url["id"])).await;
        assert_eq!(kept["user_id"], json!(null));
        let events = app.get_json(&format!("/events?url_id={}", url["id"])).await;
        assert_eq!(events[0]["user_id"], json!(null));
    }

    async fn users_filter_by_username_and_email(app: TestApp) {
        app.create_user("alice").await;
        let bob = app.create_user("bob").await;
        assert_eq!(app.get_json("/users?username=bob").await, json!([bob]));
        assert_eq!(app.get_json("/users?email=BOB%40example.com").await, json!([bob]));
        assert_eq!(app.get_json("/users?username=carol").await, json!([]));
    }
}
