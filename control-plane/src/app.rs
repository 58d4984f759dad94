//! The actix application: routes, extractor configuration, middleware, and the OpenAPI document
//! collected from the same route definitions.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_actix_web::{AppExt, scope};

use crate::error::ApiError;
use crate::http::docs::OpenApiJson;
use crate::state::AppState;
use crate::{api, audit, auth, http};

/// Everything under this prefix is the EMQX v5-style management API.
pub const API_PREFIX: &str = "/api/v5";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tributary REST API",
        description = "Manage connectors, actions (sinks), sources and rules that move data between MQTT and Kafka. \
                       Authenticate with an API key and secret over HTTP Basic."
    ),
    modifiers(&BasicAuth),
    security(("basic_auth" = [])),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic_auth",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The answers every operation can give, said once for all of them: 401 where an API key is
/// needed; 415 (not JSON) and 413 (over 1 MB) where there is a body; 400 where a body, a query
/// or a non-text path parameter can be malformed. Applied after the routes are collected (the
/// `#[openapi]` modifiers run before).
struct UnauthorizedAnswers;

impl utoipa::Modify for UnauthorizedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
        let error = |description: &str| -> RefOr<Response> {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "ErrorBody",
                        ))))
                        .build(),
                )
                .into()
        };
        let unauthorized = error("Missing or wrong API key or secret (`BAD_API_KEY_OR_SECRET`)");
        let malformed = error("A malformed request: the field and the reason are named");
        let not_json = error("The body is not JSON (`UNSUPPORTED_MEDIA_TYPE`)");
        let too_large = error("The body is over 1 MB (`PAYLOAD_TOO_LARGE`)");
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                // `security(())` marks the public operations (`/status`).
                let public = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                let responses = &mut operation.responses.responses;
                if !public {
                    responses
                        .entry("401".to_owned())
                        .or_insert_with(|| unauthorized.clone());
                }
                let has_body = operation.request_body.is_some();
                if has_body {
                    responses
                        .entry("415".to_owned())
                        .or_insert_with(|| not_json.clone());
                    responses
                        .entry("413".to_owned())
                        .or_insert_with(|| too_large.clone());
                }
                let parsed_parameters = operation.parameters.iter().flatten().any(|p| {
                    p.parameter_in == utoipa::openapi::path::ParameterIn::Query
                        || !matches!(
                            &p.schema,
                            Some(RefOr::T(utoipa::openapi::schema::Schema::Object(o)))
                                if o.schema_type
                                    == utoipa::openapi::schema::SchemaType::Type(
                                        utoipa::openapi::schema::Type::String
                                    )
                        )
                });
                if has_body || parsed_parameters {
                    responses
                        .entry("400".to_owned())
                        .or_insert_with(|| malformed.clone());
                }
            }
        }
    }
}

/// The OpenAPI document, generated from the route definitions (no database needed).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope(API_PREFIX).configure(api::configure))
        .split_for_parts();
    utoipa::Modify::modify(&UnauthorizedAnswers, &mut spec);
    utoipa::Modify::modify(&auth::openapi::RequiredRoles, &mut spec);
    spec
}

/// The document as served at `/api/v5/openapi.json` and committed at `openapi/openapi.json`.
pub fn openapi_json() -> OpenApiJson {
    let text = openapi().to_pretty_json().unwrap_or_else(|err| {
        format!("{{\"error\":\"cannot serialize the OpenAPI document: {err}\"}}")
    });
    OpenApiJson(Arc::new(text + "\n"))
}

/// Builds the application. Called once per HTTP worker thread, and by tests in-process.
pub fn build(
    state: AppState,
    spec: OpenApiJson,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let known_paths = http::known_paths::KnownPaths::from_spec(&spec);
    let (app, _) = App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(known_paths))
        .app_data(web::Data::new(spec))
        .app_data(http::extractors::json_config())
        .app_data(http::extractors::path_config())
        .app_data(http::extractors::query_config())
        // Registered before the API scope, which would otherwise answer 404 for them.
        .route("/healthz", web::get().to(http::health::healthz))
        .route("/metrics", web::get().to(http::health::metrics))
        .route(
            "/api/v5/openapi.json",
            web::get().to(http::docs::openapi_json),
        )
        .route("/api/v5/docs", web::get().to(http::docs::docs_page))
        .configure(http::console::configure)
        .into_utoipa_app()
        .service(
            scope(API_PREFIX)
                .configure(api::configure)
                .default_service(web::to(no_route)),
        )
        .split_for_parts();
    app.default_service(web::to(no_route))
        .wrap(from_fn(auth::require_api_key))
        // Outside authentication, so changes a key's role refused are logged too.
        .wrap(from_fn(audit::record))
        // Outermost, so refused requests are counted too.
        .wrap(from_fn(http::metrics::record))
}

/// 405 with `Allow` for a documented path asked with another method, 404 otherwise.
async fn no_route(request: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let allowed = request
        .app_data::<web::Data<http::known_paths::KnownPaths>>()
        .and_then(|paths| paths.allowed_methods(request.path()));
    match allowed {
        Some(allowed) => Err(ApiError::MethodNotAllowed {
            method: request.method().as_str().to_owned(),
            allowed,
        }),
        None => Err(ApiError::NoRoute),
    }
}
