//! The gRPC client towards the control plane, with the worker token on every call.

use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};
use tributary_protocol::AUTHORIZATION_METADATA;
use tributary_protocol::worker::v1::worker_service_client::WorkerServiceClient;

use super::tls::ControlPlaneTlsArgs;

pub type WorkerClient = WorkerServiceClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct BearerToken {
    header: MetadataValue<tonic::metadata::Ascii>,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(******)")
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(AUTHORIZATION_METADATA, self.header.clone());
        Ok(request)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("control plane address `{0}` is not a valid URI")]
    BadAddress(String),
    #[error("the worker token contains characters not allowed in gRPC metadata")]
    BadToken,
    #[error(transparent)]
    TlsFiles(#[from] super::tls::TlsSetupError),
    #[error("the TLS configuration towards the control plane is not usable")]
    Tls(#[source] tonic::transport::Error),
}

/// A lazily connecting client: the channel connects on first use and reconnects by itself.
pub fn connect(address: &str, token: &str) -> Result<WorkerClient, ClientSetupError> {
    connect_with_tls(address, token, &ControlPlaneTlsArgs::default())
}

/// Like [`connect`], over TLS for an `https://` address (see [`ControlPlaneTlsArgs`]).
pub fn connect_with_tls(
    address: &str,
    token: &str,
    tls: &ControlPlaneTlsArgs,
) -> Result<WorkerClient, ClientSetupError> {
    let mut endpoint = Endpoint::from_shared(address.to_owned())
        .map_err(|_| ClientSetupError::BadAddress(address.to_owned()))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Some(config) = tls.client_config(address)? {
        // Parses the CA and the client certificate now, so a bad file stops the worker at startup.
        endpoint = endpoint.tls_config(config).map_err(ClientSetupError::Tls)?;
    }
    let header = format!("Bearer {token}")
        .parse()
        .map_err(|_| ClientSetupError::BadToken)?;
    Ok(WorkerServiceClient::with_interceptor(
        endpoint.connect_lazy(),
        BearerToken { header },
    ))
}
