//! `/urls`: creation, validation of targets, codes, updates and deletion.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use domain::ports::{CodeGenerator, SystemClock};
use domain::{CreateUrl, Error, ShortCode, Shortener, TargetUrl};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestApp, expect_error, expect_json};

/// A code generator that hands out `taken` `collisions` times, then `free` for
/// ever: what a nearly full code space looks like, on purpose.
struct ScriptedCodes {
    script: Mutex<VecDeque<ShortCode>>,
    then: ShortCode,
}

impl ScriptedCodes {
    fn new(taken: &str, collisions: usize, free: &str) -> Arc<Self> {
        let taken = ShortCode::parse(taken).unwrap();
        let script = Mutex::new(std::iter::repeat_n(taken, collisions).collect());
        Arc::new(Self { script, then: ShortCode::parse(free).unwrap() })
    }
}

impl CodeGenerator for ScriptedCodes {
    fn generate(&self) -> ShortCode {
        self.script.lock().unwrap().pop_front().unwrap_or_else(|| self.then.clone())
    }
}

/// Creates a link without a custom code, drawing codes from `codes`.
async fn create_with_codes(
    store: impl domain::ports::Store,
    codes: Arc<ScriptedCodes>,
    target: &str,
) -> domain::ports::Result<domain::Url> {
    let service = Shortener::new(store).clock_and_codes(Arc::new(SystemClock), codes);
    let request = CreateUrl {
        original_url: TargetUrl::parse(target).unwrap(),
        title: None,
        user_id: None,
        short_code: None,
    };
    service.create_url(request).await
}

async fn events_of(app: &TestApp, url: &Value) -> Vec<Value> {
    let events = app.get_json(&format!("/events?url_id={}", url["id"])).await;
    events.as_array().unwrap().clone()
}

