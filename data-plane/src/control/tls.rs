//! TLS towards the control plane: which CA the worker trusts for it, and the client certificate
//! it presents when the control plane requires one (mutual TLS). Plain HTTP stays the default.

use std::path::{Path, PathBuf};

use clap::Args;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// TLS flags of `tributary-worker`; they apply to an `https://` control plane address.
#[derive(Debug, Clone, Default, Args)]
pub struct ControlPlaneTlsArgs {
    /// PEM file of the CA(s) that issued the control plane's gRPC certificate. Without it an
    /// `https://` control plane is verified against the system's trusted CAs.
    #[arg(long, env = "TRIBUTARY_CONTROL_PLANE_CA")]
    pub control_plane_ca: Option<PathBuf>,
    /// The name the control plane's certificate must carry, when it differs from the host of
    /// `--control-plane` (e.g. an address by IP).
    #[arg(long, env = "TRIBUTARY_CONTROL_PLANE_TLS_NAME")]
    pub control_plane_tls_name: Option<String>,
    /// PEM client certificate presented to the control plane (mutual TLS). Read at startup.
    #[arg(long, env = "TRIBUTARY_TLS_CLIENT_CERT", requires = "tls_client_key")]
    pub tls_client_cert: Option<PathBuf>,
    /// PEM private key of `--tls-client-cert`.
    #[arg(long, env = "TRIBUTARY_TLS_CLIENT_KEY", requires = "tls_client_cert")]
    pub tls_client_key: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "TLS flags are set but the control plane address `{0}` is not https://; refusing to talk to it in plain text"
    )]
    PlainAddress(String),
}

impl ControlPlaneTlsArgs {
    fn any(&self) -> bool {
        self.control_plane_ca.is_some()
            || self.control_plane_tls_name.is_some()
            || self.tls_client_cert.is_some()
    }

    /// The client TLS configuration for `address`: `None` for an `http://` address.
    pub fn client_config(&self, address: &str) -> Result<Option<ClientTlsConfig>, TlsSetupError> {
        if !address.starts_with("https://") {
            return if self.any() {
                Err(TlsSetupError::PlainAddress(address.to_owned()))
            } else {
                Ok(None)
            };
        }
        let mut config = ClientTlsConfig::new();
        config = match &self.control_plane_ca {
            Some(path) => config.ca_certificate(Certificate::from_pem(read(path)?)),
            None => config.with_native_roots(),
        };
        if let Some(name) = &self.control_plane_tls_name {
            config = config.domain_name(name);
        }
        if let (Some(cert), Some(key)) = (&self.tls_client_cert, &self.tls_client_key) {
            config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        Ok(Some(config))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|source| TlsSetupError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_without_flags_stays_plain() {
        let config = ControlPlaneTlsArgs::default().client_config("http://cp:18090");
        assert!(matches!(config, Ok(None)));
    }

    #[test]
    fn tls_flags_with_a_plain_address_are_refused() {
        let args = ControlPlaneTlsArgs {
            control_plane_ca: Some(PathBuf::from("/etc/tributary/ca.crt")),
            ..ControlPlaneTlsArgs::default()
        };
        let error = args.client_config("http://cp:18090").unwrap_err();
        assert!(matches!(error, TlsSetupError::PlainAddress(_)), "{error}");
    }

    #[test]
    fn https_uses_tls_and_names_a_missing_file() {
        assert!(matches!(
            ControlPlaneTlsArgs::default().client_config("https://cp:18090"),
            Ok(Some(_))
        ));
        let args = ControlPlaneTlsArgs {
            control_plane_ca: Some(PathBuf::from("/nonexistent/tributary-ca.crt")),
            ..ControlPlaneTlsArgs::default()
        };
        let error = args.client_config("https://cp:18090").unwrap_err();
        assert!(error.to_string().contains("tributary-ca.crt"), "{error}");
    }
}
