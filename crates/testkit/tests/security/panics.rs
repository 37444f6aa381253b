//! A handler that panics is answered 500 JSON, and its worker goes on serving.
//! The panicking route exists only here: the harness adds it through
//! `extra_routes`, which no flag or environment variable can set.

use actix_web::{HttpResponse, web};
use reqwest::StatusCode;
use testkit::{StoreKind, expect_error, spawn_app_with};

async fn panics() -> HttpResponse {
    panic!("a bug in a handler (on purpose, for the test)");
}

fn panicking_route(config: &mut web::ServiceConfig) {
    config.route("/test/panic", web::get().to(panics));
}

#[tokio::test]
async fn a_panic_answers_500_json_and_the_next_request_succeeds() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.workers = Some(1); // the same worker must serve what follows
        config.extra_routes = Some(panicking_route);
    })
    .await;
    for round in 0..3 {
        let id = format!("panic-{round}");
        let request = app.request(reqwest::Method::GET, "/test/panic").header("x-request-id", &id);
        let response = request.send().await.expect("an answer, not a dropped connection");
        let body = expect_error(response, StatusCode::INTERNAL_SERVER_ERROR).await;
        assert_eq!(body["error"], "Internal server error", "no panic text leaks: {body}");
        // The same worker serves the next requests, reads and writes.
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        app.create_user(&format!("user{round}")).await;
        let line =
            app.logs.wait_for("of the panic", |line| line["request_id"] == id.as_str()).await;
        assert_eq!(line["status"], 500);
        assert!(line["error"].as_str().is_some_and(|e| e.contains("panicked")), "{line}");
    }
}
