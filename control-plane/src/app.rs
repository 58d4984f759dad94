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
use crate::{api, auth, http};

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

/// The OpenAPI document, generated from the route definitions (no database needed).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope(API_PREFIX).configure(api::configure))
        .split_for_parts();
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
    let (app, _) = App::new()
        .app_data(web::Data::new(state))
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
        // Outermost, so refused requests are counted too.
        .wrap(from_fn(http::metrics::record))
}

async fn no_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}
