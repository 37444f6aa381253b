//! The embedded migrations, and running them from several replicas at once.

use domain::ports::UserRepository;
use domain::{Email, NewUser, Username};
use store_postgres::run_migrations;
use testkit::postgres::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_a_fresh_database_at_once_all_succeed() {
    let database = TestDatabase::create_empty().await;
    let config = database.config();
    let replicas: Vec<_> = (0..4)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { run_migrations(&config).await })
        })
        .collect();
    let mut applied = Vec::new();
    for replica in replicas {
        let versions = replica.await.expect("the replica's task").expect("its migration run");
        applied.push(versions);
    }
    let migrating: Vec<_> = applied.iter().filter(|versions| !versions.is_empty()).collect();
    assert_eq!(migrating.len(), 1, "one replica migrates, the others find it done: {applied:?}");

    let store = database.store();
    let user = NewUser {
        username: Username::parse("alice").unwrap(),
        email: Email::parse("alice@example.com").unwrap(),
        created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
    };
    assert!(store.create_user(user).await.is_ok(), "the schema is in place");
}

#[tokio::test]
async fn migrating_an_up_to_date_database_does_nothing() {
    let database = TestDatabase::create().await;
    let again = run_migrations(&database.config()).await.expect("a second run");
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let mut config = store_postgres::PgConfig::new(format!(
        "postgres://postgres:secret@127.0.0.1:{}/nowhere",
        testkit::free_port()
    ));
    config.connect_timeout = std::time::Duration::from_secs(2);
    let error = run_migrations(&config).await.expect_err("nothing listens there");
    let shown = error.to_string();
    assert!(shown.contains("cannot connect"), "{shown}");
    assert!(!shown.contains("secret"), "the password stays hidden: {shown}");
}
