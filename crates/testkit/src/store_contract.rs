//! The repository contract suite: the MUST-lines of `domain::ports`, executable.
//! Written once against [`Store`], run against every adapter through
//! [`store_contract_suite!`](crate::store_contract_suite), one fresh store per test.

use chrono::NaiveDateTime;
use domain::api_keys::{ApiKeySecret, KeyHash, KeyName, KeySelector, NewApiKey};
use domain::import::{ImportUser, parse_timestamp};
use domain::ports::{ApiKeyRepository, Store};
use domain::{
    ClickContext, Email, Error, EventFilter, EventType, Link, NewEvent, NewUrl, NewUser, Page,
    ShortCode, TargetUrl, Title, Url, UrlFilter, UrlPatch, User, UserFilter, UserPatch, Username,
};
use serde_json::json;

/// Generates one `#[tokio::test]` per contract case; `$make` is an async function
/// returning a fresh, empty store.
#[macro_export]
macro_rules! store_contract_suite {
    ($make:path) => {
        $crate::store_contract_suite!(@cases $make;
            users_round_trip, usernames_and_emails_are_unique, updating_a_user,
            deleting_a_user_keeps_its_urls_and_events, listing_users_pages_and_filters,
            creating_a_url_records_its_event, short_codes_are_unique_and_case_sensitive,
            deleted_urls_vanish_but_keep_their_code_and_events, updating_a_url_records_each_change,
            listing_urls_pages_and_filters, events_check_their_references,
            clicks_are_counted_in_stats, clicks_are_attributed_to_the_owner_when_written,
            concurrent_clicks_are_all_written, importing_users_follows_the_rules,
            the_store_answers_pings, api_keys_are_digests_with_unique_names,
            revoked_api_keys_stay_revoked
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::store_contract::$case($make().await).await;
            }
        )*
    };
}

fn at(raw: &str) -> NaiveDateTime {
    parse_timestamp(raw).expect("test timestamp")
}

fn new_user(name: &str, email: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).expect("test username"),
        email: Email::parse(email).expect("test email"),
        created_at: at("2025-01-02 03:04:05"),
    }
}

fn new_url(code: &str, user_id: Option<i64>) -> NewUrl {
    NewUrl {
        user_id,
        short_code: ShortCode::parse(code).expect("test code"),
        original_url: TargetUrl::parse(&format!("https://example.com/{code}?q=1#f"))
            .expect("test url"),
        title: Some(Title::parse("A title").expect("test title")),
        created_at: at("2025-02-03 04:05:06"),
    }
}

fn import_row(line: u64, id: Option<i64>, name: &str, email: &str) -> ImportUser {
    let user = new_user(name, email);
    ImportUser { line, id, username: user.username, email: user.email, created_at: user.created_at }
}

async fn add_user<S: Store>(store: &S, name: &str) -> User {
    store.create_user(new_user(name, &format!("{name}@example.com"))).await.expect("create user")
}

async fn add_url<S: Store>(store: &S, code: &str, user_id: Option<i64>) -> Url {
    store.create_url(new_url(code, user_id)).await.expect("create url")
}

async fn events_of<S: Store>(store: &S, url_id: i64) -> Vec<domain::Event> {
    let filter = EventFilter { url_id: Some(url_id), ..EventFilter::default() };
    store.list_events(&filter, Page::new(1, 1000).expect("page")).await.expect("events").items
}

fn page(number: u32, size: u32) -> Page {
    Page::new(number, size).expect("page")
}

pub async fn users_round_trip<S: Store>(store: S) {
    let created = store.create_user(new_user("alice", " Alice@Example.com ")).await.unwrap();
    assert!(created.id > 0);
    assert_eq!(created.username, "alice");
    assert_eq!(created.email, "Alice@Example.com", "stored trimmed, as entered");
    assert_eq!(created.created_at, at("2025-01-02 03:04:05"));
    assert_eq!(store.get_user(created.id).await.unwrap(), Some(created.clone()));
    assert_eq!(store.get_user(created.id + 1000).await.unwrap(), None);
    let second = add_user(&store, "bob").await;
    assert!(second.id > created.id, "ids grow");
}

