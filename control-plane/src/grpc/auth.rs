//! Worker authentication: every gRPC call carries `authorization: Bearer <worker token>`.

use sha2::{Digest, Sha256};
use tonic::service::Interceptor;
use tonic::{Request, Status};
use tributary_protocol::AUTHORIZATION_METADATA;

/// A tonic interceptor refusing calls without the shared worker token (UNAUTHENTICATED).
#[derive(Clone)]
pub struct WorkerTokenCheck {
    expected: [u8; 32],
}

impl WorkerTokenCheck {
    pub fn new(token: &str) -> Self {
        Self {
            expected: Sha256::digest(token.as_bytes()).into(),
        }
    }

    fn accepts(&self, presented: &str) -> bool {
        // Comparing fixed-length digests with no early exit keeps the time taken independent of
        // how much of the token (and of its length) a caller guessed right.
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        presented
            .iter()
            .zip(self.expected.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

impl Interceptor for WorkerTokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get(AUTHORIZATION_METADATA)
            .and_then(|value| value.to_str().ok());
        let token = header.and_then(|value| value.strip_prefix("Bearer "));
        match token {
            Some(token) if self.accepts(token) => Ok(request),
            Some(_) => Err(Status::unauthenticated("invalid worker token")),
            None => Err(Status::unauthenticated(
                "missing `authorization: Bearer <worker token>` metadata",
            )),
        }
    }
}

impl std::fmt::Debug for WorkerTokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerTokenCheck(<redacted>)")
    }
}
