//! `/users`: accounts, and their bulk import from CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::ports::Store;
use domain::{Email, Error, Shortener, UserFilter, UserPatch, Username};

use crate::dto::UserBody;
use crate::error::ApiError;
use crate::extract::{JsonObject, ListQuery, path_id};
use crate::fields::{Fields, present};

type App<S> = web::Data<Shortener<S>>;

pub async fn create<S: Store>(app: App<S>, body: JsonObject) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body);
    let username = fields.required("username", Username::parse);
    let email = fields.required("email", Email::parse);
    fields.finish()?;
    let user = app.create_user(present(username)?, present(email)?).await?;
    Ok(HttpResponse::Created().json(UserBody::from(&user)))
}

pub async fn list<S: Store>(
    app: App<S>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&query)?;
    let filter = UserFilter { username: query.text("username"), email: query.text("email") };
    let users = app.list_users(&filter, query.page).await?;
    Ok(super::list_response(&req, &query, &users, UserBody::from))
}

pub async fn get<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = app.get_user(path_id(&id, Error::UserNotFound)?).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(&user)))
}

pub async fn update<S: Store>(
    app: App<S>,
    id: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Error::UserNotFound)?;
    let mut fields = Fields::new(&body);
    let patch = UserPatch {
        username: fields.optional("username", Username::parse),
        email: fields.optional("email", Email::parse),
    };
    fields.finish()?;
    let user = app.update_user(id, patch).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(&user)))
}

pub async fn delete<S: Store>(
    app: App<S>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.delete_user(path_id(&id, Error::UserNotFound)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
