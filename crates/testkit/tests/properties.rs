//! Properties of the API over generated input, against the real application:
//! no upload breaks the CSV import, a users CSV round-trips through import and
//! export unchanged, and every accepted target redirects with an ASCII
//! `Location`.
//!
//! The "export" is the platform's CSV format (`id,username,email,created_at`)
//! written from `GET /users`: what a client would save to import elsewhere.

use std::collections::BTreeSet;

use domain::TargetUrl;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{StoreKind, TestApp, spawn_app};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

/// Runs `property` over `strategy` with one app for all cases.
fn check_on_one_app<T: std::fmt::Debug>(
    cases: u32,
    strategy: impl Strategy<Value = T>,
    property: impl Fn(&Runtime, &TestApp, T) -> Result<(), TestCaseError>,
) {
    let rt = runtime();
    let app = rt.block_on(spawn_app(StoreKind::Memory));
    let outcome = runner(cases).run(&strategy, |value| property(&rt, &app, value));
    let _entered = rt.enter();
    drop(app);
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

// --- Arbitrary uploads -----------------------------------------------------

/// Bytes that are sometimes a users CSV and often almost one: headers in any
/// order and case, quoted fields, CR, LF, BOMs, NULs, invalid UTF-8, short and
/// long rows, or plain noise.
fn upload() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just("id,username,email,created_at".to_owned()),
        Just("email,USERNAME , id".to_owned()),
        Just("username".to_owned()),
        Just("\u{feff}username,email".to_owned()),
        Just("name,mail".to_owned()),
        "[a-z,\" ]{0,30}",
    ];
    let field = prop_oneof![
        "[a-z0-9_]{0,10}",
        "[a-z]{1,6}@[a-z]{1,6}\\.[a-z]{2,3}",
        "-?[0-9]{1,20}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]",
        "\"[^\"]{0,10}\"",
        "\"[a-z\"]{0,6}",
        any::<String>(),
    ];
    let row = prop::collection::vec(field, 0..6).prop_map(|fields| fields.join(","));
    let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("")];
    let csv = (header, prop::collection::vec((row, ending), 0..20)).prop_map(|(header, rows)| {
        let mut text = format!("{header}\n");
        for (row, ending) in rows {
            text.push_str(&row);
            text.push_str(ending);
        }
        text.into_bytes()
    });
    let noise = prop::collection::vec(any::<u8>(), 0..600);
    let spliced =
        (csv.clone(), prop::collection::vec(any::<u8>(), 1..8), any::<prop::sample::Index>())
            .prop_map(|(mut csv, junk, at)| {
                let at = at.index(csv.len() + 1);
                csv.splice(at..at, junk);
                csv
            });
    prop_oneof![3 => csv, 1 => noise, 1 => spliced]
}

#[test]
fn no_upload_breaks_the_import() {
    check_on_one_app(192, upload(), |rt, app, bytes| {
        let (status, body) = rt.block_on(async {
            let response = app.import_users_csv(bytes.clone()).await;
            let status = response.status();
            (status, response.json::<Value>().await)
        });
        let body = body.map_err(|e| TestCaseError::fail(format!("{status}: not JSON: {e}")))?;
        match status {
            StatusCode::OK => {
                prop_assert_eq!(&body["count"], &body["imported"]);
                let (accepted, rejected) = (body["count"].as_u64(), body["rejected"].as_u64());
                prop_assert!(accepted.is_some() && rejected.is_some(), "{}", body);
                prop_assert!(accepted.unwrap() + rejected.unwrap() > 0, "{}", body);
            }
            StatusCode::BAD_REQUEST => {
                prop_assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", body)
            }
            other => {
                prop_assert!(false, "{} for {:?}: {}", other, String::from_utf8_lossy(&bytes), body)
            }
        }
        let health = rt.block_on(app.get("/health/live")).status();
        prop_assert_eq!(health, StatusCode::OK);
        Ok(())
    });
}

// --- Round trip ------------------------------------------------------------

#[derive(Debug, Clone)]
struct Row {
    id: i64,
    username: String,
    email: String,
    created_at: String,
}

const COLUMNS: [&str; 4] = ["id", "username", "email", "created_at"];

/// Characters a username may hold: anything but whitespace and controls,
/// CSV's own delimiters and quotes included.
fn username_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::char::range('!', '~'),
        1 => any::<char>().prop_filter("no whitespace or control", |c| {
            !c.is_whitespace() && !c.is_control()
        }),
    ]
}

