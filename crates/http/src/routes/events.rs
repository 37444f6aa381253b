//! `/events`: the analytics log.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::ports::Store;
use domain::{CreateEvent, Error, EventFilter, EventType, Shortener};

use crate::dto::EventBody;
use crate::error::ApiError;
use crate::extract::{JsonObject, ListQuery, path_id};
use crate::fields::{Fields, present};

type App<S> = web::Data<Shortener<S>>;

pub async fn create<S: Store>(app: App<S>, body: JsonObject) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body);
    let event_type = fields.required("event_type", EventType::parse);
    let url_id = fields.optional_id("url_id");
    let user_id = fields.optional_id("user_id");
    let details = fields.optional_object("details").unwrap_or_default();
    fields.finish()?;
    let request = CreateEvent { event_type: present(event_type)?, url_id, user_id, details };
    let event = app.create_event(request).await?;
    Ok(HttpResponse::Created().json(EventBody::from(&event)))
}

pub async fn list<S: Store>(
    app: App<S>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&query)?;
    let filter = EventFilter {
        url_id: query.id("url_id")?,
        user_id: query.id("user_id")?,
        event_type: query.text("event_type"),
    };
    let events = app.list_events(&filter, query.page).await?;
    Ok(super::list_response(&req, &query, &events, EventBody::from))
}

pub async fn get<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let event = app.get_event(path_id(&id, Error::EventNotFound)?).await?;
    Ok(HttpResponse::Ok().json(EventBody::from(&event)))
}
