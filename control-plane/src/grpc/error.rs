//! Why a worker call failed, and how each failure reaches the worker as a gRPC status.

use tonic::Status;

use crate::placement::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum WorkerCallError {
    // --- the worker's fault: it must register (again) or fix its request ---
    #[error("worker `{0}` is not registered; call Register first")]
    UnknownWorker(String),
    #[error(
        "epoch {presented} of worker `{worker_id}` is superseded (current epoch {current}): \
         another process registered under the same name; register again"
    )]
    StaleEpoch {
        worker_id: String,
        presented: u64,
        current: i64,
    },
    #[error("{0}")]
    InvalidArgument(String),

    // --- external: PostgreSQL ---
    #[error("database unavailable")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Placement(#[from] LoadError),
}

impl From<WorkerCallError> for Status {
    fn from(err: WorkerCallError) -> Self {
        match &err {
            WorkerCallError::UnknownWorker(_) => Status::not_found(err.to_string()),
            WorkerCallError::StaleEpoch { .. } => Status::failed_precondition(err.to_string()),
            WorkerCallError::InvalidArgument(_) => Status::invalid_argument(err.to_string()),
            WorkerCallError::Database(_) | WorkerCallError::Placement(_) => {
                // Details stay in our log; the worker only needs to know it should retry.
                tracing::warn!(error = %err, cause = ?std::error::Error::source(&err), "worker call failed");
                Status::unavailable("control plane cannot reach its database; retry")
            }
        }
    }
}