/// Valid users with distinct ids, usernames and e-mails.
fn users() -> impl Strategy<Value = Vec<Row>> {
    let user = (
        prop::collection::vec(username_char(), 1..20),
        prop::collection::vec(username_char().prop_filter("no @", |c| *c != '@'), 1..12),
        "[a-z]{1,8}\\.[a-z]{2,4}",
        0i64..4_102_444_800, // 1970 to 2100, in seconds
    );
    (prop::collection::btree_set(1i64..1_000_000_000, 1..25), prop::collection::vec(user, 25))
        .prop_map(|(ids, users): (BTreeSet<i64>, _)| {
            ids.into_iter()
                .zip(users)
                .enumerate()
                .map(|(n, (id, (name, local, domain, seconds)))| Row {
                    id,
                    // The index keeps usernames and e-mails unique.
                    username: format!("{}{n}", String::from_iter(name)),
                    email: format!("{}{n}@{domain}", String::from_iter(local)),
                    created_at: chrono::DateTime::from_timestamp(seconds, 0)
                        .expect("in range")
                        .naive_utc()
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                })
                .filter(|row| domain::Username::parse(&row.username).is_ok())
                .collect()
        })
}

/// The platform's CSV of `rows`, its columns in `order`.
fn export(rows: &[Row], order: &[usize]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(order.iter().map(|&i| COLUMNS[i])).expect("a header");
    for row in rows {
        let cells =
            [row.id.to_string(), row.username.clone(), row.email.clone(), row.created_at.clone()];
        writer.write_record(order.iter().map(|&i| &cells[i])).expect("a row");
    }
    writer.into_inner().expect("the CSV")
}

/// The users the API lists, as rows.
async fn listed(app: &TestApp) -> Vec<Row> {
    let users = app.get_json("/users?per_page=1000").await;
    let users = users.as_array().expect("a list").iter();
    users
        .map(|user| Row {
            id: user["id"].as_i64().expect("an id"),
            username: user["username"].as_str().expect("a username").to_owned(),
            email: user["email"].as_str().expect("an e-mail").to_owned(),
            created_at: user["created_at"].as_str().expect("a time").replacen('T', " ", 1),
        })
        .collect()
}

fn round_trip(kind: StoreKind, cases: u32) {
    let rt = runtime();
    let order = Just([0usize, 1, 2, 3]).prop_shuffle();
    let outcome = runner(cases).run(&(users(), order), |(rows, order)| {
        let file = export(&rows, &order);
        rt.block_on(async {
            let app = spawn_app(kind).await;
            let answer = app.import_users_csv(file.clone()).await;
            let answer = testkit::expect_json(answer, StatusCode::OK).await;
            let n = rows.len() as u64;
            prop_assert_eq!(
                &answer,
                &json!({"count": n, "imported": n, "rejected": 0, "errors": []})
            );
            let back = listed(&app).await;
            prop_assert_eq!(
                String::from_utf8(export(&back, &[0, 1, 2, 3])).unwrap(),
                String::from_utf8(export(&rows, &[0, 1, 2, 3])).unwrap(),
                "exported after import, the file is the same"
            );
            // Importing it again changes nothing and says the same.
            let again =
                testkit::expect_json(app.import_users_csv(file).await, StatusCode::OK).await;
            prop_assert_eq!(again, answer);
            prop_assert_eq!(listed(&app).await.len(), rows.len());
            Ok(())
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[test]
fn a_csv_round_trips_through_import_and_export_on_memory() {
    round_trip(StoreKind::Memory, 48);
}

#[test]
fn a_csv_round_trips_through_import_and_export_on_postgres() {
    round_trip(StoreKind::Postgres, 6);
}

// --- Redirects -------------------------------------------------------------

/// Targets the API accepts: IDN hosts, non-ASCII paths and queries, escapes.
fn target() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("http"), Just("https"), Just("HTTPS")];
    let host = prop_oneof![
        "[a-z][a-z0-9]{0,10}(\\.[a-z]{2,6}){1,2}(:[1-9][0-9]{0,3})?",
        Just("bücher.example".to_owned()),
        Just("пример.рф".to_owned()),
        Just("例え.テスト".to_owned()),
    ];
    let path = "(/[a-zA-Z0-9._~!$&'()*+,;=:@éßü日本-]{0,10}|/%[0-9A-Fa-f]{2}){0,5}";
    let query = "(\\?[a-zA-Z0-9=&%é/?\"<>^`{|}-]{0,16})?(#[a-zA-Z0-9ü#-]{0,8})?";
    (scheme, host, path, query).prop_map(|(s, h, p, q)| format!("{s}://{h}{p}{q}"))
}

#[test]
fn accepted_targets_redirect_with_an_ascii_location() {
    check_on_one_app(96, target(), |rt, app, raw| {
        rt.block_on(async {
            let created = app.post_json("/urls", &json!({"original_url": raw})).await;
            let url = testkit::expect_json(created, StatusCode::CREATED).await;
            prop_assert_eq!(url["original_url"].as_str(), Some(raw.as_str()), "stored as given");
            let code = url["short_code"].as_str().expect("a code");
            let redirect = app.get(&format!("/{code}")).await;
            prop_assert_eq!(redirect.status(), StatusCode::FOUND);
            let location = redirect.headers().get("location").expect("a Location").as_bytes();
            prop_assert!(location.iter().all(|b| (0x21..=0x7e).contains(b)), "{:?}", location);
            let expected = TargetUrl::parse(&raw).expect("accepted").location().to_owned();
            prop_assert_eq!(location, expected.as_bytes());
            Ok(())
        })
    });
}
