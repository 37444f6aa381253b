//! `GET /{short_code}`: 302 with exactly one click; 404 with none otherwise.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestApp, expect_error, expect_json};

async fn clicks(app: &TestApp) -> Vec<Value> {
    app.get_json("/events?event_type=click&per_page=1000").await.as_array().unwrap().clone()
}

/// 600 characters: `lead` then a three-digit counter, repeated, so the first 512
/// characters differ from any other 512 of them.
fn over_the_cap(lead: char) -> String {
    (0..150).map(|i| format!("{lead}{i:03}")).collect()
}

/// Follows a new link once, sending `headers` (name, raw bytes): the details of
/// the one click it records.
async fn details_of_one_click(app: &TestApp, headers: &[(&str, &[u8])]) -> Value {
    let url = app.create_url(&json!({"original_url": "https://example.com/headers"})).await;
    let mut request =
        app.request(reqwest::Method::GET, &format!("/{}", url["short_code"].as_str().unwrap()));
    for (name, value) in headers {
        request = request.header(*name, reqwest::header::HeaderValue::from_bytes(value).unwrap());
    }
    assert_eq!(request.send().await.unwrap().status(), StatusCode::FOUND);
    let clicks = clicks(app).await;
    assert_eq!(clicks.len(), 1, "exactly one click");
    clicks[0]["details"].clone()
}

/// What the click must keep of `value`: its first 512 characters.
fn capped(value: &str) -> String {
    value.chars().take(512).collect()
}

on_every_store! {
    async fn an_active_code_redirects_and_records_one_click(app: TestApp) {
        let alice = app.create_user("alice").await;
        let target = "https://example.com/landing?utm=1#top";
        let url = app.create_url(&json!({"original_url": target, "user_id": alice["id"]})).await;
        let code = url["short_code"].as_str().unwrap();
        let response = app.request(reqwest::Method::GET, &format!("/{code}"))
            .header("referer", "https://news.example/")
            .header("user-agent", "contract-test/1.0")
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()["location"], target);
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        let clicks = clicks(&app).await;
        assert_eq!(clicks.len(), 1, "exactly one click");
        assert_eq!(clicks[0]["url_id"], url["id"]);
        assert_eq!(clicks[0]["user_id"], alice["id"]);
        assert_eq!(clicks[0]["details"]["short_code"], code);
        assert_eq!(clicks[0]["details"]["referrer"], "https://news.example/");
        assert_eq!(clicks[0]["details"]["user_agent"], "contract-test/1.0");
    }

    async fn referrer_and_user_agent_are_capped_at_512_characters(app: TestApp) {
        // A client must not grow the events table with huge headers.
        let (referrer, user_agent) = (format!("https://news.example/{}", over_the_cap('r')), over_the_cap('u'));
        let details = details_of_one_click(&app, &[("referer", referrer.as_bytes()), ("user-agent", user_agent.as_bytes())]).await;
        assert_eq!(details["referrer"], capped(&referrer));
        assert_eq!(details["user_agent"], capped(&user_agent));
    }

    async fn multi_byte_referrer_and_user_agent_are_kept_and_capped_by_characters(app: TestApp) {
        // Sent as UTF-8 bytes, as browsers do; cut at 512 characters, not bytes.
        let (referrer, user_agent) = (over_the_cap('é'), over_the_cap('ü'));
        assert!(referrer.len() > 600, "more bytes than characters");
        let details = details_of_one_click(&app, &[("referer", referrer.as_bytes()), ("user-agent", user_agent.as_bytes())]).await;
        assert_eq!(details["referrer"], capped(&referrer));
        assert_eq!(details["user_agent"], capped(&user_agent));
    }

    async fn bytes_of_a_user_agent_that_are_not_utf8_are_replaced(app: TestApp) {
        // "Caf\xe9" is Latin-1, not UTF-8.
        let details = details_of_one_click(&app, &[("user-agent", b"Caf\xe9/1.0")]).await;
        assert_eq!(details["user_agent"], "Caf\u{fffd}/1.0");
    }

    async fn unknown_inactive_and_deleted_codes_are_404_without_a_click(app: TestApp) {
        expect_error(app.get("/nope42").await, StatusCode::NOT_FOUND).await;
        let url = app.create_url(&json!({"original_url": "https://example.com/x"})).await;
        let code = url["short_code"].as_str().unwrap().to_owned();
        let path = format!("/urls/{}", url["id"]);
        expect_json(app.put_json(&path, &json!({"is_active": false})).await, StatusCode::OK).await;
        expect_error(app.get(&format!("/{code}")).await, StatusCode::NOT_FOUND).await;
        expect_json(app.put_json(&path, &json!({"is_active": true})).await, StatusCode::OK).await;
        assert_eq!(app.get(&format!("/{code}")).await.status(), StatusCode::FOUND, "reactivated");
        assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
        expect_error(app.get(&format!("/{code}")).await, StatusCode::NOT_FOUND).await;
        assert_eq!(clicks(&app).await.len(), 1, "only the reactivated redirect clicked");
    }

    async fn codes_are_case_sensitive(app: TestApp) {
        app.create_url(&json!({"original_url": "https://example.com/upper", "short_code": "AbC123"})).await;
        app.create_url(&json!({"original_url": "https://example.com/lower", "short_code": "abc123"})).await;
        assert_eq!(app.get("/AbC123").await.headers()["location"], "https://example.com/upper");
        assert_eq!(app.get("/abc123").await.headers()["location"], "https://example.com/lower");
        expect_error(app.get("/ABC123").await, StatusCode::NOT_FOUND).await;
    }

    async fn head_answers_like_get_without_a_click(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://example.com/h"})).await;
        let code = url["short_code"].as_str().unwrap();
        let response = app.head(&format!("/{code}")).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()["location"], "https://example.com/h");
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        assert_eq!(app.head("/unknown1").await.status(), StatusCode::NOT_FOUND);
        assert!(clicks(&app).await.is_empty());
    }

    async fn the_location_header_is_always_ascii(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://bücher.example/straße?q=ü"})).await;
        let response = app.get(&format!("/{}", url["short_code"].as_str().unwrap())).await;
        let location = response.headers()["location"].to_str().expect("ASCII");
        assert_eq!(location, "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC");
    }

    async fn concurrent_redirects_record_every_click(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://example.com/many"})).await;
        let path = format!("/{}", url["short_code"].as_str().unwrap());
        let responses = futures_util::future::join_all((0..50).map(|_| app.get(&path))).await;
        assert!(responses.iter().all(|r| r.status() == StatusCode::FOUND));
        let stats = app.get_json(&format!("/urls/{}/stats", url["id"])).await;
        assert_eq!(stats["clicks"], 50);
    }
}
