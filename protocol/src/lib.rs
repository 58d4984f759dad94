//! What both planes speak: the worker gRPC protocol, the resource specifications users write
//! through the API, the fully resolved flows workers run, and EMQX-style units.

pub mod assignment;
pub mod resources;
pub mod units;

/// Generated gRPC types, client and server for `proto/worker.proto`.
#[allow(missing_debug_implementations, unused_qualifications, clippy::all)]
pub mod worker {
    pub mod v1 {
        tonic::include_proto!("tributary.worker.v1");
    }
}

/// gRPC metadata key carrying `Bearer <token>` on every worker call.
pub const AUTHORIZATION_METADATA: &str = "authorization";
