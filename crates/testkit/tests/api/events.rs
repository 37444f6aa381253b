//! `/events`: recording, reading and filtering analytics events.

use reqwest::StatusCode;
use serde_json::json;
use testkit::{expect_error, expect_json};

on_every_store! {
    async fn an_event_is_recorded_with_its_references(app: TestApp) {
        let alice = app.create_user("alice").await;
        let url = app.create_url(&json!({"original_url": "https://example.com/e", "user_id": alice["id"]})).await;
        let body = json!({"event_type": "share", "url_id": url["id"], "user_id": alice["id"],
                          "details": {"channel": "mail", "n": 2}});
        let event = expect_json(app.post_json("/events", &body).await, StatusCode::CREATED).await;
        assert_eq!(event.as_object().unwrap().len(), 6, "{event}");
        assert_eq!(event["event_type"], "share");
        assert_eq!((event["url_id"].clone(), event["user_id"].clone()), (url["id"].clone(), alice["id"].clone()));
        assert_eq!(event["details"], json!({"channel": "mail", "n": 2}), "an object, never a string");
        assert!(event["timestamp"].is_string());
        assert_eq!(app.get_json(&format!("/events/{}", event["id"])).await, event);
        let bare = expect_json(app.post_json("/events", &json!({"event_type": "ping"})).await, StatusCode::CREATED).await;
        assert_eq!((bare["url_id"].clone(), bare["details"].clone()), (json!(null), json!({})));
    }

    async fn references_must_exist_and_types_must_fit(app: TestApp) {
        let error = expect_error(app.post_json("/events", &json!({"event_type": "x", "url_id": 999})).await,
                                 StatusCode::NOT_FOUND).await;
        assert_eq!(error["error"], "URL not found");
        let error = expect_error(app.post_json("/events", &json!({"event_type": "x", "user_id": 999})).await,
                                 StatusCode::NOT_FOUND).await;
        assert_eq!(error["error"], "User not found");
        for event_type in [json!(""), json!("   "), json!("x".repeat(51))] {
            expect_error(app.post_json("/events", &json!({"event_type": event_type})).await,
                         StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        assert_eq!(app.get_json("/events").await, json!([]));
    }

    async fn events_filter_by_type_url_and_user(app: TestApp) {
        let alice = app.create_user("alice").await;
        let a = app.create_url(&json!({"original_url": "https://example.com/a", "user_id": alice["id"]})).await;
        let b = app.create_url(&json!({"original_url": "https://example.com/b"})).await;
        for url in [&a, &b, &a] {
            app.get(&format!("/{}", url["short_code"].as_str().unwrap())).await;
        }
        let clicks = app.get_json("/events?event_type=click").await;
        assert_eq!(clicks.as_array().unwrap().len(), 3);
        assert!(clicks.as_array().unwrap().iter().all(|e| e["event_type"] == "click"));
        let of_a = app.get_json(&format!("/events?url_id={}", a["id"])).await;
        assert_eq!(of_a.as_array().unwrap().len(), 3, "created and two clicks");
        let of_alice = app.get_json(&format!("/events?user_id={}&event_type=click", alice["id"])).await;
        assert_eq!(of_alice.as_array().unwrap().len(), 2);
        let ids: Vec<i64> = app.get_json("/events").await.as_array().unwrap().iter()
            .map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered by id: {ids:?}");
    }
}
