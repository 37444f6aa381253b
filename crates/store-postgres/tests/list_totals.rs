//! The totals PostgreSQL keeps of the user and URL lists (`list_totals` and its
//! triggers): a list's `total` must be what counting its rows gives, after every
//! kind of write, under concurrent writers, and for rows that predate the
//! migration.

use chrono::NaiveDateTime;
use diesel::Connection as _;
use diesel::connection::SimpleConnection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use domain::import::ImportUser;
use domain::ports::{UrlRepository, UserRepository};
use domain::{
    Email, NewUrl, NewUser, Page, ShortCode, TargetUrl, Url, UrlFilter, UrlPatch, UserFilter,
    Username,
};
use store_postgres::PgStore;
use testkit::postgres::TestDatabase;

fn at() -> NaiveDateTime {
    chrono::DateTime::UNIX_EPOCH.naive_utc()
}

/// Big enough to hold every row these tests write, so that the page's length is
/// the count the total must equal.
fn whole() -> Page {
    Page::new(1, 1000).unwrap()
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        created_at: at(),
    }
}

async fn add_url(store: &PgStore, code: &str, user_id: Option<i64>) -> Url {
    let url = NewUrl {
        user_id,
        short_code: ShortCode::parse(code).unwrap(),
        original_url: TargetUrl::parse(&format!("https://example.com/{code}")).unwrap(),
        title: None,
        created_at: at(),
    };
    store.create_url(url).await.unwrap()
}

/// Every list a kept total answers agrees with its rows; returns the totals of
/// all users and all live URLs.
async fn assert_totals_agree(store: &PgStore) -> (u64, u64) {
    let users = store.list_users(&UserFilter::default(), whole()).await.unwrap();
    assert_eq!(users.total, users.items.len() as u64, "all users");
    let mut live = 0;
    for is_active in [None, Some(true), Some(false)] {
        let filter = UrlFilter { is_active, ..UrlFilter::default() };
        let urls = store.list_urls(&filter, whole()).await.unwrap();
        assert_eq!(urls.total, urls.items.len() as u64, "URLs, is_active {is_active:?}");
        live = live.max(urls.total);
    }
    (users.total, live)
}

#[tokio::test]
async fn totals_follow_every_kind_of_write() {
    let database = TestDatabase::create().await;
    let store = database.store();
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let bob = store.create_user(new_user("bob")).await.unwrap();
    let mut urls = Vec::new();
    for (code, owner) in [("tot001", Some(alice.id)), ("tot002", Some(bob.id)), ("tot003", None)] {
        urls.push(add_url(&store, code, owner).await);
    }
    assert_eq!(assert_totals_agree(&store).await, (2, 3));

    let deactivate = UrlPatch { is_active: Some(false), ..UrlPatch::default() };
    store.update_url(urls[1].id, deactivate, at()).await.unwrap();
    let retitle = UrlPatch { title: Some(None), ..UrlPatch::default() };
    store.update_url(urls[0].id, retitle, at()).await.unwrap();
    store.delete_url(urls[2].id, at()).await.unwrap();
    // Its URLs lose their owner (an update of each): no URL total moves.
    store.delete_user(bob.id).await.unwrap();
    let imported = ImportUser {
        line: 2,
        id: None,
        username: Username::parse("carol").unwrap(),
        email: Email::parse("carol@example.com").unwrap(),
        created_at: at(),
    };
    store.import_users(vec![imported]).await.unwrap();
    assert_eq!(assert_totals_agree(&store).await, (2, 2));
}

