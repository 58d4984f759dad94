//! TLS for the servers of both planes: a certificate and key read from PEM files and followed as
//! the files change (cert-manager or a Kubernetes Secret rotate them in place), so a rotation needs
//! no restart; and the rustls configurations built on it.
//!
//! rustls with the ring provider everywhere: tonic and reqwest use ring too, so one provider is
//! compiled and no process-wide default has to be installed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How often a handshake looks at the files' modification times: a `stat` of two files at most
/// once a second costs nothing next to a handshake, and a rotation shows within a second.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a PEM file of certificates: {reason}")]
    BadCertificates { path: PathBuf, reason: String },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path}: no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("client CA {path}: {reason}")]
    ClientCa { path: PathBuf, reason: String },
    #[error("building the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The crypto provider of every TLS configuration we build.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate of a PEM file (a chain: leaf first).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificates {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::BadKey {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The certificate chain and key of two PEM files, checked to belong together.
pub fn load_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = load_certificates(cert)?;
    let private = load_key(key)?;
    CertifiedKey::from_der(chain, private, provider).map_err(|source| TlsError::KeyMismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    })
}

/// An error and its causes on one line, for a log field.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What identifies a version of a file without reading it.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    // `metadata` follows symbolic links: a Kubernetes Secret volume swaps a `..data` link, and
    // the file behind it is new with its own modification time.
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// A server certificate that follows its files: a handshake after the files changed gets the new
/// certificate. A new pair that does not load (half written, wrong key) is logged and the
/// previous certificate stays in use.
#[derive(Debug)]
pub struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    check_interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    current: Arc<CertifiedKey>,
    stamps: (Stamp, Stamp),
    checked_at: Instant,
}

impl ReloadingCertificate {
    /// Loads the pair now: a server must not start with files it cannot use.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let provider = provider();
        let stamps = (stamp(cert), stamp(key));
        let current = Arc::new(load_certified_key(cert, key, &provider)?);
        Ok(Self {
            cert_path: cert.to_owned(),
            key_path: key.to_owned(),
            provider,
            check_interval: DEFAULT_CHECK_INTERVAL,
            state: Mutex::new(State {
                current,
                stamps,
                checked_at: Instant::now(),
            }),
        })
    }

    /// Looks at the files at most this often (tests use zero).
    pub fn with_check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// The certificate to present now, reloaded first when the files changed since the last look.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.checked_at.elapsed() >= self.check_interval {
            state.checked_at = Instant::now();
            let stamps = (stamp(&self.cert_path), stamp(&self.key_path));
            if stamps != state.stamps {
                // Remembered even when the load fails, so a bad pair is reported once, not at
                // every handshake; the next write to either file is tried again.
                state.stamps = stamps;
                match load_certified_key(&self.cert_path, &self.key_path, &self.provider) {
                    Ok(loaded) => {
                        state.current = Arc::new(loaded);
                        tracing::info!(
                            cert = %self.cert_path.display(),
                            key = %self.key_path.display(),
                            "TLS certificate reloaded"
                        );
                    }
                    Err(error) => tracing::error!(
                        error = %with_causes(&error),
                        cert = %self.cert_path.display(),
                        "the changed TLS certificate does not load; still serving the previous one"
                    ),
                }
            }
        }
        state.current.clone()
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A server configuration presenting `certificate`; with `client_ca`, every client must present
/// a certificate issued by one of the CAs in that PEM file (mutual TLS).
pub fn server_config(
    certificate: Arc<ReloadingCertificate>,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, TlsError> {
    let provider = certificate.provider.clone();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in load_certificates(path)? {
                roots.add(cert).map_err(|e| TlsError::ClientCa {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::ClientCa {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    Ok(builder.with_cert_resolver(certificate))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rcgen::{CertifiedKey as Generated, generate_simple_self_signed};

    use super::*;

    fn generate(name: &str) -> Generated {
        generate_simple_self_signed(vec![name.to_owned()]).unwrap()
    }

    fn write(dir: &Path, pair: &Generated) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        std::fs::write(&cert, pair.cert.pem()).unwrap();
        std::fs::write(&key, pair.key_pair.serialize_pem()).unwrap();
        (cert, key)
    }

    fn served(resolver: &ReloadingCertificate) -> Vec<u8> {
        resolver.current().cert[0].to_vec()
    }

    #[test]
    fn serves_the_certificate_of_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = generate("first.example");
        let (cert, key) = write(dir.path(), &first);
        let resolver = ReloadingCertificate::load(&cert, &key).unwrap();
        assert_eq!(served(&resolver), first.cert.der().to_vec());
    }

    #[test]
    fn a_rotated_pair_is_served_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write(dir.path(), &generate("first.example"));
        let resolver = ReloadingCertificate::load(&cert, &key)
            .unwrap()
            .with_check_interval(Duration::ZERO);
        let second = generate("second.example");
        write(dir.path(), &second);
        assert_eq!(served(&resolver), second.cert.der().to_vec());
    }

    #[test]
    fn files_are_looked_at_only_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let first = generate("first.example");
        let (cert, key) = write(dir.path(), &first);
        let resolver = ReloadingCertificate::load(&cert, &key)
            .unwrap()
            .with_check_interval(Duration::from_secs(3600));
        write(dir.path(), &generate("second.example"));
        assert_eq!(served(&resolver), first.cert.der().to_vec());
    }

    #[test]
    fn a_broken_new_pair_keeps_the_previous_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = generate("first.example");
        let (cert, key) = write(dir.path(), &first);
        let resolver = ReloadingCertificate::load(&cert, &key)
            .unwrap()
            .with_check_interval(Duration::ZERO);
        std::fs::write(&cert, "not a certificate").unwrap();
        assert_eq!(served(&resolver), first.cert.der().to_vec());
        // The certificate of another key: loads as PEM, fails the pairing check.
        std::fs::write(&cert, generate("other.example").cert.pem()).unwrap();
        assert_eq!(served(&resolver), first.cert.der().to_vec());
        // Once the pair is whole again it is served.
        let third = generate("third.example");
        write(dir.path(), &third);
        assert_eq!(served(&resolver), third.cert.der().to_vec());
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_at_startup() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = write(dir.path(), &generate("first.example"));
        let other = dir.path().join("other.key");
        std::fs::write(&other, generate("other.example").key_pair.serialize_pem()).unwrap();
        let error = ReloadingCertificate::load(&cert, &other).unwrap_err();
        assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error}");
    }

    #[test]
    fn missing_or_empty_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.crt");
        let error = ReloadingCertificate::load(&missing, &missing).unwrap_err();
        assert!(error.to_string().contains("missing.crt"), "{error}");
        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "").unwrap();
        let error = load_certificates(&empty).unwrap_err();
        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error}");
    }

    #[test]
    fn a_client_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write(dir.path(), &generate("server.example"));
        let resolver = Arc::new(ReloadingCertificate::load(&cert, &key).unwrap());
        let empty = dir.path().join("ca.crt");
        std::fs::write(&empty, "").unwrap();
        assert!(server_config(resolver.clone(), Some(&empty)).is_err());
        assert!(server_config(resolver.clone(), Some(&cert)).is_ok());
        assert!(server_config(resolver, None).is_ok());
    }
}
