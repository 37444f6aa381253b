//! `shortener keys`: a key is printed once on stdout, works against a server on
//! the same database, and is refused once revoked.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;
use shortener::StoreChoice;
use testkit::postgres::TestDatabase;
use testkit::spawn_app_on;

fn shortener(database: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shortener"))
        .args(args)
        .env("DATABASE_URL", &database.url)
        .env("LOG_LEVEL", "info")
        .output()
        .expect("the shortener binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn keys_are_printed_once_work_and_are_refused_once_revoked() {
    let database = TestDatabase::create().await;
    let created = shortener(&database, &["keys", "create", "--name", "ci"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    let key = stdout.trim_end();
    assert!(key.starts_with("shk_") && !key.contains('\n'), "stdout is the key alone: {stdout:?}");
    assert!(text(&created.stderr).contains("API key created"), "the log goes to stderr");

    let again = shortener(&database, &["keys", "create", "--name", "ci"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));

    let listed = shortener(&database, &["keys", "list"]);
    let listing = text(&listed.stdout);
    assert!(listed.status.success() && listing.contains("\tci\t"), "{listing}");
    assert!(!listing.contains(key), "the secret is never shown again");

    let store = database.store();
    let app = spawn_app_on(StoreChoice::Postgres(store), |config| {
        config.auth_mode = "api-key".parse().expect("a mode");
    })
    .await;
    let post = |key: Option<String>| {
        let mut request = app.request(reqwest::Method::POST, "/events");
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.json(&json!({"event_type": "signup"})).send().await.unwrap().status() }
    };
    assert_eq!(post(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post(Some(key.to_owned())).await, StatusCode::CREATED);

    let revoked = shortener(&database, &["keys", "revoke", "--name", "ci"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert_eq!(post(Some(key.to_owned())).await, StatusCode::FORBIDDEN, "refused at once");

    let missing = shortener(&database, &["keys", "revoke", "--id", "999"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no API key has id 999"), "{}", text(&missing.stderr));
    let listing = text(&shortener(&database, &["keys", "list"]).stdout);
    assert!(!listing.contains("\t-\n"), "the key shows its revocation: {listing}");
}
