//! Connection tests: try an (unsaved) configuration for real, within its connect timeout, and say
//! why it failed in words a person can act on (unreachable host, TLS failure, authentication
//! failed, missing topic, MQTT connection refused).
//!
//! Client settings come from the code the workers connect with (`tributary_connect`), so a probe
//! that passes means the workers will connect the same way.

pub mod kafka;
pub mod mqtt;
mod reachability;

/// Why a probe failed; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeFailure(pub String);

impl From<ProbeFailure> for crate::error::ApiError {
    fn from(failure: ProbeFailure) -> Self {
        Self::TestFailed(failure.0)
    }
}