pub async fn usernames_and_emails_are_unique<S: Store>(store: S) {
    add_user(&store, "alice").await;
    let same_name = store.create_user(new_user("alice", "other@example.com")).await;
    assert_eq!(same_name, Err(Error::DuplicateUsername));
    let same_email = store.create_user(new_user("alice2", "ALICE@example.COM")).await;
    assert_eq!(same_email, Err(Error::DuplicateEmail), "e-mails compare ignoring case");
    let other_case_name = store.create_user(new_user("Alice", "a3@example.com")).await;
    assert!(other_case_name.is_ok(), "usernames are unique as written");
}

pub async fn updating_a_user<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    add_user(&store, "bob").await;
    let patch = |name: Option<&str>, email: Option<&str>| UserPatch {
        username: name.map(|n| Username::parse(n).unwrap()),
        email: email.map(|e| Email::parse(e).unwrap()),
    };
    let renamed = store.update_user(alice.id, patch(Some("alicia"), None)).await.unwrap();
    assert_eq!(
        (renamed.username.as_str(), renamed.email.as_str()),
        ("alicia", "alice@example.com")
    );
    assert_eq!(store.get_user(alice.id).await.unwrap(), Some(renamed));
    let same = store.update_user(alice.id, patch(Some("alicia"), Some("ALICE@example.com"))).await;
    assert!(same.is_ok(), "a user may keep its own name and e-mail");
    let taken = store.update_user(alice.id, patch(Some("bob"), None)).await;
    assert_eq!(taken, Err(Error::DuplicateUsername));
    let taken = store.update_user(alice.id, patch(None, Some("Bob@Example.com"))).await;
    assert_eq!(taken, Err(Error::DuplicateEmail));
    assert_eq!(store.update_user(9999, patch(Some("x"), None)).await, Err(Error::UserNotFound));
    let freed = store.create_user(new_user("alice", "alice-new@example.com")).await;
    assert!(freed.is_ok(), "the old name is free after a rename");
}

pub async fn deleting_a_user_keeps_its_urls_and_events<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    let url = add_url(&store, "keepme", Some(alice.id)).await;
    store.delete_user(alice.id).await.unwrap();
    assert_eq!(store.get_user(alice.id).await.unwrap(), None);
    assert_eq!(store.delete_user(alice.id).await, Err(Error::UserNotFound));
    let kept = store.get_url(url.id).await.unwrap().expect("the URL stays");
    assert_eq!(kept.user_id, None);
    let events = events_of(&store, url.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id, None);
    let reused = store.create_user(new_user("alice", "alice@example.com")).await;
    assert!(reused.is_ok(), "name and e-mail are free again");
}

pub async fn listing_users_pages_and_filters<S: Store>(store: S) {
    for i in 1..=12 {
        add_user(&store, &format!("user{i:02}")).await;
    }
    let first = store.list_users(&UserFilter::default(), page(1, 5)).await.unwrap();
    assert_eq!((first.items.len(), first.total), (5, 12));
    assert!(first.items.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
    let last = store.list_users(&UserFilter::default(), page(3, 5)).await.unwrap();
    assert_eq!(last.items.len(), 2);
    assert_eq!(last.items[1].username, "user12");
    let past = store.list_users(&UserFilter::default(), page(4, 5)).await.unwrap();
    assert_eq!((past.items.len(), past.total), (0, 12));
    let by_name = UserFilter { username: Some("user07".into()), ..UserFilter::default() };
    let found = store.list_users(&by_name, page(1, 50)).await.unwrap();
    assert_eq!((found.items.len(), found.total), (1, 1));
    let by_email =
        UserFilter { email: Some(" USER03@example.com ".into()), ..UserFilter::default() };
    let found = store.list_users(&by_email, page(1, 50)).await.unwrap();
    assert_eq!(found.items[0].username, "user03");
}

pub async fn creating_a_url_records_its_event<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    let url = add_url(&store, "abc123", Some(alice.id)).await;
    assert_eq!(url.short_code, "abc123");
    assert_eq!(url.original_url, "https://example.com/abc123?q=1#f");
    assert_eq!(url.title.as_deref(), Some("A title"));
    assert!(url.is_active);
    assert_eq!(url.updated_at, url.created_at);
    assert_eq!(url.user_id, Some(alice.id));
    assert_eq!(store.get_url(url.id).await.unwrap(), Some(url.clone()));
    assert_eq!(store.find_url_by_code("abc123").await.unwrap(), Some(url.clone()));
    let events = events_of(&store, url.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "created");
    assert_eq!(events[0].user_id, Some(alice.id));
    assert_eq!(
        serde_json::Value::Object(events[0].details.clone()),
        json!({"short_code": "abc123", "original_url": "https://example.com/abc123?q=1#f"})
    );
    assert_eq!(store.create_url(new_url("nouser", Some(9999))).await, Err(Error::UserNotFound));
    let anonymous = add_url(&store, "anon01", None).await;
    assert_eq!(anonymous.user_id, None);
}

