//! Save-time checks the control plane adds to the protocol crate's [`Validate`] impls: names,
//! templates and rule SQL, buffer modes that need a static topic, and references to other stored
//! resources.
//!
//! [`Validate`]: tributary_protocol::resources::Validate

pub mod buffer_mode;
pub mod names;
pub mod references;
pub mod rule_sql;
pub mod templates;