on_every_store! {
    async fn a_created_url_has_the_contract_shape_and_a_created_event(app: TestApp) {
        let alice = app.create_user("alice").await;
        let body = json!({"original_url": "https://example.com/a?b=c#d", "title": "T", "user_id": alice["id"]});
        let url = app.create_url(&body).await;
        assert_eq!(url.as_object().unwrap().len(), 8, "{url}");
        assert_eq!(url["original_url"], "https://example.com/a?b=c#d");
        assert_eq!((url["title"].as_str(), url["is_active"].as_bool()), (Some("T"), Some(true)));
        assert_eq!(url["user_id"], alice["id"]);
        assert_eq!(url["created_at"], url["updated_at"]);
        let code = url["short_code"].as_str().unwrap();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_alphanumeric()), "{code}");
        assert_eq!(app.get_json(&format!("/urls/{}", url["id"])).await, url);
        let events = events_of(&app, &url).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["event_type"], "created");
        assert_eq!(events[0]["user_id"], alice["id"]);
        assert_eq!(events[0]["details"], json!({"short_code": code, "original_url": "https://example.com/a?b=c#d"}));
        let bare = app.create_url(&json!({"original_url": "http://example.org"})).await;
        assert_eq!((bare["user_id"].clone(), bare["title"].clone()), (json!(null), json!(null)));
    }

    async fn the_same_target_twice_gives_two_codes(app: TestApp) {
        let body = json!({"original_url": "https://example.com/same"});
        let first = app.create_url(&body).await;
        let second = app.create_url(&body).await;
        assert_ne!(first["id"], second["id"]);
        assert_ne!(first["short_code"], second["short_code"]);
    }

    async fn targets_must_be_absolute_http_urls(app: TestApp) {
        for target in ["example.com", "word", "ftp://example.com/f", "javascript:alert(1)",
                       "data:text/html,<b>x</b>", "https://exa mple.com", " https://example.com",
                       "https://example.com/\r\nX: y", "https://example.com/\u{0}", "http://",
                       "https://a@b.example/", "https://user:pw@b.example/", ""] {
            let error = expect_error(app.post_json("/urls", &json!({"original_url": target})).await,
                                     StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(error["details"]["original_url"].is_string(), "{target:?}: {error}");
        }
        let too_long = format!("https://example.com/{}", "a".repeat(2048));
        expect_error(app.post_json("/urls", &json!({"original_url": too_long})).await,
                     StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(app.get_json("/urls").await, json!([]));
    }

    async fn targets_are_stored_byte_for_byte(app: TestApp) {
        for target in ["https://example.com/a%20b?q=%E2%9C%93&x=1#frag", "HTTPS://EXAMPLE.COM/Path",
                       "https://bücher.example/straße?q=ü"] {
            let url = app.create_url(&json!({"original_url": target})).await;
            assert_eq!(url["original_url"], target);
        }
    }

    async fn custom_codes_are_unique_and_never_shadow_the_api(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://example.com", "short_code": "MyCode"})).await;
        assert_eq!(url["short_code"], "MyCode");
        let taken = json!({"original_url": "https://example.com", "short_code": "MyCode"});
        expect_error(app.post_json("/urls", &taken).await, StatusCode::CONFLICT).await;
        let other_case = app.create_url(&json!({"original_url": "https://example.com", "short_code": "mycode"})).await;
        assert_eq!(other_case["short_code"], "mycode", "codes are case-sensitive");
        for reserved in ["health", "metrics", "users", "urls", "events", "docs", "openapi.json", "USERS"] {
            let body = json!({"original_url": "https://example.com", "short_code": reserved});
            let error = expect_error(app.post_json("/urls", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(error["details"]["short_code"].is_string(), "{reserved}");
        }
        for bad in ["has space", "a/b", "", "ü"] {
            let body = json!({"original_url": "https://example.com", "short_code": bad});
            expect_error(app.post_json("/urls", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    }

    async fn an_unknown_owner_is_404(app: TestApp) {
        let body = json!({"original_url": "https://example.com", "user_id": 4242});
        let error = expect_error(app.post_json("/urls", &body).await, StatusCode::NOT_FOUND).await;
        assert_eq!(error["error"], "User not found");
        assert_eq!(app.get_json("/urls").await, json!([]));
    }

    async fn concurrent_creates_of_one_custom_code_give_exactly_one_201(app: TestApp) {
        let body = json!({"original_url": "https://example.com/race", "short_code": "race01"});
        let attempts = (0..20).map(|_| app.post_json("/urls", &body));
        let statuses: Vec<StatusCode> =
            futures_util::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
        assert_eq!(app.get_json("/urls?short_code=race01").await.as_array().unwrap().len(), 1);
    }

    async fn updates_record_one_event_per_changed_field(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://example.com/old", "title": "Old"})).await;
        let path = format!("/urls/{}", url["id"]);
        // Timestamps have whole seconds: wait for the next one to see updated_at move.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let change = json!({"title": "New", "original_url": "https://example.com/new", "is_active": true});
        let updated = expect_json(app.put_json(&path, &change).await, StatusCode::OK).await;
        assert_eq!((updated["title"].as_str(), updated["original_url"].as_str()),
                   (Some("New"), Some("https://example.com/new")));
        assert!(updated["updated_at"].as_str() > url["updated_at"].as_str(), "updated_at refreshed");
        assert_eq!(updated["created_at"], url["created_at"]);
        let updates: Vec<Value> = events_of(&app, &url).await.into_iter()
            .filter(|e| e["event_type"] == "updated").map(|e| e["details"].clone()).collect();
        assert_eq!(updates, [json!({"field": "title", "new_value": "New"}),
                             json!({"field": "original_url", "new_value": "https://example.com/new"})]);
        expect_error(app.put_json(&path, &json!({"original_url": "ftp://x.example"})).await,
                     StatusCode::UNPROCESSABLE_ENTITY).await;
        let cleared = expect_json(app.put_json(&path, &json!({"title": null})).await, StatusCode::OK).await;
        assert_eq!(cleared["title"], json!(null));
        expect_error(app.put_json("/urls/999", &json!({"title": "x"})).await, StatusCode::NOT_FOUND).await;
    }

    async fn a_deleted_url_is_gone_but_its_code_and_events_stay(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://example.com/d", "short_code": "gone01"})).await;
        let path = format!("/urls/{}", url["id"]);
        let response = app.delete(&path).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.bytes().await.unwrap().is_empty());
        expect_error(app.get(&path).await, StatusCode::NOT_FOUND).await;
        expect_error(app.get("/gone01").await, StatusCode::NOT_FOUND).await;
        assert_eq!(app.get_json("/urls").await, json!([]));
        assert_eq!(app.get_json("/urls?short_code=gone01").await, json!([]));
        expect_error(app.delete(&path).await, StatusCode::NOT_FOUND).await;
        let again = json!({"original_url": "https://example.com/d", "short_code": "gone01"});
        expect_error(app.post_json("/urls", &again).await, StatusCode::CONFLICT).await;
        let types: Vec<Value> = events_of(&app, &url).await.into_iter().map(|e| e["event_type"].clone()).collect();
        assert_eq!(types, [json!("created"), json!("deleted")]);
    }

    async fn urls_filter_by_owner_state_and_code(app: TestApp) {
        let alice = app.create_user("alice").await;
        let mine = app.create_url(&json!({"original_url": "https://example.com/1", "user_id": alice["id"]})).await;
        let other = app.create_url(&json!({"original_url": "https://example.com/2"})).await;
        let off = app.create_url(&json!({"original_url": "https://example.com/3", "user_id": alice["id"]})).await;
        let off = expect_json(app.put_json(&format!("/urls/{}", off["id"]), &json!({"is_active": false})).await,
                              StatusCode::OK).await;
        assert_eq!(app.get_json(&format!("/urls?user_id={}", alice["id"])).await, json!([mine, off]));
        assert_eq!(app.get_json("/urls?is_active=true").await, json!([mine, other]));
        assert_eq!(app.get_json("/urls?is_active=false").await, json!([off]));
        let code = other["short_code"].as_str().unwrap();
        assert_eq!(app.get_json(&format!("/urls?short_code={code}")).await, json!([other]));
        assert_eq!(app.get_json(&format!("/urls?user_id={}&is_active=false", alice["id"])).await, json!([off]));
    }

    async fn stats_and_events_of_a_url(app: TestApp) {
        let url = app.create_url(&json!({"original_url": "https://example.com/s"})).await;
        let stats = app.get_json(&format!("/urls/{}/stats", url["id"])).await;
        assert_eq!((stats["id"].clone(), stats["clicks"].clone(), stats["last_click_at"].clone()),
                   (url["id"].clone(), json!(0), json!(null)));
        assert_eq!(stats["short_code"], url["short_code"]);
        let code = url["short_code"].as_str().unwrap();
        for _ in 0..3 {
            assert_eq!(app.get(&format!("/{code}")).await.status(), StatusCode::FOUND);
        }
        let stats = app.get_json(&format!("/urls/{}/stats", url["id"])).await;
        assert_eq!(stats["clicks"], 3);
        assert!(stats["last_click_at"].is_string());
        let events = app.get_json(&format!("/urls/{}/events", url["id"])).await;
        assert_eq!(events.as_array().unwrap().len(), 4, "created and three clicks");
        expect_error(app.get("/urls/999/stats").await, StatusCode::NOT_FOUND).await;
        expect_error(app.get("/urls/999/events").await, StatusCode::NOT_FOUND).await;
    }
}

// The app always draws random codes, so collisions are forced through the
// service `POST /urls` calls, with a generator of the test's own.
on_every_shared_store! {
    async fn a_generated_code_that_is_taken_is_replaced_by_a_free_one(app: TestApp, store: impl Store) {
        let first = json!({"original_url": "https://example.com/first", "short_code": "Taken1"});
        app.create_url(&first).await;
        // Seven collisions in a row: the eighth and last attempt finds the free code.
        let codes = ScriptedCodes::new("Taken1", 7, "Free42");
        let url = create_with_codes(store, codes, "https://example.com/second").await.expect("created");
        assert_eq!(url.short_code, "Free42");
        assert_eq!(app.get("/Free42").await.headers()["location"], "https://example.com/second");
        assert_eq!(app.get("/Taken1").await.headers()["location"], "https://example.com/first");
        // The collisions left nothing behind: one created event per link.
        let created = app.get_json("/events?event_type=created").await;
        let codes: Vec<&Value> = created.as_array().unwrap().iter().map(|e| &e["details"]["short_code"]).collect();
        assert_eq!(codes, [&json!("Taken1"), &json!("Free42")]);
    }

    async fn creation_gives_up_after_eight_taken_codes_and_creates_nothing(app: TestApp, store: impl Store) {
        let first = json!({"original_url": "https://example.com/first", "short_code": "Taken1"});
        let first = app.create_url(&first).await;
        // A free code right after the eighth collision: creation must stop at
        // eight attempts, not go on until a code fits (nor hang on a full space).
        let codes = ScriptedCodes::new("Taken1", 8, "Free42");
        let outcome = create_with_codes(store, codes, "https://example.com/second").await;
        // `Internal` is the contract's 500 `{"error": "Internal server error"}`.
        assert!(matches!(outcome, Err(Error::Internal(_))), "{outcome:?}");
        assert_eq!(app.get_json("/urls").await, json!([first]), "nothing created");
        let events = app.get_json("/events").await;
        assert_eq!(events.as_array().unwrap().len(), 1, "only the first link's created event: {events}");
        expect_error(app.get("/Free42").await, StatusCode::NOT_FOUND).await;
    }
}
