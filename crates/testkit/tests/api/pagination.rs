//! Lists: plain arrays ordered by id, `page`/`per_page`, and the pagination headers.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::expect_json;

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|item| item["id"].as_i64().unwrap()).collect()
}

on_every_store! {
    async fn pages_are_exact_and_headed(app: TestApp) {
        for i in 0..23 {
            app.create_user(&format!("user{i:02}")).await;
        }
        let response = app.get("/users?page=1&per_page=10").await;
        let headers = response.headers().clone();
        let first = expect_json(response, StatusCode::OK).await;
        assert_eq!(ids(&first).len(), 10, "exactly 10");
        assert_eq!(headers["x-total-count"], "23");
        let link = headers["link"].to_str().unwrap();
        assert!(link.contains("</users?page=2&per_page=10>; rel=\"next\""), "{link}");
        assert!(link.contains("</users?page=3&per_page=10>; rel=\"last\""), "{link}");
        assert!(link.contains("rel=\"first\"") && !link.contains("rel=\"prev\""), "{link}");

        let second = app.get_json("/users?page=2&per_page=10").await;
        assert_eq!(ids(&second).len(), 10);
        assert!(ids(&first).last() < ids(&second).first(), "page 2 follows page 1");
        let third = app.get("/users?page=3&per_page=10").await;
        let link = third.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""), "{link}");
        assert_eq!(ids(&expect_json(third, StatusCode::OK).await).len(), 3);

        let past = app.get("/users?page=9&per_page=10").await;
        assert_eq!(past.headers()["x-total-count"], "23");
        assert_eq!(expect_json(past, StatusCode::OK).await, json!([]), "a page past the end is []");
    }

    async fn page_size_has_a_default_and_a_ceiling(app: TestApp) {
        for i in 0..60 {
            app.create_user(&format!("u{i:02}")).await;
        }
        assert_eq!(ids(&app.get_json("/users").await).len(), 50, "default page size");
        let clamped = app.get("/users?per_page=5000").await;
        let link = clamped.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("per_page=1000"), "clamped to 1000: {link}");
        assert_eq!(ids(&expect_json(clamped, StatusCode::OK).await).len(), 60);
    }

    async fn links_keep_the_filters(app: TestApp) {
        for i in 0..3 {
            app.create_url(&json!({"original_url": format!("https://example.com/{i}")})).await;
        }
        let response = app.get("/urls?is_active=true&per_page=1&page=2").await;
        let link = response.headers()["link"].to_str().unwrap();
        assert!(link.contains("</urls?is_active=true&page=3&per_page=1>; rel=\"next\""), "{link}");
    }
}
