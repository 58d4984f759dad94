//! API key roles (administrator, viewer, publisher) as EMQX 5.4+ defines them: every operation
//! of the OpenAPI document, asked with every role, is refused (403) exactly where the role does
//! not allow it.
// The walk's helpers read the generated document; a malformed one should fail loudly.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sqlx::PgPool;

/// Creates a key with `role` through the API and returns its `(api_key, api_secret)`.
macro_rules! key_with_role {
    ($app:expr, $name:expr, $role:expr) => {{
        let (status, created) = call!(
            $app,
            common::post("/api/v5/api_key", &json!({"name": $name, "role": $role}))
        );
        assert_eq!(status, StatusCode::OK, "{created}");
        assert_eq!(created["role"], $role, "{created}");
        (
            created["api_key"].as_str().unwrap().to_owned(),
            created["api_secret"].as_str().unwrap().to_owned(),
        )
    }};
}

/// A value for a path parameter that routes to the handler (and names nothing that exists).
fn parameter_value(name: &str) -> &'static str {
    match name {
        "enable" => "true",
        "operation" => "start",
        _ => "kafka_producer:role-walk-missing",
    }
}

fn concrete_path(template: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => parameter_value(name).to_owned(),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

struct Operation {
    method: String,
    path: String,
    has_body: bool,
    public: bool,
    required_role: Option<String>,
}

/// Every operation of the generated document, so that a new endpoint cannot escape the walk.
fn operations() -> Vec<Operation> {
    let spec = serde_json::to_value(tributary_control_plane::app::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let public = operation["security"].as_array().is_some_and(|s| {
                s.iter()
                    .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            operations.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                has_body: operation.get("requestBody").is_some(),
                public,
                required_role: operation["x-required-role"].as_str().map(str::to_owned),
            });
        }
    }
    operations
}

#[sqlx::test(migrations = "../migrations")]
async fn every_operation_refuses_exactly_the_roles_that_may_not_call_it(pool: PgPool) {
    let app = test_app!(pool);
    let operations = operations();
    assert!(
        operations.len() > 40,
        "only {} operations",
        operations.len()
    );
    let mut keys = vec![(
        "administrator",
        (common::API_KEY.to_owned(), common::API_SECRET.to_owned()),
    )];
    for role in ["viewer", "publisher"] {
        keys.push((role, key_with_role!(app, format!("walk-{role}"), role)));
    }
    let mut refused = 0;
    for operation in &operations {
        let method = actix_web::http::Method::from_bytes(operation.method.as_bytes()).unwrap();
        let is_read = operation.method == "GET";
        if operation.public {
            assert_eq!(operation.required_role, None, "{}", operation.path);
        } else {
            let expected = if is_read { "viewer" } else { "administrator" };
            assert_eq!(
                operation.required_role.as_deref(),
                Some(expected),
                "{} {}",
                operation.method,
                operation.path
            );
        }
        for (role, (key, secret)) in &keys {
            let path = concrete_path(&operation.path);
            let mut request = TestRequest::default()
                .method(method.clone())
                .uri(&path)
                .insert_header(("Authorization", common::basic(key, secret)));
            if operation.has_body {
                request = request.set_json(json!({}));
            }
            let (status, body) = call!(app, request);
            let forbidden = !operation.public
                && match *role {
                    "administrator" => false,
                    "viewer" => !is_read,
                    _ => true,
                };
            let what = format!("{role} {} {path}: {body}", operation.method);
            if forbidden {
                refused += 1;
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                assert_eq!(body["code"], "UNAUTHORIZED_ROLE", "{what}");
                let message = body["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains(&format!(
                        "role `{role}` may not {} {path}",
                        operation.method
                    )),
                    "{what}"
                );
            } else {
                assert_ne!(status, StatusCode::FORBIDDEN, "{what}");
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{what}");
            }
        }
    }
    // Each non-public operation refuses the publisher, each change the viewer too.
    let changes = operations.iter().filter(|o| o.method != "GET").count();
    let private = operations.iter().filter(|o| !o.public).count();
    assert_eq!(refused, private + changes);
}

