//! The OpenAPI document and a human-readable page rendering it (Redoc, loaded from a CDN so that
//! nothing is downloaded at build time).

use std::sync::Arc;

use actix_web::{HttpResponse, web};

/// The serialized OpenAPI document, computed once at startup.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub Arc<String>);

pub async fn openapi_json(spec: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.as_str().to_owned())
}

const DOCS_PAGE: &str = r#"<!DOCTYPE html>
<html>
  <head>
    <title>Tributary REST API</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
  </head>
  <body>
    <redoc spec-url="/api/v5/openapi.json"></redoc>
    <script src="https://cdn.redoc.ly/redoc/latest/bundles/redoc.standalone.js"></script>
  </body>
</html>
"#;

pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS_PAGE)
}