/// Runs `sql` (statements separated by `;`) on the test database.
async fn execute(database: &TestDatabase, sql: &'static str) {
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        conn.batch_execute(sql).unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn hard_deletes_and_truncates_move_the_totals_too() {
    // No store method deletes a row for good, but an operator's SQL may.
    let database = TestDatabase::create().await;
    let store = database.store();
    store.create_user(new_user("frank")).await.unwrap();
    for code in ["del001", "del002", "del003"] {
        add_url(&store, code, None).await;
    }
    execute(
        &database,
        "DELETE FROM events WHERE url_id IN (SELECT id FROM urls WHERE short_code = 'del001'); \
         DELETE FROM urls WHERE short_code = 'del001'",
    )
    .await;
    assert_eq!(assert_totals_agree(&store).await, (1, 2));
    execute(&database, "TRUNCATE events, urls").await;
    assert_eq!(assert_totals_agree(&store).await, (1, 0));
    execute(&database, "TRUNCATE users CASCADE").await;
    assert_eq!(assert_totals_agree(&store).await, (0, 0));
    store.create_user(new_user("grace")).await.unwrap();
    add_url(&store, "del004", None).await;
    assert_eq!(assert_totals_agree(&store).await, (1, 1), "and counting goes on");
}

#[tokio::test]
async fn the_runbook_recount_repairs_totals_that_writes_without_triggers_missed() {
    let database = TestDatabase::create().await;
    let store = database.store();
    add_url(&store, "run001", None).await;
    // A session that skips triggers, as a replica apply or a data-only restore.
    execute(
        &database,
        "SET session_replication_role = replica; \
         INSERT INTO users (username, email, email_key, created_at) \
             VALUES ('hank', 'hank@example.com', 'hank@example.com', now()); \
         INSERT INTO urls (short_code, original_url, is_active, created_at, updated_at) \
             VALUES ('run002', 'https://example.com/2', false, now(), now())",
    )
    .await;
    let missed = store.list_urls(&UrlFilter::default(), whole()).await.unwrap();
    assert_eq!((missed.total, missed.items.len()), (1, 2), "the drift the runbook is for");
    // docs/runbook.md, "Wrong list totals", as written there.
    execute(
        &database,
        "BEGIN; \
         LOCK TABLE users, urls IN SHARE ROW EXCLUSIVE MODE; \
         DELETE FROM list_totals; \
         INSERT INTO list_totals (list, shard, n) SELECT 'users', 0, count(*) FROM users; \
         INSERT INTO list_totals (list, shard, n) \
             SELECT url_list(is_active, deleted_at), 0, count(*) FROM urls \
             WHERE deleted_at IS NULL GROUP BY 1; \
         COMMIT",
    )
    .await;
    assert_eq!(assert_totals_agree(&store).await, (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_lose_no_count_and_never_deadlock() {
    let database = TestDatabase::create().await;
    // Every writer on one row of each total, as many at once as the pool allows:
    // the worst case of the 16 shards.
    execute(
        &database,
        "CREATE OR REPLACE FUNCTION list_totals_shard() RETURNS SMALLINT \
         LANGUAGE sql STABLE AS $$ SELECT 0::smallint $$",
    )
    .await;
    let config = store_postgres::PgConfig { max_size: 16, ..database.config() };
    let store = PgStore::connect(&config).unwrap();
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..10 {
                    let url = add_url(&store, &format!("w{writer}n{n}"), None).await;
                    if n % 3 == 0 {
                        store.delete_url(url.id, at()).await.unwrap();
                    } else if n % 3 == 1 {
                        let deactivate = UrlPatch { is_active: Some(false), ..UrlPatch::default() };
                        store.update_url(url.id, deactivate, at()).await.unwrap();
                    }
                }
                store.create_user(new_user(&format!("writer{writer}"))).await.unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer finishes");
    }
    assert_eq!(assert_totals_agree(&store).await, (16, 16 * 6), "four of every ten URLs deleted");
}

#[tokio::test]
async fn rows_written_before_the_migration_are_counted() {
    // The schema as it was before the totals, some rows, then the totals.
    const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
    let database = TestDatabase::create_empty().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        let pending = conn.pending_migrations(MIGRATIONS).unwrap();
        let totals = pending
            .iter()
            .position(|migration| migration.name().to_string().ends_with("_create_list_totals"))
            .expect("the totals' migration");
        let (before, from_totals) = pending.split_at(totals);
        for migration in before {
            conn.run_migration(&**migration).unwrap();
        }
        conn.batch_execute(
            "INSERT INTO users (username, email, email_key, created_at) \
                 VALUES ('dora', 'dora@example.com', 'dora@example.com', now()); \
             INSERT INTO urls (short_code, original_url, is_active, created_at, updated_at, \
                               deleted_at) \
                 VALUES ('old001', 'https://example.com/1', true, now(), now(), NULL), \
                        ('old002', 'https://example.com/2', false, now(), now(), NULL), \
                        ('old003', 'https://example.com/3', true, now(), now(), now())",
        )
        .unwrap();
        for migration in from_totals {
            conn.run_migration(&**migration).unwrap();
        }
    })
    .await
    .unwrap();
    let store = database.store();
    assert_eq!(assert_totals_agree(&store).await, (1, 2), "the deleted URL is not counted");
    store.create_user(new_user("erin")).await.unwrap();
    add_url(&store, "new001", None).await;
    assert_eq!(assert_totals_agree(&store).await, (2, 3), "and counting goes on from there");
}
