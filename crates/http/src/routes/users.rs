//! `/users`: accounts, and their bulk import from CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::ports::Store;
use domain::{Email, Error, Shortener, UserFilter, UserPatch, Username};

use crate::dto::UserBody;
use crate::error::ApiError;
use crate::extract::{JsonObject, ListQuery, path_id};
use crate::fields::{Fields, present};
use crate::openapi::schemas::{ErrorBody, NewUser, UserChanges, UserListQuery, user_example};

type App<S> = web::Data<Shortener<S>>;

/// Create a user
///
/// Both fields are required strings. A username or e-mail that is already taken
/// is 409 (e-mails compare ignoring case).
#[utoipa::path(
    post, path = "/users", tag = "users", operation_id = "createUser",
    request_body(content = NewUser, content_type = "application/json"),
    responses(
        (status = 201, description = "The new user", body = UserBody, links(
                ("GetUser" = (operation_id = "getUser", parameters(("id" = "$response.body#/id")))),
                ("UpdateUser" = (operation_id = "updateUser", parameters(("id" = "$response.body#/id")))),
                ("DeleteUser" = (operation_id = "deleteUser", parameters(("id" = "$response.body#/id")))),
                ("ListUserUrls" = (operation_id = "listUrls", parameters(("user_id" = "$response.body#/id")))),
            ), example = user_example),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody,
            example = json!({"error": "Request body must be a JSON object"})),
        (status = 409, description = "The username or e-mail is taken", body = ErrorBody,
            example = json!({"error": "Username already exists"})),
        (status = 413, description = "The body is over the size limit", body = ErrorBody),
        (status = 422, description = "A field is missing or wrong", body = ErrorBody,
            example = json!({"error": "Validation failed", "details": {"username": "is required"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn create<S: Store>(app: App<S>, body: JsonObject) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body);
    let username = fields.required("username", Username::parse);
    let email = fields.required("email", Email::parse);
    fields.finish()?;
    let user = app.create_user(present(username)?, present(email)?).await?;
    Ok(HttpResponse::Created().json(UserBody::from(&user)))
}

/// List users
///
/// Ordered by id. The total count and the neighbouring pages are in the
/// `X-Total-Count` and `Link` headers.
#[utoipa::path(
    get, path = "/users", tag = "users", operation_id = "listUsers",
    params(UserListQuery),
    responses(
        (status = 200, description = "One page of users", body = [UserBody],
            headers(
                ("X-Total-Count" = u64, description = "Users matching the filters"),
                ("Link" = String, description = "RFC 8288 links: first, last, and prev/next when they exist"),
            ),
            example = json!([user_example()])),
        (status = 400, description = "A bad page, page size or filter", body = ErrorBody,
            example = json!({"error": "Invalid query parameter", "details": {"page": "must be a whole number from 1"}})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn list<S: Store>(
    app: App<S>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&query)?;
    let filter = UserFilter { username: query.text("username")?, email: query.text("email")? };
    let users = app.list_users(&filter, query.page).await?;
    Ok(super::list_response(&req, &query, &users, UserBody::from))
}

/// Get a user
#[utoipa::path(
    get, path = "/users/{id}", tag = "users", operation_id = "getUser",
    params(("id" = i64, Path, description = "The user's id", minimum = 1, example = 1)),
    responses(
        (status = 200, description = "The user", body = UserBody, example = user_example),
        (status = 404, description = "No such user", body = ErrorBody, example = json!({"error": "User not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn get<S: Store>(app: App<S>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = app.get_user(path_id(&id, Error::UserNotFound)?).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(&user)))
}

/// Update a user
///
/// A partial update: absent fields keep their value. Same rules as creation.
#[utoipa::path(
    put, path = "/users/{id}", tag = "users", operation_id = "updateUser",
    params(("id" = i64, Path, description = "The user's id", minimum = 1, example = 1)),
    request_body(content = UserChanges, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated user", body = UserBody, links(("GetUser" = (operation_id = "getUser", parameters(("id" = "$response.body#/id"))))), example = user_example),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody, example = json!({"error": "User not found"})),
        (status = 409, description = "The username or e-mail is taken", body = ErrorBody,
            example = json!({"error": "Email already exists"})),
        (status = 413, description = "The body is over the size limit", body = ErrorBody),
        (status = 422, description = "A field is wrong", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
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

/// Delete a user
///
/// The user's URLs and events stay, with `user_id` set to `null`.
#[utoipa::path(
    delete, path = "/users/{id}", tag = "users", operation_id = "deleteUser",
    params(("id" = i64, Path, description = "The user's id", minimum = 1, example = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user", body = ErrorBody, example = json!({"error": "User not found"})),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    )
)]
pub async fn delete<S: Store>(
    app: App<S>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.delete_user(path_id(&id, Error::UserNotFound)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