pub async fn short_codes_are_unique_and_case_sensitive<S: Store>(store: S) {
    add_url(&store, "AbC123", None).await;
    assert_eq!(store.create_url(new_url("AbC123", None)).await, Err(Error::DuplicateShortCode));
    let lower = add_url(&store, "abc123", None).await;
    assert_eq!(store.find_url_by_code("abc123").await.unwrap(), Some(lower));
    assert_eq!(store.find_url_by_code("ABC123").await.unwrap(), None);
}

pub async fn deleted_urls_vanish_but_keep_their_code_and_events<S: Store>(store: S) {
    let url = add_url(&store, "gone01", None).await;
    let deleted = store.delete_url(url.id, at("2025-03-01 00:00:00")).await.unwrap();
    assert_eq!(deleted.id, url.id);
    assert_eq!(store.get_url(url.id).await.unwrap(), None);
    assert_eq!(store.find_url_by_code("gone01").await.unwrap(), None);
    let listed = store.list_urls(&UrlFilter::default(), page(1, 50)).await.unwrap();
    assert_eq!(listed.total, 0);
    assert_eq!(store.delete_url(url.id, at("2025-03-02 00:00:00")).await, Err(Error::UrlNotFound));
    let patch = UrlPatch { is_active: Some(false), ..UrlPatch::default() };
    let update = store.update_url(url.id, patch, at("2025-03-02 00:00:00")).await;
    assert_eq!(update, Err(Error::UrlNotFound));
    assert_eq!(store.create_url(new_url("gone01", None)).await, Err(Error::DuplicateShortCode));
    let types: Vec<String> =
        events_of(&store, url.id).await.into_iter().map(|e| e.event_type).collect();
    assert_eq!(types, ["created", "deleted"]);
}

pub async fn updating_a_url_records_each_change<S: Store>(store: S) {
    let url = add_url(&store, "upd001", None).await;
    let now = at("2025-04-01 12:00:00");
    let patch = UrlPatch {
        title: Some(None),
        original_url: Some(TargetUrl::parse("https://example.org/new").unwrap()),
        is_active: Some(true),
    };
    let updated = store.update_url(url.id, patch, now).await.unwrap();
    assert_eq!(updated.title, None);
    assert_eq!(updated.original_url, "https://example.org/new");
    assert!(updated.is_active);
    assert_eq!(updated.updated_at, now);
    assert_eq!(updated.created_at, url.created_at);
    assert_eq!(store.get_url(url.id).await.unwrap(), Some(updated));
    let updates: Vec<serde_json::Value> = events_of(&store, url.id)
        .await
        .into_iter()
        .filter(|e| e.event_type == "updated")
        .map(|e| serde_json::Value::Object(e.details))
        .collect();
    assert_eq!(
        updates,
        [
            json!({"field": "title", "new_value": null}),
            json!({"field": "original_url", "new_value": "https://example.org/new"}),
        ],
        "one event per field that changed; is_active was already true"
    );
    let missing = store.update_url(9999, UrlPatch::default(), now).await;
    assert_eq!(missing, Err(Error::UrlNotFound));
}

