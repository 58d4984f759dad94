//! The roles an API key carries and what each may do, as EMQX 5.4+ defines them for API keys
//! (`emqx_dashboard_rbac:do_check_rbac/3`):
//!
//! - `administrator` may do everything;
//! - `viewer` may only read: every `GET`, and no `POST`, `PUT` or `DELETE`, not even those that
//!   change nothing (`/rule_test`, probes, dry runs), as in EMQX;
//! - `publisher` may only publish messages (`POST /publish` and `/publish/bulk` in EMQX). Tributary
//!   has no publishing endpoint, so a publisher key is refused everywhere; it exists so that keys
//!   and scripts written for EMQX keep their meaning.
//!
//! The rule depends only on the role and the method, so it is decided once, in the auth
//! middleware, and described once, in the OpenAPI document.

use std::fmt;

use actix_web::http::Method;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An API key's role. New keys are administrators unless told otherwise, as in EMQX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Administrator,
    Viewer,
    Publisher,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Administrator, Role::Viewer, Role::Publisher];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Viewer => "viewer",
            Role::Publisher => "publisher",
        }
    }

    /// The role stored in the database; `None` for text no migration allows.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Only reads are open to viewers; `HEAD` is a read too.
fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// The least role an operation needs, as written in the OpenAPI document (`x-required-role`).
pub fn required_role(method: &Method) -> Role {
    if is_read(method) {
        Role::Viewer
    } else {
        Role::Administrator
    }
}

/// Whether `role` may send `method` to `path`; the refusal says why, in words.
pub fn check(role: Role, method: &Method, path: &str) -> Result<(), String> {
    match role {
        Role::Administrator => Ok(()),
        Role::Viewer if is_read(method) => Ok(()),
        Role::Viewer => Err(format!(
            "role `viewer` may not {method} {path}: viewers may only read (GET); \
             ask an administrator"
        )),
        Role::Publisher => Err(format!(
            "role `publisher` may not {method} {path}: publishers may only publish messages \
             (EMQX's POST /api/v5/publish), which Tributary does not offer"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrators_do_everything_viewers_read_publishers_nothing() {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            assert!(check(Role::Administrator, &method, "/api/v5/rules").is_ok());
            assert_eq!(
                check(Role::Viewer, &method, "/api/v5/rules").is_ok(),
                method == Method::GET
            );
            let refusal = check(Role::Publisher, &method, "/api/v5/rules").unwrap_err();
            assert!(refusal.contains("publisher") && refusal.contains(method.as_str()));
        }
        let refusal = check(Role::Viewer, &Method::POST, "/api/v5/rule_test").unwrap_err();
        assert!(refusal.contains("POST /api/v5/rule_test"), "{refusal}");
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(Role::parse("superuser"), None);
        assert_eq!(Role::default(), Role::Administrator);
    }
}
