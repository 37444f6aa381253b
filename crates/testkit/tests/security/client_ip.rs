//! The client's address comes from `X-Forwarded-For` only when the socket's peer
//! is a trusted proxy, and clicks keep it anonymised.

use reqwest::StatusCode;
use testkit::{StoreKind, spawn_app, spawn_app_with};

use super::{click_details, client_from, follow, new_code};

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // The default trusts nobody: a client on 127.0.0.1 claiming another address.
    let app = spawn_app(StoreKind::Memory).await;
    let code = new_code(&app).await;
    let response = follow(&app, &app.client, &code, Some("203.0.113.77")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let clicks = click_details(&app, &code).await;
    assert_eq!(clicks.len(), 1);
    assert_eq!(clicks[0]["client_network"], "127.0.0.0", "the socket's peer, anonymised");
}

#[tokio::test]
async fn only_the_configured_proxy_is_believed() {
    // Nginx on 127.0.0.2; a client reaching the replica directly on 127.0.0.1.
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.trusted_proxies = "127.0.0.2".parse().unwrap();
    })
    .await;
    let code = new_code(&app).await;
    let direct = client_from("127.0.0.1");
    let proxy = client_from("127.0.0.2");
    follow(&app, &direct, &code, Some("203.0.113.77")).await;
    // The client prepended a lie; the proxy appended the address it saw.
    follow(&app, &proxy, &code, Some("198.51.100.1, 203.0.113.77")).await;
    follow(&app, &proxy, &code, Some("2001:db8:1:2::7")).await;
    follow(&app, &proxy, &code, None).await;
    let networks: Vec<_> =
        click_details(&app, &code).await.iter().map(|d| d["client_network"].clone()).collect();
    assert_eq!(
        networks,
        ["127.0.0.0", "203.0.113.0", "2001:db8:1::", "127.0.0.0"],
        "direct peer; right-most untrusted hop /24; IPv6 /48; the proxy itself"
    );
}

#[tokio::test]
async fn the_full_address_is_never_stored() {
    let app = spawn_app_with(StoreKind::Memory, |config| {
        config.trusted_proxies = "127.0.0.1,::1".parse().unwrap();
    })
    .await;
    let code = new_code(&app).await;
    follow(&app, &app.client, &code, Some("203.0.113.77")).await;
    let events = app.get("/events?event_type=click").await.text().await.unwrap();
    assert!(!events.contains("203.0.113.77"), "{events}");
    assert!(events.contains("203.0.113.0"), "{events}");
}
