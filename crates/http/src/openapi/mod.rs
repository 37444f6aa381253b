//! The OpenAPI 3.1 document of the API, generated from the code: each handler
//! carries its operation (`#[utoipa::path]`), each body its schema, and
//! [`ApiResource`] registers a handler only together with its operation, at the
//! path and for the methods that operation names. The document is collected while
//! the routes are registered (utoipa-actix-web), so a route cannot be served
//! without being documented.
//!
//! It is served at `GET /openapi.json`, and browsable at `GET /docs` with Swagger
//! UI, whose files are compiled into the binary (nothing is fetched at build or
//! run time).

pub mod docs;
pub mod schemas;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{App, FromRequest, Handler, Resource, Responder, web};
use domain::ports::Store;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa_actix_web::{AppExt, OpenApiFactory};

/// What the document says besides the operations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shortener",
        description = "A URL shortener: short links with redirects, click analytics, and users \
                       with bulk CSV import.\n\n\
                       Every body, also every error, is JSON. An error is `{\"error\": \"<sentence>\"}`, \
                       with `details` naming each field at fault. A request body must be a JSON \
                       object (400 otherwise); fields are typed strictly (422, all problems at \
                       once); unknown fields are ignored. Timestamps are UTC, \
                       `YYYY-MM-DDTHH:MM:SS`. Lists are JSON arrays ordered by id, paginated with \
                       `page` and `per_page`, with the total in `X-Total-Count` and the \
                       neighbouring pages in `Link`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "users", description = "Accounts, and their bulk import from CSV"),
        (name = "urls", description = "Short links, their statistics and events"),
        (name = "events", description = "The analytics log"),
        (name = "redirects", description = "The short links themselves"),
        (name = "operations", description = "Health and metrics, for probes and Prometheus"),
        (name = "documentation", description = "This document and its browsable page"),
    ),
    components(schemas(schemas::ErrorBody)),
)]
struct ApiDoc;

/// The OpenAPI document of the API served over `S`, as JSON.
pub fn document<S: Store>() -> Value {
    let (_app, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::<S>)
        .split_for_parts();
    let mut document = document;
    document_the_guard(&mut document);
    let mut json = serde_json::to_value(&document).expect("an OpenAPI document is JSON");
    spell_links_in_camel_case(&mut json);
    json
}

/// The answers of the guard in front of every route (`crate::guard`): 401 and
/// 403 on writes with `AUTH_MODE=api-key`, 429 when a rate limit is set (writes;
/// reads and redirects too with a read limit, never probes and metrics), 431 for
/// a request head over the limit. Writes accept a bearer key, which only the
/// api-key mode asks for.
fn document_the_guard(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::security::{
        HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    use utoipa::openapi::{ContentBuilder, ResponseBuilder};

    let error = |description: &str, example: Value| {
        ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Error")))
                .example(Some(example))
                .build(),
        )
    };
    let integer = || ObjectBuilder::new().schema_type(Type::Integer);
    let too_many = error(
        "Over this client's rate limit (only when one is configured)",
        serde_json::json!({"error": "Too many requests: retry in 2 s"}),
    )
    .header(
        "Retry-After",
        HeaderBuilder::new().schema(integer()).description(Some("Seconds to wait")).build(),
    )
    .header(
        "RateLimit-Limit",
        HeaderBuilder::new().schema(integer()).description(Some("The burst")).build(),
    )
    .header("RateLimit-Remaining", HeaderBuilder::new().schema(integer()).build())
    .header(
        "RateLimit-Reset",
        HeaderBuilder::new().schema(integer()).description(Some("Seconds")).build(),
    )
    .header(
        "RateLimit-Policy",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("`<per minute>;w=60;burst=<burst>`"))
            .build(),
    )
    .build();
    let unauthorized = error(
        "`AUTH_MODE=api-key` only: no key, a malformed one or an unknown one",
        serde_json::json!({"error": "This request needs an API key: send Authorization: Bearer <key>"}),
    )
    .header(
        "WWW-Authenticate",
        HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String)).build(),
    )
    .build();
    let forbidden = error(
        "`AUTH_MODE=api-key` only: the key was revoked",
        serde_json::json!({"error": "This API key was revoked"}),
    )
    .build();
    let head_too_large = error(
        "The request head is over `MAX_HEADER_BYTES`",
        serde_json::json!({"error": "Request headers are too large"}),
    )
    .build();

    for (path, item) in document.paths.paths.iter_mut() {
        let operational = crate::guard::is_operational(path);
        let writes = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in writes.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            responses.insert("401".into(), unauthorized.clone().into());
            responses.insert("403".into(), forbidden.clone().into());
            responses.insert("429".into(), too_many.clone().into());
            // Open by default: a key is needed only in the api-key mode.
            let key = SecurityRequirement::new("apiKey", Vec::<String>::new());
            operation.security = Some(vec![SecurityRequirement::default(), key]);
        }
        let reads = [&mut item.get, &mut item.head, &mut item.options];
        for operation in reads.into_iter().flatten().filter(|_| !operational) {
            operation.responses.responses.insert("429".into(), too_many.clone().into());
        }
        let every = [
            &mut item.get,
            &mut item.head,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
            &mut item.options,
        ];
        for operation in every.into_iter().flatten() {
            operation.responses.responses.insert("431".into(), head_too_large.clone().into());
        }
    }
    let key = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "With `AUTH_MODE=api-key`, every POST, PUT, PATCH and DELETE needs \
             `Authorization: Bearer <key>` (keys: `shortener keys create --name NAME`). \
             The default mode asks for none.",
        ))
        .build();
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme("apiKey", SecurityScheme::Http(key));
}

