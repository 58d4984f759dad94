//! The web console's static route: served without credentials from `--console-dir`, a page
//! saying how to build it when there is none, and nothing outside the directory.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use sqlx::PgPool;
use tributary_control_plane::app;

async fn body_text(
    response: actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
) -> String {
    String::from_utf8_lossy(&read_body(response).await).into_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn serves_the_built_console_without_credentials(pool: PgPool) {
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

    for path in ["/", "/console"] {
        let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(
            response.headers().get("location").unwrap(),
            "/console/",
            "{path}"
        );
    }

    let response = call_service(&app, TestRequest::get().uri("/console/").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
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

    let response = call_service(
        &app,
        TestRequest::get()
            .uri("/console/assets/app-1234.js")
            .to_request(),
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
        "/console/assets/missing.js",
        "/console/../tributary-console-secret.txt",
        "/console/%2e%2e/tributary-console-secret.txt",
        "/console/assets/%2e%2e/%2e%2e/tributary-console-secret.txt",
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

#[sqlx::test(migrations = "../migrations")]
async fn without_a_console_dir_says_how_to_build_it(pool: PgPool) {
    let app = test_app!(pool);
    let response = call_service(&app, TestRequest::get().uri("/console/").to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        body_text(response)
            .await
            .contains("scripts/console.sh build")
    );
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