pub async fn listing_urls_pages_and_filters<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    for i in 0..6 {
        let url = add_url(&store, &format!("list{i:02}"), (i % 2 == 0).then_some(alice.id)).await;
        if i < 2 {
            let patch = UrlPatch { is_active: Some(false), ..UrlPatch::default() };
            store.update_url(url.id, patch, at("2025-05-01 00:00:00")).await.unwrap();
        }
    }
    let all = store.list_urls(&UrlFilter::default(), page(1, 4)).await.unwrap();
    assert_eq!((all.items.len(), all.total), (4, 6));
    assert!(all.items.windows(2).all(|w| w[0].id < w[1].id));
    let mine = UrlFilter { user_id: Some(alice.id), ..UrlFilter::default() };
    let mine = store.list_urls(&mine, page(1, 50)).await.unwrap();
    assert_eq!(mine.total, 3);
    assert!(mine.items.iter().all(|u| u.user_id == Some(alice.id)));
    let active = UrlFilter { is_active: Some(true), ..UrlFilter::default() };
    let active = store.list_urls(&active, page(1, 50)).await.unwrap();
    assert_eq!(active.total, 4);
    assert!(active.items.iter().all(|u| u.is_active));
    let inactive = UrlFilter { is_active: Some(false), ..UrlFilter::default() };
    assert_eq!(store.list_urls(&inactive, page(1, 50)).await.unwrap().total, 2);
    let by_code = UrlFilter { short_code: Some("list03".into()), ..UrlFilter::default() };
    let found = store.list_urls(&by_code, page(1, 50)).await.unwrap();
    assert_eq!(found.items.iter().map(|u| u.short_code.as_str()).collect::<Vec<_>>(), ["list03"]);
    let by_other_case = UrlFilter { short_code: Some("LIST03".into()), ..UrlFilter::default() };
    assert_eq!(store.list_urls(&by_other_case, page(1, 50)).await.unwrap().total, 0);
}

pub async fn events_check_their_references<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    let url = add_url(&store, "evt001", Some(alice.id)).await;
    let event = |url_id, user_id| NewEvent {
        url_id,
        user_id,
        event_type: EventType::parse("share").unwrap(),
        timestamp: at("2025-06-01 00:00:00"),
        details: json!({"via": "mail"}).as_object().cloned().unwrap(),
    };
    let created = store.create_event(event(Some(url.id), Some(alice.id))).await.unwrap();
    assert_eq!(created.event_type, "share");
    assert_eq!(created.details, json!({"via": "mail"}).as_object().cloned().unwrap());
    assert_eq!(store.get_event(created.id).await.unwrap(), Some(created.clone()));
    assert_eq!(store.get_event(created.id + 1000).await.unwrap(), None);
    let bare = store.create_event(event(None, None)).await.unwrap();
    assert_eq!((bare.url_id, bare.user_id), (None, None));
    assert_eq!(store.create_event(event(Some(9999), None)).await, Err(Error::UrlNotFound));
    assert_eq!(store.create_event(event(None, Some(9999))).await, Err(Error::UserNotFound));
    store.delete_url(url.id, at("2025-06-02 00:00:00")).await.unwrap();
    assert_eq!(store.create_event(event(Some(url.id), None)).await, Err(Error::UrlNotFound));

    let shares = EventFilter { event_type: Some("share".into()), ..EventFilter::default() };
    let shares = store.list_events(&shares, page(1, 50)).await.unwrap();
    assert_eq!(shares.total, 2);
    assert!(shares.items.iter().all(|e| e.event_type == "share"));
    let by_user = EventFilter { user_id: Some(alice.id), ..EventFilter::default() };
    let by_user = store.list_events(&by_user, page(1, 50)).await.unwrap();
    assert!(by_user.items.iter().all(|e| e.user_id == Some(alice.id)));
    assert_eq!(by_user.total, 3, "created, share, deleted");
    let all = store.list_events(&EventFilter::default(), page(2, 2)).await.unwrap();
    assert_eq!((all.items.len(), all.total), (2, 4));
    assert!(all.items[0].id < all.items[1].id);
}

