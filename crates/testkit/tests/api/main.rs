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

/// Like [`on_every_store!`], for cases that also drive the domain service over
/// the app's own store, with what no request can choose (the code generator).
/// Clones of a store share it, so what the service writes, the app reads.
macro_rules! on_every_shared_store {
    ($(async fn $name:ident($app:ident: TestApp, $store:ident: impl Store) $body:block)*) => {
        $(
            async fn $name<S: domain::ports::Store>($app: testkit::TestApp, $store: S) $body
        )*
        mod service_on_memory {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = store_memory::MemoryStore::new();
                    let choice = shortener::StoreChoice::Memory(store.clone());
                    super::$name(testkit::spawn_app_on(choice, |_| {}).await, store).await
                }
            )*
        }
        mod service_on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = testkit::postgres::fresh_store().await;
                    let choice = shortener::StoreChoice::Postgres(store.clone());
                    super::$name(testkit::spawn_app_on(choice, |_| {}).await, store).await
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
