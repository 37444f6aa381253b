//! Properties of the validators over arbitrary input: no input makes one panic,
//! and whatever one accepts obeys its rule. Accepted targets always give a
//! `Location` that is pure, visible ASCII.

use chrono::NaiveDate;
use proptest::prelude::*;

use crate::api_keys::KeyName;
use crate::import::{ImportRow, parse_timestamp};
use crate::{Email, EventType, Link, Page, ShortCode, TargetUrl, Title, Username};

/// Any string at all: every `char`, controls, NUL and surrogate-free Unicode
/// included (what a JSON body can carry).
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..300).prop_map(String::from_iter)
}

/// Text that is mostly plausible for `field`, with arbitrary characters mixed in.
fn near(plausible: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => plausible,
        1 => any_text(),
        1 => (plausible, any::<char>(), plausible).prop_map(|(a, c, b)| format!("{a}{c}{b}")),
    ]
}

/// Strings shaped like web addresses: odd schemes and cases, IDN hosts, ports,
/// paths, queries and fragments of arbitrary characters.
fn url_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof!["https?", "HTTPS?", "hTtPs?", "ftp", "javascript", "data", ""];
    let separator = prop_oneof![Just("://"), Just(":"), Just(":/"), Just("//")];
    let host = prop_oneof![
        "[a-z0-9-]{1,12}(\\.[a-z]{2,6}){1,2}",
        Just("bücher.example".to_owned()),
        Just("例え.テスト".to_owned()),
        Just("пример.рф".to_owned()),
        Just("[2001:db8::1]".to_owned()),
        Just("192.0.2.7".to_owned()),
        "[a-z]{1,5}@[a-z]{1,5}\\.com",
        any_text(),
    ];
    let port = prop_oneof![Just(String::new()), "(:[0-9]{1,5})"];
    (
        scheme,
        separator,
        host,
        port,
        near("(/[a-zA-Z0-9._~%-]{0,12}){0,4}"),
        near("(\\?[a-z=&]{0,12})?(#[a-z]{0,8})?"),
    )
        .prop_map(|(s, sep, h, p, path, rest)| format!("{s}{sep}{h}{p}{path}{rest}"))
}

/// Targets that must be accepted: http(s), a plain or IDN host, and a path and
/// query of unreserved ASCII, percent escapes and non-ASCII letters.
fn valid_target() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("http"), Just("https"), Just("HTTPS")];
    let host = prop_oneof![
        "[a-z][a-z0-9]{0,10}(\\.[a-z]{2,6}){1,2}",
        Just("bücher.example".to_owned()),
        Just("пример.рф".to_owned()),
        Just("例え.テスト".to_owned()),
    ];
    let path = "(/[a-zA-Z0-9._~!$&'()*+,;=:@éßü日本-]{0,10}|/%[0-9A-F]{2}){0,5}";
    let query = "(\\?[a-zA-Z0-9=&%é/?-]{0,16})?(#[a-zA-Z0-9ü-]{0,8})?";
    (scheme, host, path, query).prop_map(|(s, h, p, q)| format!("{s}://{h}{p}{q}"))
}

