//! The web console at `/`: the files `scripts/console.sh build` writes to `console/dist`, embedded
//! in the binary when it was built after them (build.rs), or read from `--console-dir` when that
//! is given (for work on the console). The console talks only to the public `/api/v5` API, so
//! these routes need no credentials. Without a built console, `/` says how to build one.
//! `/console/`, where the console used to live, leads to `/`.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The console's former home, kept as a redirect for bookmarks.
const OLD_PREFIX: &str = "/console";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/index.html", web::get().to(index))
        .route("/assets/{tail:.*}", web::get().to(asset))
        .route(OLD_PREFIX, web::get().to(to_root))
        .route("/console/{tail:.*}", web::get().to(to_root));
}

/// The paths these routes answer, which the API key check lets through.
pub fn is_console_path(path: &str) -> bool {
    matches!(path, "/" | "/index.html" | OLD_PREFIX)
        || path.starts_with("/assets/")
        || path.starts_with("/console/")
}

/// True when this binary carries a built console.
pub fn is_embedded() -> bool {
    EMBEDDED.iter().any(|(path, _)| *path == "index.html")
}

async fn to_root() -> HttpResponse {
    // The fragment (`#/rules/…`) is kept by browsers across the redirect.
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/"))
        .finish()
}

const NOT_BUILT: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tributary console</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 42em; margin: 4em auto; line-height: 1.5">
<h1>The Tributary console is not built</h1>
<p>This <code>tributary-control</code> was built without the web console. Build the console with
<code>scripts/console.sh build</code> (it writes <code>console/dist</code>), then build the control
plane again (<code>cargo build -p tributary-control-plane</code>), which embeds it; or start the control
plane with <code>--console-dir console/dist</code> (<code>TRIBUTARY_CONSOLE_DIR</code>).
<code>scripts/up.sh</code> and <code>scripts/test.sh</code> build it first.</p>
<p>The REST API works without it: <a href="/api/v5/docs">/api/v5/docs</a>.</p>
</body></html>
"#;

async fn index(state: web::Data<AppState>) -> HttpResponse {
    match read(&state, Path::new("index.html")).await {
        Some(bytes) => file_response("index.html", bytes),
        None => HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(NOT_BUILT),
    }
}

async fn asset(state: web::Data<AppState>, tail: web::Path<String>) -> HttpResponse {
    let found = match safe_relative(&tail) {
        Some(relative) => read(&state, &Path::new("assets").join(relative)).await,
        None => None,
    };
    match found {
        Some(bytes) => file_response(&tail, bytes),
        None => {
            tracing::debug!(path = %tail, "console asset not found");
            HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("not found")
        }
    }
}

/// A console file from `--console-dir` when given, else from the embedded build.
async fn read(state: &AppState, relative: &Path) -> Option<Cow<'static, [u8]>> {
    if let Some(dir) = state.console_dir.as_deref() {
        return tokio::fs::read(dir.join(relative))
            .await
            .ok()
            .map(Cow::Owned);
    }
    let wanted: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    let wanted = wanted.join("/");
    EMBEDDED
        .iter()
        .find(|(path, _)| *path == wanted)
        .map(|(_, bytes)| Cow::Borrowed(*bytes))
}

fn file_response(name: &str, bytes: Cow<'static, [u8]>) -> HttpResponse {
    // Vite names assets by content hash; index.html must always be fresh.
    let cache = if name == "index.html" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    HttpResponse::Ok()
        .content_type(content_type(name))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes.into_owned())
}

/// The request path as a relative path inside the console's assets; `None` for anything that
/// could leave them (`..`, absolute parts).
fn safe_relative(tail: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(tail).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn content_type(name: &str) -> &'static str {
    match Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
    {
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