pub async fn clicks_are_counted_in_stats<S: Store>(store: S) {
    let url = add_url(&store, "clk001", None).await;
    let url = Link::from(&url);
    let none = store.url_stats(url.url_id).await.unwrap();
    assert_eq!((none.clicks, none.last_click_at), (0, None));
    let context = ClickContext::new(Some("https://ref.example/"), Some("test-agent"));
    for second in ["2025-07-01 00:00:01", "2025-07-01 00:00:03", "2025-07-01 00:00:02"] {
        store.record_click(NewEvent::click(&url, at(second), &context)).await.unwrap();
    }
    let stats = store.url_stats(url.url_id).await.unwrap();
    assert_eq!(stats.clicks, 3);
    assert_eq!(stats.last_click_at, Some(at("2025-07-01 00:00:03")));
    let clicks = EventFilter { event_type: Some("click".into()), ..EventFilter::default() };
    let clicks = store.list_events(&clicks, page(1, 50)).await.unwrap();
    assert_eq!(clicks.total, 3);
    assert_eq!(
        serde_json::Value::Object(clicks.items[0].details.clone()),
        json!({"short_code": "clk001", "referrer": "https://ref.example/", "user_agent": "test-agent"})
    );
}

pub async fn importing_users_follows_the_rules<S: Store>(store: S) {
    let existing = add_user(&store, "existing").await;
    let batch = vec![
        import_row(2, Some(500), "kept", "kept@example.com"),
        import_row(3, Some(existing.id), "moved", "moved@example.com"),
        import_row(4, Some(600), "existing", "whatever@example.com"),
        import_row(5, Some(700), "kept", "kept-again@example.com"),
        import_row(6, None, "noid", "noid@example.com"),
        import_row(7, Some(800), "clash", "KEPT@example.com"),
    ];
    let rejections = store.import_users(batch.clone()).await.unwrap();
    assert_eq!(rejections.iter().map(|r| r.line).collect::<Vec<_>>(), [7], "{rejections:?}");
    assert!(rejections[0].reason.contains("email"));

    let kept = store.get_user(500).await.unwrap().expect("a free id is kept");
    assert_eq!((kept.username.as_str(), kept.email.as_str()), ("kept", "kept@example.com"));
    assert_eq!(kept.created_at, at("2025-01-02 03:04:05"));
    assert_eq!(store.get_user(existing.id).await.unwrap(), Some(existing.clone()));
    for absent in [600, 700, 800] {
        assert_eq!(store.get_user(absent).await.unwrap(), None, "id {absent}");
    }
    let all = store.list_users(&UserFilter::default(), page(1, 50)).await.unwrap();
    let names: Vec<&str> = all.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(all.total, 4, "{names:?}");
    for name in ["existing", "kept", "moved", "noid"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }

    let again = store.import_users(batch).await.unwrap();
    assert_eq!(again.iter().map(|r| r.line).collect::<Vec<_>>(), [7], "the same answer twice");
    assert_eq!(store.list_users(&UserFilter::default(), page(1, 50)).await.unwrap().total, 4);

    let next = add_user(&store, "afterwards").await;
    assert!(next.id > 500, "new ids never collide with imported ones, got {}", next.id);
}

pub async fn clicks_are_attributed_to_the_owner_when_written<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    let url = add_url(&store, "own001", Some(alice.id)).await;
    let link = Link::from(&url);
    let mut click = NewEvent::click(&link, at("2025-07-02 00:00:00"), &ClickContext::default());
    click.user_id = Some(9999); // whatever the caller says, the owner counts
    store.record_click(click.clone()).await.unwrap();
    store.delete_user(alice.id).await.unwrap();
    store.record_click(click).await.unwrap();
    store.flush_clicks().await.unwrap();
    let clicks = EventFilter { event_type: Some("click".into()), ..EventFilter::default() };
    let owners: Vec<Option<i64>> = store
        .list_events(&clicks, page(1, 50))
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| e.user_id)
        .collect();
    assert_eq!(owners, [None, None], "the first lost its owner with the user, the second had none");
}

