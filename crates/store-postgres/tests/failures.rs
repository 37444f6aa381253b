//! How the store fails: an unreachable database, races on unique values.

use std::time::{Duration, Instant};

use domain::ports::{EventRepository, Store, UrlRepository, UserRepository};
use domain::{Email, Error, EventType, NewEvent, NewUrl, NewUser, ShortCode, TargetUrl, Username};
use store_postgres::{PgConfig, PgStore};
use testkit::postgres::fresh_store;

fn user(name: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
    }
}

fn new_url(code: &str) -> NewUrl {
    NewUrl {
        user_id: None,
        short_code: ShortCode::parse(code).unwrap(),
        original_url: TargetUrl::parse(&format!("https://example.com/{code}")).unwrap(),
        title: None,
        created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
    }
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_not_an_internal_error() {
    let port = testkit::free_port();
    let config = PgConfig {
        connect_timeout: Duration::from_secs(1),
        wait_timeout: Duration::from_secs(1),
        ..PgConfig::new(format!("postgres://postgres@127.0.0.1:{port}/nowhere"))
    };
    let store = PgStore::connect(&config).expect("the pool is built without connecting");
    let started = Instant::now();
    assert!(matches!(store.ping().await, Err(Error::Unavailable(_))));
    assert!(matches!(store.create_user(user("alice")).await, Err(Error::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_code_make_exactly_one_url() {
    let store = fresh_store().await;
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.create_url(new_url("race01")).await })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(error) => assert_eq!(error, Error::DuplicateShortCode),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_with_one_name_make_exactly_one_user() {
    let store = fresh_store().await;
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut new = user("alice");
                new.email = Email::parse(&format!("alice{i}@example.com")).unwrap();
                store.create_user(new).await
            })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(error) => assert_eq!(error, Error::DuplicateUsername),
        }
    }
    assert_eq!(created, 1);
}

/// `shortener_clicks_dropped_total`, as exported.
fn clicks_dropped() -> f64 {
    prometheus::gather()
        .iter()
        .find(|family| family.name() == "shortener_clicks_dropped_total")
        .map_or(0.0, |family| family.get_metric()[0].get_counter().value())
}

#[tokio::test]
async fn a_click_the_database_refuses_is_counted_as_dropped_and_the_next_is_written() {
    let store = fresh_store().await;
    let url = store.create_url(new_url("refuse")).await.unwrap();
    let click = |user_agent: &str| NewEvent {
        url_id: Some(url.id),
        user_id: None,
        event_type: EventType::parse(NewEvent::CLICK).unwrap(),
        timestamp: chrono::DateTime::UNIX_EPOCH.naive_utc(),
        details: serde_json::json!({ "user_agent": user_agent }).as_object().unwrap().clone(),
    };
    let dropped_before = clicks_dropped();

    // jsonb has no room for U+0000: PostgreSQL refuses the row, and would refuse
    // it again, so the click is dropped (and counted) rather than kept for a retry.
    let refused = store.record_click(click("nul \u{0} inside")).await;
    assert!(matches!(refused, Err(Error::Internal(_))), "{refused:?}");
    assert_eq!(clicks_dropped() - dropped_before, 1.0);

    store.record_click(click("curl/8")).await.expect("the writer goes on after a refusal");
    store.flush_clicks().await.expect("nothing waits for a retry");
    assert_eq!(store.url_stats(url.id).await.unwrap().clicks, 1);
}
