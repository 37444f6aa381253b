//! What one simulated client does: a weighted mix of requests, the same in every
//! step of the plan. Out of every 100 transactions, 70 are redirects of existing
//! active codes, 24 are reads (lists, single resources, stats) and 6 are writes
//! (new URLs, title updates, new users). A user waits 0.5 to 1.5 s between
//! transactions, so each user makes about one request a second, the shape of the
//! reference runs of the Flask implementation.

use std::sync::OnceLock;
use std::time::Duration;

use goose::goose::{GooseMethod, GooseResponse};
use goose::prelude::*;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

/// An active URL of the data under test, as `GET /urls` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ActiveUrl {
    pub id: u64,
    pub short_code: String,
    pub original_url: String,
    pub user_id: Option<u64>,
}

/// The active URLs, fetched once before the run starts.
static ACTIVE: OnceLock<Vec<ActiveUrl>> = OnceLock::new();

/// Fetches every active URL from `GET /urls?is_active=true` pages of 1000, with a
/// client of its own (these requests are not part of the measured load).
pub async fn load_active_urls(host: &str) -> Result<usize, String> {
    let client = reqwest::Client::new();
    let mut urls: Vec<ActiveUrl> = Vec::new();
    for page in 1.. {
        let url = format!("{host}/urls?is_active=true&per_page=1000&page={page}");
        let response = client.get(&url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
        let batch: Vec<ActiveUrl> =
            serde_json::from_slice(&body).map_err(|e| format!("GET {url}: {e}"))?;
        let last = batch.len() < 1000;
        urls.extend(batch);
        if last {
            break;
        }
    }
    if urls.is_empty() {
        return Err(format!(
            "{host} has no active URL to redirect; seed its database first: \
             DATABASE_URL=... shortener seed --users ../shared/seed-data/users.csv \
             --urls ../shared/seed-data/urls.csv --events ../shared/seed-data/events.csv"
        ));
    }
    let count = urls.len();
    let _ = ACTIVE.set(urls);
    Ok(count)
}

fn random_active() -> &'static ActiveUrl {
    let urls = ACTIVE.get().expect("active URLs are loaded before the run");
    &urls[rand::rng().random_range(0..urls.len())]
}

/// What a user remembers between transactions: the URLs it created.
#[derive(Debug, Clone, Default)]
struct Session {
    created: Vec<u64>,
}

/// The actions of the mix and their weights (out of 100).
const MIX: &[(Action, u32)] = &[
    (Action::Redirect, 70),
    (Action::ListUrls, 5),
    (Action::ListUsers, 2),
    (Action::UrlEvents, 3),
    (Action::GetUrl, 5),
    (Action::UrlStats, 3),
    (Action::GetUser, 3),
    (Action::CreateUrl, 5),
    (Action::UpdateUrl, 3),
    (Action::CreateUser, 1),
];

#[derive(Debug, Clone, Copy)]
enum Action {
    Redirect,
    ListUrls,
    ListUsers,
    UrlEvents,
    GetUrl,
    UrlStats,
    GetUser,
    CreateUrl,
    UpdateUrl,
    CreateUser,
}

/// The mix, registered under `name` (one scenario per step of the plan). Each
/// iteration draws one action by weight, so every user makes the whole mix
/// from its first requests on (goose's own weights repeat one fixed order).
pub fn scenario(name: &str) -> Result<Scenario, GooseError> {
    Ok(scenario!(name)
        .set_wait_time(Duration::from_millis(500), Duration::from_millis(1500))?
        .register_transaction(transaction!(start).set_on_start().set_name("start"))
        .register_transaction(transaction!(act).set_name("client")))
}

async fn act(user: &mut GooseUser) -> TransactionResult {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut draw = rand::rng().random_range(0..total);
    let action = MIX
        .iter()
        .find_map(|&(action, weight)| {
            if draw < weight {
                Some(action)
            } else {
                draw -= weight;
                None
            }
        })
        .unwrap_or(Action::Redirect);
    match action {
        Action::Redirect => redirect(user).await,
        Action::ListUrls => list_urls(user).await,
        Action::ListUsers => list_users(user).await,
        Action::UrlEvents => url_events(user).await,
        Action::GetUrl => get_url(user).await,
        Action::UrlStats => url_stats(user).await,
        Action::GetUser => get_user(user).await,
        Action::CreateUrl => create_url(user).await,
        Action::UpdateUrl => update_url(user).await,
        Action::CreateUser => create_user(user).await,
    }
}

