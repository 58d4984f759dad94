//! Writes each operation's role into the OpenAPI document: an `x-required-role` extension (the
//! least role allowed), a sentence in the description, and the 403 the others get.

use actix_web::http::Method;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use super::roles::{Role, required_role};

/// The extension naming the least role an operation needs.
pub const REQUIRED_ROLE_EXTENSION: &str = "x-required-role";

/// Applied after the routes are collected, like the other answers every operation shares.
#[derive(Debug)]
pub struct RequiredRoles;

impl utoipa::Modify for RequiredRoles {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (Method::GET, &mut item.get),
                (Method::PUT, &mut item.put),
                (Method::POST, &mut item.post),
                (Method::DELETE, &mut item.delete),
                (Method::PATCH, &mut item.patch),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation.as_mut().filter(|op| !is_public(op)) {
                    describe(operation, required_role(&method));
                }
            }
        }
    }
}

/// `security(())` marks the public operations (`/status`).
fn is_public(operation: &Operation) -> bool {
    operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &Default::default()))
}

fn describe(operation: &mut Operation, role: Role) {
    let extensions = operation.extensions.get_or_insert_with(Default::default);
    extensions.merge(
        ExtensionsBuilder::new()
            .add(REQUIRED_ROLE_EXTENSION, role.as_str())
            .build(),
    );
    let who = match role {
        Role::Viewer => "`viewer` or `administrator` (a `publisher` key is refused)",
        Role::Administrator | Role::Publisher => "`administrator`",
    };
    let sentence = format!("Required role: {who}.");
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{sentence}"),
        _ => sentence,
    });
    operation
        .responses
        .responses
        .entry("403".to_owned())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(
                    "The API key's role may not call this operation (`UNAUTHORIZED_ROLE`); \
                     the message names the role and the request",
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                        .build(),
                )
                .into()
        });
}