pub async fn concurrent_clicks_are_all_written<S: Store>(store: S) {
    let alice = add_user(&store, "alice").await;
    let link = Link::from(&add_url(&store, "many01", Some(alice.id)).await);
    let context = ClickContext::default();
    let clicks = (0..200)
        .map(|_| store.record_click(NewEvent::click(&link, at("2025-07-03 00:00:00"), &context)));
    for outcome in futures_util::future::join_all(clicks).await {
        outcome.expect("every click is written");
    }
    assert_eq!(store.url_stats(link.url_id).await.unwrap().clicks, 200);
    let by_owner = EventFilter {
        user_id: Some(alice.id),
        event_type: Some("click".into()),
        ..EventFilter::default()
    };
    assert_eq!(store.list_events(&by_owner, page(1, 1000)).await.unwrap().total, 200);
}

pub async fn the_store_answers_pings<S: Store>(store: S) {
    assert_eq!(store.ping().await, Ok(()));
}

fn new_key(name: &str) -> (NewApiKey, ApiKeySecret) {
    let secret = ApiKeySecret::generate();
    let key = NewApiKey {
        name: KeyName::parse(name).expect("test key name"),
        hash: secret.hash(),
        created_at: at("2025-08-01 00:00:00"),
    };
    (key, secret)
}

pub async fn api_keys_are_digests_with_unique_names<S: Store + ApiKeyRepository>(store: S) {
    let (ci, ci_secret) = new_key("ci");
    let created = store.create_api_key(ci).await.unwrap();
    assert!(created.id > 0);
    assert_eq!((created.name.as_str(), created.revoked_at), ("ci", None));
    assert_eq!(created.created_at, at("2025-08-01 00:00:00"));
    let found = store.find_api_key(&KeyHash::of(ci_secret.expose())).await.unwrap();
    assert_eq!(found, Some(created.clone()), "found by the digest of the secret");
    assert_eq!(store.find_api_key(&KeyHash::of("shk_nope")).await.unwrap(), None);

    let (again, _) = new_key("ci");
    assert_eq!(store.create_api_key(again).await, Err(domain::Error::DuplicateKeyName));
    let (partner, _) = new_key("partner");
    let partner = store.create_api_key(partner).await.unwrap();
    assert!(partner.id > created.id, "ids grow");
    assert_eq!(store.list_api_keys().await.unwrap(), vec![created, partner]);
}

pub async fn revoked_api_keys_stay_revoked<S: Store + ApiKeyRepository>(store: S) {
    let (ci, ci_secret) = new_key("ci");
    let ci = store.create_api_key(ci).await.unwrap();
    let (other, other_secret) = new_key("other");
    let other = store.create_api_key(other).await.unwrap();

    let when = at("2025-08-02 00:00:00");
    let by_name = KeySelector::Name(KeyName::parse("ci").unwrap());
    let revoked = store.revoke_api_key(&by_name, when).await.unwrap();
    assert_eq!((revoked.id, revoked.revoked_at), (ci.id, Some(when)));
    let found = store.find_api_key(&ci_secret.hash()).await.unwrap().expect("still found");
    assert_eq!(found.revoked_at, Some(when), "found, and revoked");
    let again = store.revoke_api_key(&KeySelector::Id(ci.id), at("2025-08-03 00:00:00")).await;
    assert_eq!(again.unwrap().revoked_at, Some(when), "the first revocation stands");
    let (reuse, _) = new_key("ci");
    assert_eq!(store.create_api_key(reuse).await, Err(domain::Error::DuplicateKeyName));

    let untouched = store.find_api_key(&other_secret.hash()).await.unwrap();
    assert_eq!(untouched, Some(other.clone()), "other keys are not revoked");
    let missing = KeySelector::Name(KeyName::parse("nobody").unwrap());
    assert_eq!(store.revoke_api_key(&missing, when).await, Err(domain::Error::KeyNotFound));
    assert_eq!(
        store.revoke_api_key(&KeySelector::Id(other.id + 100), when).await,
        Err(domain::Error::KeyNotFound)
    );
}
