//! Authentication with API keys over HTTP Basic, and `/api_key` management.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn requests_without_valid_credentials_are_refused(pool: PgPool) {
    let app = test_app!(pool);
    let attempts = [
        TestRequest::get().uri("/api/v5/connectors"),
        TestRequest::get()
            .uri("/api/v5/connectors")
            .insert_header(("Authorization", common::basic(common::API_KEY, "wrong"))),
        TestRequest::get()
            .uri("/api/v5/connectors")
            .insert_header(("Authorization", common::basic("nobody", common::API_SECRET))),
        TestRequest::get()
            .uri("/api/v5/connectors")
            .insert_header(("Authorization", "Basic !!!notbase64")),
        TestRequest::get()
            .uri("/api/v5/connectors")
            .insert_header(("Authorization", "Bearer token")),
        TestRequest::post()
            .uri("/api/v5/rule_test")
            .set_json(json!({"sql": "SELECT 1 FROM \"t\"", "context": {}})),
        TestRequest::get().uri("/api/v5/no_such_thing"),
    ];
    for request in attempts {
        let (status, body) = call!(app, request);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "BAD_API_KEY_OR_SECRET");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn public_endpoints_need_no_credentials(pool: PgPool) {
    let app = test_app!(pool);
    for path in [
        "/healthz",
        "/metrics",
        "/api/v5/openapi.json",
        "/api/v5/docs",
    ] {
        let (status, body) = call!(app, TestRequest::get().uri(path));
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn api_keys_are_created_shown_once_and_work_until_disabled_or_deleted(pool: PgPool) {
    let app = test_app!(pool.clone());
    let (status, created) = call!(
        app,
        common::post(
            "/api/v5/api_key",
            &json!({"name": "console", "description": "web console"})
        )
    );
    assert_eq!(status, StatusCode::OK, "{created}");
    let key = created["api_key"].as_str().unwrap().to_owned();
    let secret = created["api_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);

    // Stored as a SHA-256 hex digest, never in clear.
    let stored: String =
        sqlx::query_scalar("SELECT secret_sha256 FROM api_keys WHERE api_key = $1")
            .bind(&key)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 64);
    assert_ne!(stored, secret);

    let with_new_key = |path: &str| {
        TestRequest::get()
            .uri(path)
            .insert_header(("Authorization", common::basic(&key, &secret)))
    };
    let (status, _) = call!(app, with_new_key("/api/v5/connectors"));
    assert_eq!(status, StatusCode::OK);

    let (_, listed) = call!(app, common::get("/api/v5/api_key"));
    assert!(!listed.to_string().contains(&secret), "{listed}");
    let (status, read) = call!(app, common::get("/api/v5/api_key/console"));
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("api_secret").is_none());

    let (status, body) = call!(
        app,
        common::post("/api/v5/api_key", &json!({"name": "console"}))
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "ALREADY_EXISTS");

    let (status, updated) = call!(
        app,
        common::put("/api/v5/api_key/console", &json!({"enable": false}))
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["enable"], false);
    assert_eq!(updated["description"], "web console");
    let (status, _) = call!(app, with_new_key("/api/v5/connectors"));
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    call!(
        app,
        common::put(
            "/api/v5/api_key/console",
            &json!({"enable": true, "expired_at": "2001-01-01T00:00:00Z"})
        )
    );
    let (status, _) = call!(app, with_new_key("/api/v5/connectors"));
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired keys are refused");
    call!(
        app,
        common::put("/api/v5/api_key/console", &json!({"expired_at": null}))
    );
    let (status, _) = call!(app, with_new_key("/api/v5/connectors"));
    assert_eq!(status, StatusCode::OK);

    let (status, _) = call!(app, common::delete("/api/v5/api_key/console"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call!(app, with_new_key("/api/v5/connectors"));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call!(app, common::delete("/api/v5/api_key/console"));
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_bootstrap_key_is_upserted(pool: PgPool) {
    use tributary_control_plane::auth::api_keys;
    api_keys::ensure_bootstrap_key(&pool, "boot", "first")
        .await
        .unwrap();
    api_keys::ensure_bootstrap_key(&pool, "boot", "second")
        .await
        .unwrap();
    assert_eq!(
        api_keys::verify(&pool, "boot", "first").await.unwrap(),
        None
    );
    let signer = api_keys::verify(&pool, "boot", "second").await.unwrap();
    // The bootstrap key is an administrator, named after the key.
    assert_eq!(
        signer.map(|s| (s.name, s.role)),
        Some((
            "bootstrap-boot".to_owned(),
            tributary_control_plane::auth::Role::Administrator
        ))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn invalid_api_key_bodies_name_the_field(pool: PgPool) {
    let app = test_app!(pool);
    for (body, field) in [
        (json!({"name": "a b"}), "name"),
        (json!({}), "name"),
        (json!({"name": "k", "expired_at": "tomorrow"}), "expired_at"),
        (json!({"name": "k", "secret": "mine"}), "secret"),
    ] {
        let (status, response) = call!(app, common::post("/api/v5/api_key", &body));
        common::assert_bad_field(status, &response, field);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_key_a_request_is_signed_with_cannot_delete_or_disable_itself(pool: PgPool) {
    let app = test_app!(pool);
    let own = format!("bootstrap-{}", common::API_KEY);
    let (status, listed) = call!(app, common::get("/api/v5/api_key"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        listed.as_array().unwrap().iter().any(|k| k["name"] == own),
        "the test key is not named {own}: {listed}"
    );
    for request in [
        common::delete(&format!("/api/v5/api_key/{own}")),
        common::put(&format!("/api/v5/api_key/{own}"), &json!({"enable": false})),
        common::put(
            &format!("/api/v5/api_key/{own}"),
            &json!({"expired_at": "2000-01-01T00:00:00Z"}),
        ),
    ] {
        let (status, body) = call!(app, request);
        common::assert_bad_field(status, &body, "name");
        assert!(
            body["reason"].as_str().unwrap().contains("signed with"),
            "{body}"
        );
    }
    // The key still works; other changes to it are fine.
    let (status, body) = call!(
        app,
        common::put(
            &format!("/api/v5/api_key/{own}"),
            &json!({"description": "mine"})
        )
    );
    assert_eq!(status, StatusCode::OK, "{body}");

    // Another key may delete it: a second key is made, and deletes the first.
    let (status, created) = call!(
        app,
        common::post("/api/v5/api_key", &json!({"name": "second"}))
    );
    assert_eq!(status, StatusCode::OK, "{created}");
    let second = TestRequest::delete()
        .uri(&format!("/api/v5/api_key/{own}"))
        .insert_header((
            "Authorization",
            common::basic(
                created["api_key"].as_str().unwrap(),
                created["api_secret"].as_str().unwrap(),
            ),
        ));
    let (status, body) = call!(app, second);
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}
