//! The shortener's domain: what users, short links and analytics events are, the
//! rules they obey, the ports the outside world must implement (repositories, a
//! clock, a short-code generator) and the use cases built on them.
//!
//! Nothing here does I/O or knows a web framework, a database or a cache: adapters
//! depend on this crate, never the reverse. Every value that enters a use case has
//! been parsed into a validated type first ([`Username`], [`Email`], [`ShortCode`],
//! [`TargetUrl`], ...), so a handler cannot hand raw strings to a repository.

pub mod api_keys;
pub mod cache;
mod error;
pub mod import;
mod models;
pub mod ports;
mod privacy;
mod service;
mod values;

pub use error::{Error, FieldErrors};
pub use models::*;
pub use privacy::anonymise_ip;
pub use service::{ClickContext, CreateEvent, CreateUrl, Followed, Shortener};
pub use values::*;