/// utoipa 5 writes the fields of a Link object in snake case (`operation_id`);
/// OpenAPI spells them `operationId`, `operationRef` and `requestBody`.
fn spell_links_in_camel_case(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) else {
            continue;
        };
        for link in links.values_mut().filter_map(Value::as_object_mut) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(snake) {
                    link.insert(camel.to_owned(), value);
                }
            }
        }
    }
}

/// One path of the API: the actix resource that serves it, and the OpenAPI
/// operations of its methods. Each method is added with [`ApiResource::to`],
/// which takes the method from the handler's operation, so what is served and
/// what is documented cannot drift apart.
pub struct ApiResource {
    pattern: &'static str,
    resource: Resource,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl ApiResource {
    /// The resource at `pattern` (actix and OpenAPI spell path parameters alike).
    pub fn new(pattern: &'static str) -> Self {
        Self { pattern, resource: web::resource(pattern), paths: Paths::new(), schemas: Vec::new() }
    }

    /// Serves `handler` for the methods that `operation` (the `__path_*` type that
    /// `#[utoipa::path]` generates for it) documents.
    ///
    /// # Panics
    /// When the operation documents another path: a programming error that any
    /// start of the app reveals.
    pub fn to<D, F, Args>(mut self, operation: D, handler: F) -> Self
    where
        D: utoipa::Path + OpenApiFactory,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        assert_eq!(
            D::path(),
            self.pattern,
            "an operation of {} is documented elsewhere",
            self.pattern
        );
        for method in D::methods() {
            let route = web::method(actix_method(&method)).to(handler.clone());
            self.resource = self.resource.route(route);
        }
        self.paths.merge(operation.paths());
        operation.schemas(&mut self.schemas);
        self
    }
}

impl std::fmt::Debug for ApiResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResource").field("pattern", &self.pattern).finish_non_exhaustive()
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl HttpServiceFactory for ApiResource {
    fn register(self, config: &mut AppService) {
        self.resource.register(config);
    }
}