/// What a `Location` header may hold: visible ASCII only, no space or control.
fn is_visible_ascii(value: &str) -> bool {
    value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn link_to(target: &str) -> Link {
    Link { url_id: 1, short_code: "abc123".into(), original_url: target.to_owned() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn usernames_accept_only_what_the_rule_allows(raw in near("[a-zA-Z0-9_.é-]{1,160}")) {
        if let Ok(username) = Username::parse(&raw) {
            prop_assert_eq!(username.as_str(), raw.as_str());
            prop_assert!((1..=Username::MAX_CHARS).contains(&raw.chars().count()));
            prop_assert!(!raw.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
    }

    #[test]
    fn emails_accept_only_trimmed_plausible_addresses(
        raw in near("\\s?[a-zA-Z0-9.+_'\"-]{1,20}@[a-z0-9-]{1,10}(\\.[a-z]{1,4}){1,2}\\s?"),
    ) {
        if let Ok(email) = Email::parse(&raw) {
            prop_assert_eq!(email.as_str(), raw.trim());
            prop_assert!(email.as_str().chars().count() <= Email::MAX_CHARS);
            let (local, domain) = email.as_str().rsplit_once('@').unwrap();
            prop_assert!(!local.is_empty() && domain.contains('.'));
            prop_assert_eq!(email.key(), email.as_str().to_lowercase());
        }
    }

    #[test]
    fn short_codes_accept_only_unreserved_plain_words(raw in near("[a-zA-Z0-9_-]{1,34}")) {
        if let Ok(code) = ShortCode::parse(&raw) {
            prop_assert_eq!(code.as_str(), raw.as_str());
            prop_assert!((1..=ShortCode::MAX_LEN).contains(&raw.len()));
            prop_assert!(raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            prop_assert!(!crate::RESERVED_PATHS.iter().any(|p| p.eq_ignore_ascii_case(&raw)));
        }
    }

    #[test]
    fn other_text_fields_never_panic(raw in any_text()) {
        if let Ok(title) = Title::parse(&raw) {
            prop_assert!(!title.as_str().contains('\0'));
        }
        if let Ok(event_type) = EventType::parse(&raw) {
            prop_assert!(!event_type.as_str().trim().is_empty());
            prop_assert!(!event_type.as_str().chars().any(char::is_control));
        }
        if let Ok(name) = KeyName::parse(&raw) {
            prop_assert!(name.as_str().is_ascii() && !name.as_str().is_empty());
        }
        let _ = parse_timestamp(&raw);
    }

    #[test]
    fn any_target_is_refused_or_locates_in_visible_ascii(raw in prop_oneof![url_like(), any_text()]) {
        if let Ok(target) = TargetUrl::parse(&raw) {
            prop_assert_eq!(target.as_str(), raw.as_str(), "stored byte for byte");
            prop_assert!(is_visible_ascii(target.location()), "{:?}", target.location());
            let lower = raw.to_ascii_lowercase();
            prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
            let located = url::Url::parse(target.location()).expect("the location is a URL");
            prop_assert!(located.host_str().is_some_and(|h| !h.is_empty()));
            prop_assert!(located.username().is_empty() && located.password().is_none());
            let link = link_to(&raw);
            let location = link.location();
            prop_assert_eq!(location.as_ref(), target.location());
        }
    }

    #[test]
    fn well_formed_targets_are_accepted_and_located_in_ascii(raw in valid_target()) {
        let target = TargetUrl::parse(&raw);
        prop_assert!(target.is_ok(), "{:?} refused: {:?}", raw, target);
        let target = target.unwrap();
        prop_assert_eq!(target.as_str(), raw.as_str());
        prop_assert!(is_visible_ascii(target.location()), "{:?}", target.location());
        if raw.is_ascii() {
            prop_assert_eq!(target.location(), raw.as_str(), "ASCII targets are served as stored");
        }
    }

    /// Even a stored row that never passed validation redirects with a header
    /// value that cannot split the response.
    #[test]
    fn any_stored_target_locates_in_visible_ascii(raw in prop_oneof![url_like(), any_text()]) {
        let link = link_to(&raw);
        let location = link.location();
        prop_assert!(is_visible_ascii(&location), "{:?}", location);
    }

    #[test]
    fn pages_never_overflow(number: u32, size: u32) {
        match Page::new(number, size) {
            None => prop_assert!(number == 0 || size == 0),
            Some(page) => {
                prop_assert!(page.size() <= Page::MAX_SIZE);
                prop_assert_eq!(page.offset(), u64::from(number - 1) * u64::from(page.size()));
            }
        }
    }

    #[test]
    fn import_rows_are_validated_without_panicking(
        id in prop::option::of(near("-?[0-9]{1,20}")),
        username in prop::option::of(near("[a-z0-9_]{1,12}")),
        email in prop::option::of(near("[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}")),
        created_at in prop::option::of(near("20[0-9]{2}-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]:[0-5][0-9]")),
    ) {
        let now = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let row = ImportRow { line: 2, id, username, email, created_at };
        match row.clone().validate(now) {
            Ok(user) => {
                prop_assert!(user.id.is_none_or(|id| id > 0));
                prop_assert_eq!(Some(user.username.as_str()), row.username.as_deref().map(str::trim));
            }
            Err(rejection) => {
                prop_assert_eq!(rejection.line, 2);
                prop_assert!(!rejection.reason.is_empty());
            }
        }
    }
}
