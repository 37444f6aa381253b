//! API keys: the credential of `AUTH_MODE=api-key`. A key is a random secret
//! shown once when it is made; the store keeps only its SHA-256 digest, so a
//! copy of the database gives no usable key.
//!
//! Why a fast hash is enough: slow password hashes (argon2, bcrypt) exist
//! because passwords are guessable and a stolen digest can be attacked with a
//! dictionary. A key here is 256 bits from the CSPRNG; no dictionary holds it and
//! 2^256 SHA-256 evaluations are out of reach, so stretching would only add
//! latency to every authenticated write. A fast, unsalted digest also lets the
//! store look a presented key up by an index on the digest.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDateTime;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::Refusal;
use crate::ports::{self, ApiKeyRepository, Clock, SystemClock};

pub type ApiKeyId = i64;

/// An operator's name for a key (`ci`, `partner-acme`): 1 to 64 characters of
/// `[A-Za-z0-9._-]`, unique among all keys, revoked ones included, so a name
/// always means one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyName(String);

impl KeyName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return Err(format!("must be 1 to {} characters", Self::MAX_CHARS));
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err("may contain only letters, digits, '.', '_' and '-'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key's secret, as handed to its holder once. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// Every key starts with this, so a leaked key is easy to spot in a log or a
    /// repository scan.
    pub const PREFIX: &'static str = "shk_";
    /// 43 characters of 62 carry 256 bits (62^43 > 2^256).
    const RANDOM_CHARS: usize = 43;
    const ALPHABET: &'static [u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// A fresh key from the thread-local CSPRNG (ChaCha, seeded by the OS).
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let random: String = (0..Self::RANDOM_CHARS)
            .map(|_| char::from(Self::ALPHABET[rng.random_range(0..Self::ALPHABET.len())]))
            .collect();
        Self(format!("{}{random}", Self::PREFIX))
    }

    /// The secret itself: print it once, to whoever asked for the key.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// The SHA-256 digest of a key: all the store ever holds of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.as_bytes()).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is not secret, but eight hex digits identify it well enough.
        write!(f, "KeyHash({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// A key as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub created_at: NaiveDateTime,
    /// When it was revoked; a revoked key is refused for ever.
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKey {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// A key to store: its name and digest, never its secret.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: KeyName,
    pub hash: KeyHash,
    pub created_at: NaiveDateTime,
}

/// Which key an operator means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySelector {
    Id(ApiKeyId),
    Name(KeyName),
}

impl fmt::Display for KeySelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "id {id}"),
            Self::Name(name) => write!(f, "name {:?}", name.as_str()),
        }
    }
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// A live key.
    Valid(ApiKey),
    /// A real key that was revoked.
    Revoked(ApiKey),
    /// No key has this secret.
    Unknown,
}

impl KeyCheck {
    /// Longest value worth hashing: real keys are 47 characters, and anything far
    /// longer is refused without work.
    const MAX_PRESENTED: usize = 256;
}

/// The use cases of API keys over their repository.
#[derive(Clone)]
pub struct ApiKeys<R> {
    repository: R,
    clock: Arc<dyn Clock>,
}

impl<R> fmt::Debug for ApiKeys<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys").finish_non_exhaustive()
    }
}

impl<R: ApiKeyRepository> ApiKeys<R> {
    pub fn new(repository: R) -> Self {
        Self { repository, clock: Arc::new(SystemClock) }
    }

    /// Makes a key named `name` and returns it with its secret, which exists only
    /// in this answer: the store keeps the digest.
    pub async fn create(&self, name: KeyName) -> ports::Result<(ApiKey, ApiKeySecret)> {
        let secret = ApiKeySecret::generate();
        let key = NewApiKey { name, hash: secret.hash(), created_at: self.clock.now() };
        let key = self.repository.create_api_key(key).await?;
        Ok((key, secret))
    }

    pub async fn list(&self) -> ports::Result<Vec<ApiKey>> {
        self.repository.list_api_keys().await
    }

    pub async fn revoke(&self, key: &KeySelector) -> ports::Result<ApiKey> {
        self.repository.revoke_api_key(key, self.clock.now()).await
    }

    /// What the key a client presented is. Only its digest is looked up; an
    /// absurdly long value is unknown without hashing it.
    pub async fn check(&self, presented: &str) -> ports::Result<KeyCheck> {
        if presented.is_empty() || presented.len() > KeyCheck::MAX_PRESENTED {
            return Ok(KeyCheck::Unknown);
        }
        Ok(match self.repository.find_api_key(&KeyHash::of(presented)).await? {
            None => KeyCheck::Unknown,
            Some(key) if key.is_revoked() => KeyCheck::Revoked(key),
            Some(key) => KeyCheck::Valid(key),
        })
    }
}

/// [`ApiKeys::check`] behind a trait object, so the HTTP adapter can check keys
/// without knowing the store's type.
pub trait KeyChecker: Send + Sync + fmt::Debug + 'static {
    fn check<'a>(&'a self, presented: &'a str) -> BoxFuture<'a, ports::Result<KeyCheck>>;
}

impl<R: ApiKeyRepository> KeyChecker for ApiKeys<R> {
    fn check<'a>(&'a self, presented: &'a str) -> BoxFuture<'a, ports::Result<KeyCheck>> {
        ApiKeys::check(self, presented).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_words() {
        for good in ["ci", "partner-acme", "deploy_2026.01", &"x".repeat(64)] {
            assert!(KeyName::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", "has space", "slash/y", "é", &"x".repeat(65)] {
            assert!(KeyName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_long_random_and_hidden_from_debug() {
        let (a, b) = (ApiKeySecret::generate(), ApiKeySecret::generate());
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), ApiKeySecret::PREFIX.len() + 43);
        assert!(a.expose().starts_with("shk_"));
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
        assert_eq!(a.hash(), KeyHash::of(a.expose()));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn digests_are_sha256() {
        // SHA-256("abc"), from FIPS 180-2.
        let digest = KeyHash::of("abc");
        assert_eq!(digest.as_bytes()[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
