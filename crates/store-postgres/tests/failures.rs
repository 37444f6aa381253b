//! How the store fails: an unreachable database, races on unique values.

use std::time::{Duration, Instant};

use domain::ports::{Store, UrlRepository, UserRepository};
use domain::{Email, Error, NewUrl, NewUser, ShortCode, TargetUrl, Username};
use store_postgres::{PgConfig, PgStore};
use testkit::postgres::fresh_store;

fn user(name: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
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
            tokio::spawn(async move {
                store
                    .create_url(NewUrl {
                        user_id: None,
                        short_code: ShortCode::parse("race01").unwrap(),
                        original_url: TargetUrl::parse("https://example.com/race").unwrap(),
                        title: None,
                        created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
                    })
                    .await
            })
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
