//! The web console: static files (built by `scripts/console.sh build`) served at `/console/`
//! from `--console-dir`. The console talks only to the public `/api/v5` API, so these routes need
//! no credentials. Without a built console, `/console/` says how to build one.

use std::path::{Component, Path, PathBuf};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::state::AppState;

/// Where the console is served.
pub const PREFIX: &str = "/console";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(to_console))
        .route(PREFIX, web::get().to(to_console))
        .route("/console/{tail:.*}", web::get().to(serve));
}

async fn to_console() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

const NOT_BUILT: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tributary console</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The Tributary console is not built</h1>
<p>Build it with <code>scripts/console.sh build</code> (it writes <code>console/dist</code>), then start
the control plane with <code>--console-dir console/dist</code> (or <code>TRIBUTARY_CONSOLE_DIR</code>).
<code>scripts/up.sh</code> does both.</p>
<p>The REST API is at <a href="/api/v5/docs">/api/v5/docs</a>.</p>
</body></html>
"#;

async fn serve(
    req: HttpRequest,
    state: web::Data<AppState>,
    tail: web::Path<String>,
) -> HttpResponse {
    let Some(dir) = state
        .console_dir
        .as_deref()
        .filter(|d| d.join("index.html").is_file())
    else {
        return HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .body(NOT_BUILT);
    };
    let Some(relative) = safe_relative(&tail) else {
        return HttpResponse::NotFound().finish();
    };
    let mut path = dir.join(&relative);
    if relative.as_os_str().is_empty() || path.is_dir() {
        path = dir.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let hashed = relative.starts_with("assets");
            HttpResponse::Ok()
                .content_type(content_type(&path))
                .insert_header((
                    header::CACHE_CONTROL,
                    // Vite names assets by content hash; index.html must always be fresh.
                    if hashed {
                        "public, max-age=31536000, immutable"
                    } else {
                        "no-cache"
                    },
                ))
                .body(bytes)
        }
        Err(_) => {
            tracing::debug!(path = %req.path(), "console file not found");
            HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("not found")
        }
    }
}

/// The request path as a relative path inside the console directory; `None` for anything that
/// could leave it (`..`, absolute parts).
fn safe_relative(tail: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(tail).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
