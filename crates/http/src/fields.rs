//! Strict reading of JSON request bodies. A body is first accepted as a JSON object
//! (anything else is a 400 from the extractor); each field is then checked for its
//! exact JSON type and parsed into its domain type here, collecting every refusal
//! so that one 422 names all the fields at fault.

use domain::{Details, Error, FieldErrors, Refusal};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A field of a partial update: absent (leave it), `null` (clear it) or a value.
#[derive(Debug)]
pub enum Patch<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    /// `None` when absent, `Some(None)` when cleared.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Value(value) => Some(Some(value)),
        }
    }
}

/// Reads typed fields out of a JSON object, recording what is wrong with each.
/// After [`Fields::finish`] succeeds, a `None` from any reader means "absent".
pub struct Fields<'a> {
    body: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(body: &'a Map<String, Value>) -> Self {
        Self { body, errors: FieldErrors::default() }
    }

    /// A string field that must be present.
    pub fn required<T>(&mut self, name: &str, parse: fn(&str) -> Result<T, Refusal>) -> Option<T> {
        match self.body.get(name) {
            None | Some(Value::Null) => self.refuse(name, "is required"),
            Some(value) => self.string(name, value, parse),
        }
    }

    /// A string field that may be absent, but not `null`.
    pub fn optional<T>(&mut self, name: &str, parse: fn(&str) -> Result<T, Refusal>) -> Option<T> {
        match self.body.get(name) {
            None => None,
            Some(Value::Null) => self.refuse(name, "must be a string"),
            Some(value) => self.string(name, value, parse),
        }
    }

    /// A string field that may be absent, `null` or a value.
    pub fn nullable<T>(&mut self, name: &str, parse: fn(&str) -> Result<T, Refusal>) -> Patch<T> {
        match self.body.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(value) => self.string(name, value, parse).map_or(Patch::Absent, Patch::Value),
        }
    }

    /// A JSON boolean, when present (`null` is no answer to a yes/no question).
    pub fn optional_bool(&mut self, name: &str) -> Option<bool> {
        let value = self.body.get(name)?;
        value.as_bool().or_else(|| self.refuse(name, "must be a boolean (true or false)"))
    }

    /// An integer id, when present and not `null`. JSON has one number type, so
    /// `7.0` is the integer 7 (as JSON Schema says); `7.5` is refused.
    pub fn optional_id(&mut self, name: &str) -> Option<i64> {
        let value = self.body.get(name).filter(|v| !v.is_null())?;
        value
            .as_i64()
            .or_else(|| value.as_f64().and_then(integral))
            .or_else(|| self.refuse(name, "must be an integer id"))
    }

    /// A JSON object, when present and not `null`.
    pub fn optional_object(&mut self, name: &str) -> Option<Details> {
        let value = self.body.get(name).filter(|v| !v.is_null())?;
        let Some(object) = value.as_object() else {
            return self.refuse(name, "must be a JSON object");
        };
        match domain::check_details(object) {
            Ok(()) => Some(object.clone()),
            Err(why) => self.refuse(name, why),
        }
    }

    /// `Ok` when every field read so far was acceptable, a 422 naming them otherwise.
    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.into_result(()).map_err(ApiError::Domain)
    }

    fn string<T>(
        &mut self,
        name: &str,
        value: &Value,
        parse: fn(&str) -> Result<T, Refusal>,
    ) -> Option<T> {
        let Some(text) = value.as_str() else {
            return self.refuse(name, "must be a string");
        };
        parse(text).map_or_else(|why| self.refuse(name, why), Some)
    }

    fn refuse<T>(&mut self, name: &str, why: impl Into<String>) -> Option<T> {
        self.errors.add(name, why);
        None
    }
}

/// The integer a float with no fraction stands for (JSON Schema's integers:
/// `7.0` and `7e0` are 7), within the range where every integer has an exact
/// float (2^53). NaN and the infinities have none.
pub(crate) fn integral(number: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    // Lossless: the range check keeps the number exact.
    (number.fract() == 0.0 && number.abs() <= EXACT).then_some(number as i64)
}

/// The value of a required field after [`Fields::finish`] succeeded.
pub fn present<T>(value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::Domain(Error::Internal("a checked field is missing".into())))
}