/// Each user gets a client that does not follow redirects: the 302 is the answer.
async fn start(user: &mut GooseUser) -> TransactionResult {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .user_agent("shortener-loadtests");
    user.set_client_builder(builder).await?;
    user.set_session_data(Session::default());
    Ok(())
}

/// Sends `method path` (with a JSON body, if any), recorded under `name`, expecting
/// `status`.
async fn send(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    body: Option<&Value>,
    status: u16,
) -> Result<GooseResponse, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, path)?;
    if let Some(body) = body {
        builder = builder.json(body);
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(path)
        .name(name)
        .expect_status_code(status)
        .set_request_builder(builder)
        .build();
    user.request(request).await
}

async fn get(user: &mut GooseUser, path: &str, name: &str) -> TransactionResult {
    send(user, GooseMethod::Get, path, name, None, 200).await?;
    Ok(())
}

/// `GET /{short_code}` of an active code: 302 to its target.
async fn redirect(user: &mut GooseUser) -> TransactionResult {
    let url = random_active();
    let path = format!("/{}", url.short_code);
    let mut goose = send(user, GooseMethod::Get, &path, "/{short_code}", None, 302).await?;
    if let Ok(response) = &goose.response {
        let location = response.headers().get("location").and_then(|v| v.to_str().ok());
        // A target with non-ASCII characters is sent percent-encoded: compare ASCII ones.
        if url.original_url.is_ascii() && location != Some(url.original_url.as_str()) {
            let headers = response.headers().clone();
            return user.set_failure("wrong Location", &mut goose.request, Some(&headers), None);
        }
    }
    Ok(())
}

async fn list_urls(user: &mut GooseUser) -> TransactionResult {
    let page = rand::rng().random_range(1..=100);
    get(user, &format!("/urls?page={page}&per_page=20"), "/urls?page").await
}

async fn list_users(user: &mut GooseUser) -> TransactionResult {
    let page = rand::rng().random_range(1..=20);
    get(user, &format!("/users?page={page}&per_page=20"), "/users?page").await
}

async fn url_events(user: &mut GooseUser) -> TransactionResult {
    let id = random_active().id;
    get(user, &format!("/events?url_id={id}&per_page=20"), "/events?url_id").await
}

async fn get_url(user: &mut GooseUser) -> TransactionResult {
    let id = random_active().id;
    get(user, &format!("/urls/{id}"), "/urls/{id}").await
}

async fn url_stats(user: &mut GooseUser) -> TransactionResult {
    let id = random_active().id;
    get(user, &format!("/urls/{id}/stats"), "/urls/{id}/stats").await
}

async fn get_user(user: &mut GooseUser) -> TransactionResult {
    // Most seed URLs have an owner; the few that do not are skipped.
    let Some(id) = (0..5).find_map(|_| random_active().user_id) else {
        return Ok(());
    };
    get(user, &format!("/users/{id}"), "/users/{id}").await
}

/// A random token for unique names and targets.
fn token() -> String {
    format!("{:012x}", rand::rng().random::<u64>() & 0xffff_ffff_ffff)
}

async fn create_url(user: &mut GooseUser) -> TransactionResult {
    let body = json!({
        "original_url": format!("https://example.com/load/{}", token()),
        "title": "load test",
    });
    let goose = send(user, GooseMethod::Post, "/urls", "/urls", Some(&body), 201).await?;
    if let Ok(response) = goose.response
        && response.status().as_u16() == 201
        && let Ok(created) = response.json::<Value>().await
        && let Some(id) = created.get("id").and_then(Value::as_u64)
        && let Some(session) = user.get_session_data_mut::<Session>()
    {
        session.created.push(id);
    }
    Ok(())
}

/// A new title for one of this user's URLs (never a seed URL: their redirects
/// must keep working); a user with none creates one first.
async fn update_url(user: &mut GooseUser) -> TransactionResult {
    let mine = user.get_session_data::<Session>().and_then(|s| {
        (!s.created.is_empty()).then(|| s.created[rand::rng().random_range(0..s.created.len())])
    });
    let Some(id) = mine else {
        return create_url(user).await;
    };
    let body = json!({ "title": format!("load test {}", token()) });
    send(user, GooseMethod::Put, &format!("/urls/{id}"), "/urls/{id}", Some(&body), 200).await?;
    Ok(())
}

async fn create_user(user: &mut GooseUser) -> TransactionResult {
    let name = format!("load{}", token());
    let body = json!({ "username": name, "email": format!("{name}@load.example") });
    send(user, GooseMethod::Post, "/users", "/users", Some(&body), 201).await?;
    Ok(())
}