#[test]
fn the_document_describes_each_operations_role_and_its_403() {
    let spec: Value = serde_json::from_str(&common::openapi_text()).unwrap();
    let rule = &spec["paths"]["/api/v5/rules/{id}"];
    assert_eq!(rule["get"]["x-required-role"], "viewer");
    assert_eq!(rule["delete"]["x-required-role"], "administrator");
    for operation in [&rule["get"], &rule["put"], &rule["delete"]] {
        assert!(operation["responses"]["403"].is_object(), "{operation}");
        assert!(
            operation["description"]
                .as_str()
                .is_some_and(|d| d.contains("Required role")),
            "{operation}"
        );
    }
    assert!(spec["paths"]["/api/v5/status"]["get"]["responses"]["403"].is_null());
}

#[sqlx::test(migrations = "../migrations")]
async fn roles_are_shown_changed_and_checked(pool: PgPool) {
    let app = test_app!(pool.clone());
    // Default: administrator, as in EMQX.
    let (status, created) = call!(
        app,
        common::post("/api/v5/api_key", &json!({"name": "ops"}))
    );
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["role"], "administrator");
    let (key, secret) = (
        created["api_key"].as_str().unwrap().to_owned(),
        created["api_secret"].as_str().unwrap().to_owned(),
    );
    let as_ops = |request: TestRequest| {
        request.insert_header(("Authorization", common::basic(&key, &secret)))
    };
    let (status, _) = call!(app, as_ops(TestRequest::delete().uri("/api/v5/rules/none")));
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Demoted to viewer: reads still work, changes are refused, with the reason.
    let (status, updated) = call!(
        app,
        common::put("/api/v5/api_key/ops", &json!({"role": "viewer"}))
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["role"], "viewer");
    let (_, listed) = call!(app, common::get("/api/v5/api_key"));
    let ops = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ops")
        .unwrap();
    assert_eq!(ops["role"], "viewer");
    let (status, _) = call!(app, as_ops(TestRequest::get().uri("/api/v5/rules")));
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call!(
        app,
        as_ops(TestRequest::post().uri("/api/v5/rule_test"))
            .set_json(json!({"sql": "SELECT 1 FROM \"t\"", "context": {}}))
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["message"].as_str().unwrap().split(':').next().unwrap(),
        "role `viewer` may not POST /api/v5/rule_test"
    );
    // A viewer cannot promote itself.
    let (status, _) = call!(
        app,
        as_ops(TestRequest::put().uri("/api/v5/api_key/ops"))
            .set_json(json!({"role": "administrator"}))
    );
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Unknown roles are refused, naming the field.
    let (status, body) = call!(
        app,
        common::put("/api/v5/api_key/ops", &json!({"role": "superuser"}))
    );
    common::assert_bad_field(status, &body, "role");
    let (status, body) = call!(
        app,
        common::post("/api/v5/api_key", &json!({"name": "x", "role": "root"}))
    );
    common::assert_bad_field(status, &body, "role");

    // An administrator cannot demote the key it signs with (it could not undo it).
    let own = format!("/api/v5/api_key/bootstrap-{}", common::API_KEY);
    let (status, body) = call!(app, common::put(&own, &json!({"role": "viewer"})));
    common::assert_bad_field(status, &body, "name");

    // The bootstrap key is an administrator again at every start, whatever was stored.
    sqlx::query("UPDATE api_keys SET role = 'viewer' WHERE api_key = $1")
        .bind(common::API_KEY)
        .execute(&pool)
        .await
        .unwrap();
    tributary_control_plane::auth::api_keys::ensure_bootstrap_key(
        &pool,
        common::API_KEY,
        common::API_SECRET,
    )
    .await
    .unwrap();
    let (_, own_key) = call!(app, common::get(&own));
    assert_eq!(own_key["role"], "administrator", "{own_key}");
}

/// The migration that gave API keys a role.
const ROLES: i64 = 20261204000040;

#[sqlx::test(migrations = false)]
async fn keys_from_before_roles_become_administrators(pool: PgPool) {
    let all: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < ROLES)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate!("../migrations")
    };
    before.run(&pool).await.unwrap();
    let hash = tributary_control_plane::auth::api_keys::hash_secret("old-secret");
    sqlx::query("INSERT INTO api_keys (api_key, secret_sha256, name) VALUES ('old', $1, 'old')")
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
    all.run(&pool).await.unwrap();

    let app = test_app!(pool);
    let (status, body) = call!(
        app,
        TestRequest::delete()
            .uri("/api/v5/rules/none")
            .insert_header(("Authorization", common::basic("old", "old-secret")))
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, old) = call!(app, common::get("/api/v5/api_key/old"));
    assert_eq!(old["role"], "administrator", "{old}");
}
