//! Validated values. Each type can only be built through its `parse`, which says in
//! a sentence why a raw value was refused; holding one is proof it passed.

use std::fmt;

use rand::Rng;

/// Why a raw value was refused, as a sentence for the `details` of an error body.
pub type Refusal = String;

/// A user's handle: 1 to 150 characters, no whitespace or control characters,
/// unique exactly as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 150;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let chars = raw.chars().count();
        if chars == 0 {
            return Err("must not be empty".into());
        }
        if chars > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain whitespace or control characters".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address that looks deliverable (`local@domain.tld`). Stored trimmed as
/// entered; two addresses are the same account when their [`Email::key`]s match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let email = raw.trim();
        let refuse = || Err("must be an e-mail address like name@example.com".into());
        if email.is_empty() || email.chars().count() > Self::MAX_CHARS {
            return refuse();
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse();
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return refuse();
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let tld = labels.last().copied().unwrap_or_default();
        let plausible = !local.is_empty()
            && !local.contains('@')
            && labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && tld.chars().count() >= 2
            && tld.chars().all(char::is_alphabetic);
        if plausible { Ok(Self(email.to_owned())) } else { refuse() }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: case folded (whitespace is already gone).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// First path segments the service routes itself: a short code equal to one of
/// them would shadow the API, so none is ever handed out or accepted.
pub const RESERVED_PATHS: &[&str] = &[
    "health",
    "metrics",
    "users",
    "urls",
    "events",
    "docs",
    "openapi.json",
    "favicon.ico",
    "robots.txt",
];

/// The path segment a short link answers on. Case-sensitive: `AbC123` and `abc123`
/// are two codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortCode(String);

impl ShortCode {
    /// Length of the codes the service generates.
    pub const GENERATED_LEN: usize = 6;
    /// Longest custom code accepted.
    pub const MAX_LEN: usize = 32;
    const ALPHABET: &'static [u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// A custom code chosen by a client: 1 to 32 characters of `[A-Za-z0-9_-]`, not
    /// one of the [`RESERVED_PATHS`].
    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters", Self::MAX_LEN));
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err("may contain only letters, digits, '_' and '-'".into());
        }
        if Self::is_reserved(raw) {
            return Err("is reserved by the service".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh random code of [`Self::GENERATED_LEN`] characters of `[A-Za-z0-9]`,
    /// drawn from `rng` (a CSPRNG in production), never a reserved path.
    pub fn random(rng: &mut impl Rng) -> Self {
        loop {
            let code: String = (0..Self::GENERATED_LEN)
                .map(|_| char::from(Self::ALPHABET[rng.random_range(0..Self::ALPHABET.len())]))
                .collect();
            if !Self::is_reserved(&code) {
                return Self(code);
            }
        }
    }

    fn is_reserved(code: &str) -> bool {
        RESERVED_PATHS.iter().any(|path| path.eq_ignore_ascii_case(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a short link sends its visitors: an absolute `http`/`https` URL with a
/// host, stored byte for byte as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl {
    original: String,
    /// The `Location` header value: the original when it is ASCII already, else the
    /// URL standard's serialisation (punycode host, percent-encoded path).
    location: String,
}

impl TargetUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        // The URL parser strips tabs and newlines silently; a target carrying them is
        // almost always an injection attempt, so refuse them before parsing.
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain whitespace or control characters".into());
        }
        // Demand the `//` explicitly: the parser would accept `http:example.com`.
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err("must be an absolute http or https URL".into());
        }
        let parsed = url::Url::parse(raw).map_err(|e| format!("must be a valid URL ({e})"))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("must have a host".into());
        }
        // The URL parser lets a domain hold `*`, `!`, `$`, `'`, `(`... which no name
        // in the DNS can: such a host is junk or a probe. Non-ASCII names are
        // checked in their punycode form.
        if let Some(url::Host::Domain(domain)) = parsed.host() {
            let labels = domain.strip_suffix('.').unwrap_or(domain);
            let plausible = labels.split('.').all(|label| {
                !label.is_empty()
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
            if !plausible {
                return Err("must have a host name of letters, digits, '-' and '_'".into());
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("must not carry user information (user@host)".into());
        }
        let location = if raw.is_ascii() { raw.to_owned() } else { parsed.as_str().to_owned() };
        Ok(Self { original: raw.to_owned(), location })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Pure ASCII, safe for a `Location` header.
    pub fn location(&self) -> &str {
        &self.location
    }
}

/// A link's human title: up to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if raw.contains('\0') {
            return Err("must not contain NUL characters".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks an event's `details`: any JSON object whose keys and strings hold no
/// NUL character (U+0000, which no text column or JSON document of the store can
/// hold).
pub fn check_details(details: &crate::Details) -> Result<(), Refusal> {
    fn holds_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(holds_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v))
            }
            _ => false,
        }
    }
    if details.iter().any(|(key, value)| key.contains('\0') || holds_nul(value)) {
        Err("must not contain NUL characters (U+0000)".into())
    } else {
        Ok(())
    }
}

/// What an analytics event records (`click`, `created`, ...): 1 to 50 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType(String);

impl EventType {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        if raw.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn known(name: &'static str) -> Self {
        Self(name.to_owned())
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_refuse_whitespace_control_and_length() {
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("a\u{0}b").is_err());
        assert!(Username::parse(&"x".repeat(150)).is_ok());
        assert!(Username::parse(&"x".repeat(151)).is_err());
    }

    #[test]
    fn emails_are_trimmed_and_keyed_case_insensitively() {
        let email = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Alice@Example.COM");
        assert_eq!(email.key(), "alice@example.com");
        for bad in ["", "alice", "alice@", "@example.com", "a@b", "a@b.c", "a b@c.de", "a@b..de"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn short_codes_are_case_sensitive_and_never_reserved() {
        assert_ne!(ShortCode::parse("AbC123"), ShortCode::parse("abc123"));
        assert!(ShortCode::parse("health").is_err());
        assert!(ShortCode::parse("Metrics").is_err());
        assert!(ShortCode::parse("openapi.json").is_err());
        assert!(ShortCode::parse("a/b").is_err());
        assert!(ShortCode::parse(&"a".repeat(33)).is_err());
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let code = ShortCode::random(&mut rng);
            assert_eq!(code.as_str().len(), 6);
            assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn targets_must_be_absolute_http_urls_without_userinfo() {
        for good in [
            "https://example.com",
            "http://example.com/a?b=c#d",
            "HTTPS://EXAMPLE.com/%7e",
            "http://my_host.example.com.:8080/x*",
            "http://127.0.0.1:3000/",
            "http://[::1]/",
        ] {
            assert_eq!(TargetUrl::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "example.com",
            "word",
            "ftp://example.com",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http:example.com",
            "http://",
            "https://a@b.example/",
            "https://u:p@b.example/",
            "https://example.com/a b",
            "https://example.com/\r\nSet-Cookie:x",
            "https://exa\tmple.com",
            " https://example.com",
            "http://exa*mple.com/",
            "http://example.com*",
            "https://a..b.example/",
            "https://ex!ample.com/",
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn non_ascii_targets_keep_their_bytes_but_locate_in_ascii() {
        let target = TargetUrl::parse("https://bücher.example/straße?q=ü").unwrap();
        assert_eq!(target.as_str(), "https://bücher.example/straße?q=ü");
        assert!(target.location().is_ascii());
        assert!(target.location().starts_with("https://xn--bcher-kva.example/"));
    }
}
