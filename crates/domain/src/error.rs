use std::collections::BTreeMap;

/// Every way a use case can fail. The HTTP adapter maps each variant to one status
/// code, in one place; database and cache errors reach it only as
/// [`Error::Unavailable`] or [`Error::Internal`], with their text kept out of
/// responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// One or more fields failed validation.
    #[error("validation failed")]
    Invalid(FieldErrors),
    #[error("User not found")]
    UserNotFound,
    #[error("URL not found")]
    UrlNotFound,
    #[error("Event not found")]
    EventNotFound,
    #[error("Username already exists")]
    DuplicateUsername,
    #[error("Email already exists")]
    DuplicateEmail,
    #[error("Short code already exists")]
    DuplicateShortCode,
    #[error("API key name already exists")]
    DuplicateKeyName,
    #[error("API key not found")]
    KeyNotFound,
    /// A dependency the use case needs (the database) cannot be reached now; the
    /// request may be retried.
    #[error("service temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state; never the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid(field: &str, why: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, why);
        Self::Invalid(errors)
    }
}

/// Field name to the reason it was refused, sorted by field for stable output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// Records why `field` was refused; the first reason given for a field wins.
    pub fn add(&mut self, field: &str, why: impl Into<String>) {
        self.0.entry(field.to_owned()).or_insert_with(|| why.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `Ok(value)` when no field was refused, the collected errors otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, Error> {
        if self.is_empty() { Ok(value) } else { Err(Error::Invalid(self)) }
    }
}
