//! Flow versions: a digest of everything a flow runs, so a worker restarts a flow only when
//! something it depends on actually changed.

use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the flow's spec JSON. The JSON is deterministic: struct fields serialise in
/// declaration order and stored JSONB objects come back with their keys in a canonical order.
pub fn flow_version(spec_json: &str) -> String {
    hex::encode(Sha256::digest(spec_json.as_bytes()))
}
