//! The HTTP contract of `api-contract.md`, checked against the real application on
//! every store: each case below runs once per store kind.

/// Declares each case once and generates one `#[tokio::test]` per store.
macro_rules! on_every_store {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            async fn $name($app: testkit::TestApp) $body
        )*
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(testkit::spawn_app(testkit::StoreKind::Memory).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(testkit::spawn_app(testkit::StoreKind::Postgres).await).await
                }
            )*
        }
    };
}

mod bad_input;
mod bulk;
mod events;
mod openapi;
mod pagination;
mod redirect;
mod urls;
mod users;
