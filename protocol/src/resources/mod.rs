//! The configuration of every resource a user manages, as the REST API accepts it and as workers
//! receive it inside their assignments.
//!
//! The API envelope (`type`, `name`, `enable`, `description`) is handled by the control plane;
//! these are the type-specific bodies. They reject unknown fields so that a typo is a 400, not a
//! silently ignored setting.

pub mod action;
mod action_validation;
pub mod connector;
mod connector_validation;
pub mod rule;
pub mod secrets;
pub mod source;
mod source_validation;
pub mod validation;

pub use action::*;
pub use connector::*;
pub use rule::*;
pub use secrets::Secrets;
pub use source::*;
pub use validation::{FieldError, FieldErrors, Validate};

/// Passwords are shown as this string on reads; a write that sends it back keeps the stored value.
pub const MASKED_SECRET: &str = "******";
