//! The web console's static routes at `/`: the console embedded at build time or the one in
//! `--console-dir`, served without credentials, a page saying how to build it when there is
//! none, nothing outside the directory, and `/console/` leading to `/`.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use sqlx::PgPool;
use tributary_control_plane::app;
use tributary_control_plane::http::console;

async fn body_text(
    response: actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
) -> String {
    String::from_utf8_lossy(&read_body(response).await).into_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn serves_a_console_dir_at_the_root_without_credentials(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("tributary-console-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<html>console index</html>").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log('hi')").unwrap();
    std::fs::write(
        dir.parent().unwrap().join("tributary-console-secret.txt"),
        "secret",
    )
    .unwrap();
    let state = common::state(pool)
        .await
        .with_console_dir(Some(dir.clone()));
    let app = init_service(app::build(state, app::openapi_json())).await;

    // Where the console used to be leads to it.
    for path in ["/console", "/console/", "/console/index.html"] {
        let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(response.headers().get("location").unwrap(), "/", "{path}");
    }

    for path in ["/", "/index.html"] {
        let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-cache");
        assert_eq!(body_text(response).await, "<html>console index</html>");
    }

    let response = call_service(
        &app,
        TestRequest::get().uri("/assets/app-1234.js").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        response
            .headers()
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(body_text(response).await, "console.log('hi')");

    for path in [
        "/assets/missing.js",
        "/assets/",
        "/assets/../../tributary-console-secret.txt",
        "/assets/%2e%2e/%2e%2e/tributary-console-secret.txt",
        "/assets/..%2f..%2ftributary-console-secret.txt",
    ] {
        let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!body_text(response).await.contains("secret"), "{path}");
    }

    // The API itself still wants credentials.
    let response = call_service(&app, TestRequest::get().uri("/api/v5/rules").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Without `--console-dir`, the console built into the binary, or (a binary built before
/// `scripts/console.sh build`) a page saying how to build it; the API works either way.
#[sqlx::test(migrations = "../migrations")]
async fn serves_the_embedded_console_or_says_how_to_build_it(pool: PgPool) {
    let app = test_app!(pool);
    let response = call_service(&app, TestRequest::get().uri("/").to_request()).await;
    if console::is_embedded() {
        assert_eq!(response.status(), StatusCode::OK);
        let index = body_text(response).await;
        assert!(index.contains(r#"<div id="app">"#), "{index}");
        // Every script and stylesheet the page names is embedded too.
        let assets: Vec<&str> = index
            .split('"')
            .filter(|part| part.starts_with("/assets/"))
            .collect();
        assert!(!assets.is_empty(), "{index}");
        for asset in assets {
            let response = call_service(&app, TestRequest::get().uri(asset).to_request()).await;
            assert_eq!(response.status(), StatusCode::OK, "{asset}");
            let kind = response
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap();
            assert!(
                kind.starts_with("text/javascript") || kind.starts_with("text/css"),
                "{asset}: {kind}"
            );
            assert!(!read_body(response).await.is_empty(), "{asset}");
        }
    } else {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(
            body_text(response)
                .await
                .contains("scripts/console.sh build")
        );
    }
    let response = call_service(&app, TestRequest::get().uri("/api/v5/status").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_console_dir_without_a_build_says_how_to_make_one(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("tributary-console-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = common::state(pool)
        .await
        .with_console_dir(Some(dir.clone()));
    let app = init_service(app::build(state, app::openapi_json())).await;
    let response = call_service(&app, TestRequest::get().uri("/").to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = body_text(response).await;
    assert!(page.contains("scripts/console.sh build"), "{page}");
    assert!(page.contains("/api/v5/docs"), "{page}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn scripts_get_no_browser_auth_dialog(pool: PgPool) {
    let app = test_app!(pool);
    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/api/v5/rules")
            .insert_header(("Authorization", common::basic("nobody", "wrong")))
            .insert_header(("X-Requested-With", "XMLHttpRequest"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!response.headers().contains_key("www-authenticate"));
}
