//! `/urls`: short links, their statistics and their events.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::cache::{CacheOutcome, Cached};
use domain::ports::Store;
use domain::{CreateUrl, Error, ShortCode, Shortener, TargetUrl, Title, UrlFilter, UrlPatch};

use crate::dto::{EventBody, StatsBody, UrlBody};
use crate::error::ApiError;
use crate::extract::{JsonObject, ListQuery, path_id};
use crate::fields::{Fields, present};

type App<S> = web::Data<Shortener<S>>;

pub async fn create<S: Store>(app: App<S>, body: JsonObject) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body);
    let original_url = fields.required("original_url", TargetUrl::parse);
    let title = fields.nullable("title", Title::parse).into_change().flatten();
    let short_code = fields.nullable("short_code", ShortCode::parse).into_change().flatten();
    let user_id = fields.optional_id("user_id");
    fields.finish()?;
    let request = CreateUrl { original_url: present(original_url)?, title, user_id, short_code };
    let url = app.create_url(request).await?;
    Ok(HttpResponse::Created().json(UrlBody::from(&url)))
}

pub async fn list<S: Store>(
    app: App<S>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&query)?;
    let filter = UrlFilter {
        user_id: query.id("user_id")?,
        is_active: query.flag("is_active")?,
        short_code: query.text("short_code"),
    };
    let urls = app.list_urls(&filter, query.page).await?;
    Ok(super::list_response(&req, &query, &urls, UrlBody::from))
}

pub async fn get<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let url = app.get_url(path_id(&id, Error::UrlNotFound)?).await?;
    Ok(HttpResponse::Ok().json(UrlBody::from(&url)))
}

pub async fn update<S: Store>(
    app: App<S>,
    id: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Error::UrlNotFound)?;
    let mut fields = Fields::new(&body);
    let patch = UrlPatch {
        title: fields.nullable("title", Title::parse).into_change(),
        original_url: fields.optional("original_url", TargetUrl::parse),
        is_active: fields.optional_bool("is_active"),
    };
    fields.finish()?;
    let url = app.update_url(id, patch).await?;
    Ok(HttpResponse::Ok().json(UrlBody::from(&url)))
}

pub async fn delete<S: Store>(
    app: App<S>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.delete_url(path_id(&id, Error::UrlNotFound)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn stats<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (url, stats) = app.url_stats(path_id(&id, Error::UrlNotFound)?).await?;
    Ok(HttpResponse::Ok().json(StatsBody::new(&url, &stats)))
}

pub async fn events<S: Store>(
    app: App<S>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Error::UrlNotFound)?;
    let query = ListQuery::parse(&query)?;
    let events = app.url_events(id, query.page).await?;
    let events = Cached { value: events, outcome: CacheOutcome::Bypass };
    Ok(super::list_response(&req, &query, &events, EventBody::from))
}
