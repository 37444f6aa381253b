//! Bulk user import on PostgreSQL, beyond the contract suite: batch sizes that
//! real files produce, and the id sequence after explicit ids.

use std::time::{Duration, Instant};

use domain::import::{ImportUser, parse_timestamp};
use domain::ports::UserRepository;
use domain::{Email, NewUser, Page, UserFilter, Username};
use testkit::postgres::fresh_store;

fn row(line: u64, id: Option<i64>, name: &str, email: &str) -> ImportUser {
    ImportUser {
        line,
        id,
        username: Username::parse(name).unwrap(),
        email: Email::parse(email).unwrap(),
        created_at: parse_timestamp("2025-01-02 03:04:05").unwrap(),
    }
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        created_at: parse_timestamp("2025-01-02 03:04:05").unwrap(),
    }
}

#[tokio::test]
async fn thousands_of_rows_import_in_one_batch_quickly_and_idempotently() {
    let store = fresh_store().await;
    // More rows than 65 535 bind parameters would allow as one VALUES list.
    let batch: Vec<ImportUser> = (1..=20_000)
        .map(|i| row(i + 1, Some(i as i64 * 2), &format!("bulk{i}"), &format!("bulk{i}@ex.com")))
        .collect();
    let started = Instant::now();
    let rejections = store.import_users(batch.clone()).await.expect("the batch imports");
    let took = started.elapsed();
    assert!(rejections.is_empty(), "{:?}", &rejections[..rejections.len().min(3)]);
    assert!(took < Duration::from_secs(10), "20 000 rows took {took:?}");
    let all = Page::new(1, 1).unwrap();
    assert_eq!(store.list_users(&UserFilter::default(), all).await.unwrap().total, 20_000);
    assert_eq!(store.get_user(40_000).await.unwrap().unwrap().username, "bulk20000");

    let again = store.import_users(batch).await.expect("the same batch again");
    assert!(again.is_empty());
    assert_eq!(store.list_users(&UserFilter::default(), all).await.unwrap().total, 20_000);
    let next = store.create_user(new_user("afterwards")).await.unwrap();
    assert_eq!(next.id, 40_001, "the sequence continues after the largest imported id");
}

#[tokio::test]
async fn ids_are_kept_when_free_and_the_sequence_never_goes_back() {
    let store = fresh_store().await;
    let first = store.create_user(new_user("first")).await.unwrap();
    let second = store.create_user(new_user("second")).await.unwrap();
    store.delete_user(second.id).await.unwrap();
    // The highest id is now first's, below the sequence: importing must not move
    // the sequence back onto second's id.
    let rejections = store
        .import_users(vec![
            row(2, Some(first.id), "taken", "taken@example.com"),
            row(3, Some(second.id), "freed", "freed@example.com"),
        ])
        .await
        .unwrap();
    assert!(rejections.is_empty());
    let freed = store.get_user(second.id).await.unwrap().expect("a free id is kept");
    assert_eq!(freed.username, "freed");
    let by_name = UserFilter { username: Some("taken".into()), ..UserFilter::default() };
    let taken = store.list_users(&by_name, Page::default()).await.unwrap().items;
    assert!(taken[0].id > second.id, "a taken id gets a fresh one: {}", taken[0].id);
    let later = store.create_user(new_user("later")).await.unwrap();
    assert!(later.id > taken[0].id);
}

#[tokio::test]
async fn e_mails_clash_ignoring_case_with_the_table_and_the_batch() {
    let store = fresh_store().await;
    store.create_user(new_user("holder")).await.unwrap();
    let rejections = store
        .import_users(vec![
            row(2, None, "one", "HOLDER@example.com"),
            row(3, None, "two", "two@example.com"),
            row(4, None, "three", "Two@Example.COM"),
            row(5, None, "one", "one@example.com"),
        ])
        .await
        .unwrap();
    let lines: Vec<u64> = rejections.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 4]);
    let by_name = UserFilter { username: Some("one".into()), ..UserFilter::default() };
    let one = store.list_users(&by_name, Page::default()).await.unwrap().items;
    assert_eq!(one[0].email, "one@example.com", "a refused row does not claim its username");
}

#[tokio::test]
async fn an_import_and_concurrent_sign_ups_never_collide() {
    let store = fresh_store().await;
    let batch: Vec<ImportUser> = (1..=2_000)
        .map(|i| row(i + 1, Some(i as i64), &format!("imp{i}"), &format!("imp{i}@ex.com")))
        .collect();
    let importing = tokio::spawn({
        let store = store.clone();
        async move { store.import_users(batch).await }
    });
    let mut sign_ups = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        sign_ups
            .push(tokio::spawn(async move { store.create_user(new_user(&format!("s{i}"))).await }));
    }
    assert!(importing.await.unwrap().unwrap().is_empty());
    for sign_up in sign_ups {
        sign_up.await.unwrap().expect("a sign-up during an import succeeds");
    }
    let all = Page::new(1, 1).unwrap();
    assert_eq!(store.list_users(&UserFilter::default(), all).await.unwrap().total, 2_020);
}