impl OpenApiFactory for ApiResource {
    fn paths(&self) -> Paths {
        self.paths.clone()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(self.schemas.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    //! The document and the router agree: every route the app serves is in the
    //! document, and every operation of the document is served. "Served" is
    //! learnt from actix itself, not from the document: its resource map lists
    //! the path patterns, and a request per pattern and method shows which
    //! methods a resource answers (anything but 405 and the default service).

    use std::collections::BTreeSet;

    use actix_web::http::Method;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpRequest, HttpResponse, web};
    use store_memory::MemoryStore;
    use utoipa_actix_web::AppExt;

    use super::document;

    const METHODS: [Method; 8] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ];
    /// The answer of the default service: no resource matched.
    const UNROUTED: &str = "x-test-unrouted";
    /// The default service's path that lists the resource map.
    const RESOURCE_MAP: &str = "/__test__/__resource_map__/x";

    fn documented() -> BTreeSet<(String, String)> {
        let json = document::<MemoryStore>();
        let mut operations = BTreeSet::new();
        for (path, item) in json["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
        operations
    }

    /// A path that `pattern` matches: every parameter is `1`.
    fn concrete(pattern: &str) -> String {
        let mut path = String::new();
        let mut in_parameter = false;
        for c in pattern.chars() {
            match c {
                '{' => in_parameter = true,
                '}' => {
                    in_parameter = false;
                    path.push('1');
                }
                c if !in_parameter => path.push(c),
                _ => {}
            }
        }
        path
    }

    /// The path patterns of every resource, from the `Debug` form of actix's
    /// resource map (the map has no public iterator).
    fn patterns(resource_map: &str) -> BTreeSet<String> {
        let marker = "patterns: Single(\"";
        resource_map
            .match_indices(marker)
            .filter_map(|(at, _)| {
                let rest = &resource_map[at + marker.len()..];
                rest.find('"').map(|end| rest[..end].to_owned())
            })
            .filter(|pattern| !pattern.is_empty())
            .collect()
    }

    #[actix_web::test]
    async fn the_document_lists_exactly_the_routes_the_app_serves() {
        let app = init_service(
            App::new()
                .into_utoipa_app()
                .configure(crate::routes::<MemoryStore>)
                .default_service(web::to(|req: HttpRequest| async move {
                    let map = format!("{:?}", req.resource_map());
                    HttpResponse::NotFound().insert_header((UNROUTED, "1")).body(map)
                }))
                .into_app(),
        )
        .await;
        let map = call_service(&app, TestRequest::get().uri(RESOURCE_MAP).to_request()).await;
        let patterns = patterns(std::str::from_utf8(&read_body(map).await).expect("text"));
        assert!(patterns.len() >= 10, "the resource map lists the routes: {patterns:?}");

        let mut served = BTreeSet::new();
        for pattern in &patterns {
            for method in METHODS {
                let request = TestRequest::default().method(method.clone()).uri(&concrete(pattern));
                let response = call_service(&app, request.to_request()).await;
                if response.request().match_pattern().as_deref() != Some(pattern.as_str()) {
                    continue; // the path belongs to an earlier resource
                }
                let unrouted = response.headers().contains_key(UNROUTED);
                if !unrouted && response.status() != actix_web::http::StatusCode::METHOD_NOT_ALLOWED
                {
                    served.insert((method.to_string(), pattern.clone()));
                }
            }
        }

        let documented = documented();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(undocumented.is_empty(), "served but not in the document: {undocumented:?}");
        assert!(unserved.is_empty(), "in the document but not served: {unserved:?}");
    }

    #[test]
    fn operation_ids_are_unique_and_links_name_real_operations() {
        let json = document::<MemoryStore>();
        let mut ids = BTreeSet::new();
        let mut linked = BTreeSet::new();
        for (path, item) in json["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                let id = operation["operationId"].as_str().expect("an operationId");
                assert!(ids.insert(id.to_owned()), "{method} {path}: operationId {id} twice");
                assert!(
                    operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                    "{id}: no tag"
                );
                assert!(operation["summary"].is_string(), "{id}: no summary");
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                        let target =
                            link["operationId"].as_str().expect("links name an operationId");
                        assert!(link.get("operation_id").is_none(), "{id} {status}: {link}");
                        linked.insert(target.to_owned());
                    }
                }
            }
        }
        let unknown: Vec<_> = linked.difference(&ids).collect();
        assert!(unknown.is_empty(), "links to operations that do not exist: {unknown:?}");
    }
}
