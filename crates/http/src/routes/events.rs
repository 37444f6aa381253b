//! `/events`: the analytics log.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::ports::Store;
use domain::{CreateEvent, Error, EventFilter, EventType, Shortener};

use crate::dto::EventBody;
use crate::error::ApiError;
use crate::extract::{JsonObject, ListQuery, path_id};
use crate::fields::{Fields, present};
use crate::openapi::schemas::{ErrorBody, EventListQuery, NewEvent, event_example};

type App<S> = web::Data<Shortener<S>>;

/// Record an event
#[utoipa::path(
    post, path = "/events", tag = "events", operation_id = "createEvent",
    request_body(content = NewEvent, content_type = "application/json"),
    responses(
        (status = 201, description = "The new event", body = EventBody,
            links(("GetEvent" = (operation_id = "getEvent", parameters(("id" = "$response.body#/id"))))),
            example = json!({"id": 8, "url_id": 1, "user_id": 1, "event_type": "share", "timestamp": "2025-09-19T22:31:00", "details": {"channel": "email"}})),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody),
        (status = 404, description = "`url_id` or `user_id` names nothing", body = ErrorBody,
            example = json!({"error": "URL not found"})),
        (status = 413, description = "The body is over the size limit", body = ErrorBody),
        (status = 422, description = "A field is missing or wrong", body = ErrorBody,
            example = json!({"error": "Validation failed", "details": {"details": "must be a JSON object"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
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

/// List events
///
/// Ordered by id.
#[utoipa::path(
    get, path = "/events", tag = "events", operation_id = "listEvents",
    params(EventListQuery),
    responses(
        (status = 200, description = "One page of events", body = [EventBody],
            headers(
                ("X-Total-Count" = u64, description = "Events matching the filters"),
                ("Link" = String, description = "RFC 8288 links: first, last, and prev/next when they exist"),
            ),
            example = json!([event_example()])),
        (status = 400, description = "A bad page, page size or filter", body = ErrorBody,
            example = json!({"error": "Invalid query parameter", "details": {"url_id": "must be an integer id"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn list<S: Store>(
    app: App<S>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&query)?;
    let filter = EventFilter {
        url_id: query.id("url_id")?,
        user_id: query.id("user_id")?,
        event_type: query.text("event_type")?,
    };
    let events = app.list_events(&filter, query.page).await?;
    Ok(super::list_response(&req, &query, &events, EventBody::from))
}

/// Get an event
#[utoipa::path(
    get, path = "/events/{id}", tag = "events", operation_id = "getEvent",
    params(("id" = i64, Path, description = "The event's id", minimum = 1, example = 7)),
    responses(
        (status = 200, description = "The event", body = EventBody, example = event_example),
        (status = 404, description = "No such event", body = ErrorBody, example = json!({"error": "Event not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn get<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let event = app.get_event(path_id(&id, Error::EventNotFound)?).await?;
    Ok(HttpResponse::Ok().json(EventBody::from(&event)))
}
