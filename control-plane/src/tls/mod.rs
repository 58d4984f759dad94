//! TLS of the REST API and of the worker gRPC service: the flags, and the rustls configurations
//! built from them. Certificates follow their files (`tributary_service::tls`), so a rotation by
//! cert-manager or a Secret update needs no restart.
//!
//! - `incoming`: TLS handshakes in front of the gRPC server

pub mod incoming;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use rustls::ServerConfig;
use tributary_service::tls::{ReloadingCertificate, TlsError, server_config};

/// TLS flags of `tributary-control`. Without them both servers speak plain HTTP.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// PEM certificate chain of the REST API: with it (and its key) the API serves HTTPS only.
    /// Re-read when the file changes.
    #[arg(long, env = "TRIBUTARY_HTTP_TLS_CERT", requires = "http_tls_key")]
    pub http_tls_cert: Option<PathBuf>,
    /// PEM private key of `--http-tls-cert`.
    #[arg(long, env = "TRIBUTARY_HTTP_TLS_KEY", requires = "http_tls_cert")]
    pub http_tls_key: Option<PathBuf>,
    /// PEM certificate chain of the worker gRPC service; defaults to `--http-tls-cert`, so one
    /// certificate (with both names) can serve both. Re-read when the file changes.
    #[arg(long, env = "TRIBUTARY_GRPC_TLS_CERT", requires = "grpc_tls_key")]
    pub grpc_tls_cert: Option<PathBuf>,
    /// PEM private key of `--grpc-tls-cert`.
    #[arg(long, env = "TRIBUTARY_GRPC_TLS_KEY", requires = "grpc_tls_cert")]
    pub grpc_tls_key: Option<PathBuf>,
    /// PEM file of the CAs that issue worker client certificates: with it every worker must
    /// present one of their certificates (mutual TLS). Needs TLS on the gRPC service.
    #[arg(long, env = "TRIBUTARY_GRPC_TLS_CLIENT_CA")]
    pub grpc_tls_client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error(
        "--grpc-tls-client-ca needs a gRPC certificate (--grpc-tls-cert/--grpc-tls-key or --http-tls-cert/--http-tls-key)"
    )]
    ClientCaWithoutCertificate,
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// ALPN of gRPC: tonic's clients insist on HTTP/2 being negotiated.
const ALPN_H2: &[u8] = b"h2";

impl TlsArgs {
    /// The REST API's configuration, when it serves HTTPS. actix-web adds its own ALPN names.
    pub fn http_config(&self) -> Result<Option<ServerConfig>, TlsSetupError> {
        let (Some(cert), Some(key)) = (&self.http_tls_cert, &self.http_tls_key) else {
            return Ok(None);
        };
        let certificate = Arc::new(ReloadingCertificate::load(cert, key)?);
        Ok(Some(server_config(certificate, None)?))
    }

    /// The gRPC service's configuration, when it serves TLS: its own pair, else the REST one.
    pub fn grpc_config(&self) -> Result<Option<Arc<ServerConfig>>, TlsSetupError> {
        let pair = match (&self.grpc_tls_cert, &self.grpc_tls_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => self.http_tls_cert.as_ref().zip(self.http_tls_key.as_ref()),
        };
        let Some((cert, key)) = pair else {
            return match self.grpc_tls_client_ca {
                Some(_) => Err(TlsSetupError::ClientCaWithoutCertificate),
                None => Ok(None),
            };
        };
        let certificate = Arc::new(ReloadingCertificate::load(cert, key)?);
        let mut config = server_config(certificate, self.grpc_tls_client_ca.as_deref())?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Some(Arc::new(config)))
    }
}
