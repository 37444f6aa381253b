//! The document itself (`GET /openapi.json`) and its browsable page (`GET /docs`,
//! Swagger UI, with its files under `/docs/`). Swagger UI comes vendored in the
//! `utoipa-swagger-ui` crate and is compiled into the binary.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, http::header::ContentType};
use utoipa_swagger_ui::Config;

use crate::error::ApiError;
use crate::openapi::schemas::ErrorBody;

/// The document, serialised once at start-up.
#[derive(Debug, Clone)]
pub struct ApiDocument(Bytes);

impl ApiDocument {
    pub fn new(document: &serde_json::Value) -> Self {
        let json = serde_json::to_vec(document).expect("an OpenAPI document serialises to JSON");
        Self(Bytes::from(json))
    }
}

/// The page: Swagger UI's own files, linked relatively so that the page works
/// behind a path prefix too.
const PAGE: &str = include_str!("docs.html");

/// Swagger UI's settings, written into its `swagger-initializer.js`: the
/// document's address, relative to the page.
static SWAGGER_UI: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::from("openapi.json").try_it_out_enabled(true)));

/// The OpenAPI document
///
/// This document: OpenAPI 3.1, generated from the code.
#[utoipa::path(
    get, path = "/openapi.json", tag = "documentation", operation_id = "openapiDocument",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json"))
)]
pub async fn document(document: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(document.0.clone())
}

/// The browsable documentation
///
/// Swagger UI over this document; its files are served from the binary.
#[utoipa::path(
    get, path = "/docs", tag = "documentation", operation_id = "docsPage",
    responses((status = 200, description = "The page", body = String, content_type = "text/html"))
)]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::html()).body(PAGE)
}

/// A file of the documentation page
#[utoipa::path(
    get, path = "/docs/{file}", tag = "documentation", operation_id = "docsFile",
    params(("file" = String, Path, description = "A file of Swagger UI", example = "swagger-ui.css")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/css"), (String = "text/javascript"), (String = "application/javascript"),
            (String = "text/html"), (String = "application/json"), (String = "image/png"),
        )),
        (status = 404, description = "No such file", body = ErrorBody, example = json!({"error": "Not found"})),
    )
)]
pub async fn file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let served = utoipa_swagger_ui::serve(&file, Arc::clone(&SWAGGER_UI)).map_err(|error| {
        domain::Error::Internal(format!("serving the documentation page's {file}: {error}"))
    })?;
    // The index of Swagger UI expects another layout of addresses: only `PAGE` is
    // the page.
    let served = served.filter(|_| !file.is_empty() && file.as_str() != "index.html");
    let found = served.ok_or(ApiError::NotFound("Not found"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, found.content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(found.bytes.into_owned()))
}
