//! A certificate authority generated at test time (nothing is committed): the control plane's
//! certificate, worker client certificates, and a second, untrusted CA with its own client
//! certificate. Files live in a temporary directory removed with the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// The name (and address) the control plane's certificate carries.
pub const SERVER_NAME: &str = "localhost";

struct Authority {
    cert: Certificate,
    key: KeyPair,
}

// Hand-written: rcgen's certificate has no Debug, and the key is better left out of test output.
impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|e| panic!("CA parameters: {e}"));
        params.distinguished_name = common_name(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap_or_else(|e| panic!("CA key: {e}"));
        let cert = params
            .self_signed(&key)
            .unwrap_or_else(|e| panic!("CA certificate: {e}"));
        Self { cert, key }
    }

    /// A leaf certificate and its key, as PEM.
    fn issue(&self, name: &str, purpose: ExtendedKeyUsagePurpose) -> (Certificate, KeyPair) {
        let mut params =
            CertificateParams::new(vec![SERVER_NAME.to_owned(), "127.0.0.1".to_owned()])
                .unwrap_or_else(|e| panic!("leaf parameters: {e}"));
        params.distinguished_name = common_name(name);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap_or_else(|e| panic!("leaf key: {e}"));
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .unwrap_or_else(|e| panic!("leaf certificate: {e}"));
        (cert, key)
    }
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// PEM files of a test PKI.
#[derive(Debug)]
pub struct TestPki {
    dir: tempfile::TempDir,
    authority: Authority,
    /// The trusted CA's certificate.
    pub ca: PathBuf,
    /// The control plane's certificate (REST and gRPC) and key; [`TestPki::rotate_server`]
    /// writes a new pair over them.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A worker client certificate of the trusted CA.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// Another CA, trusted by nobody, and a client certificate it issued.
    pub other_ca: PathBuf,
    pub other_client_cert: PathBuf,
    pub other_client_key: PathBuf,
    server_der: Vec<u8>,
}

impl TestPki {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let path = |name: &str| dir.path().join(name);
        let authority = Authority::new("tributary test CA");
        let other = Authority::new("untrusted test CA");
        write(&path("ca.crt"), &authority.cert.pem());
        write(&path("other-ca.crt"), &other.cert.pem());
        let (client, client_key) = authority.issue("worker", ExtendedKeyUsagePurpose::ClientAuth);
        write(&path("client.crt"), &client.pem());
        write(&path("client.key"), &client_key.serialize_pem());
        let (stranger, stranger_key) = other.issue("worker", ExtendedKeyUsagePurpose::ClientAuth);
        write(&path("other-client.crt"), &stranger.pem());
        write(&path("other-client.key"), &stranger_key.serialize_pem());
        let mut pki = Self {
            ca: path("ca.crt"),
            server_cert: path("server.crt"),
            server_key: path("server.key"),
            client_cert: path("client.crt"),
            client_key: path("client.key"),
            other_ca: path("other-ca.crt"),
            other_client_cert: path("other-client.crt"),
            other_client_key: path("other-client.key"),
            server_der: Vec::new(),
            authority,
            dir,
        };
        pki.rotate_server("tributary control plane");
        pki
    }

    /// Issues a new server certificate named `common_name` and writes it over the served files,
    /// key first, as a rotation would.
    pub fn rotate_server(&mut self, common_name: &str) {
        let (cert, key) = self
            .authority
            .issue(common_name, ExtendedKeyUsagePurpose::ServerAuth);
        write(&self.server_key, &key.serialize_pem());
        write(&self.server_cert, &cert.pem());
        self.server_der = cert.der().to_vec();
    }

    /// DER of the server certificate last written.
    pub fn server_der(&self) -> &[u8] {
        &self.server_der
    }

    /// PEM of the trusted CA.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(&self.ca).unwrap_or_else(|e| panic!("CA file: {e}"))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// TLS settings of a [`crate::Stack`]: extra environment of the control plane and of every
/// worker, and the CA the test's REST client trusts.
#[derive(Debug, Clone)]
pub struct StackTls {
    pub control_env: BTreeMap<String, String>,
    pub worker_env: BTreeMap<String, String>,
    pub ca_pem: Vec<u8>,
}

impl TestPki {
    /// The control plane serves [`TestPki::server_cert`] on REST and (by default) gRPC; with
    /// `mutual`, gRPC requires a client certificate of the trusted CA. Workers trust the CA and
    /// present no certificate unless their own environment adds one ([`TestPki::client_env`]).
    pub fn stack_tls(&self, mutual: bool) -> StackTls {
        let mut control_env = env([
            ("TRIBUTARY_HTTP_TLS_CERT", &self.server_cert),
            ("TRIBUTARY_HTTP_TLS_KEY", &self.server_key),
        ]);
        if mutual {
            control_env.extend(env([("TRIBUTARY_GRPC_TLS_CLIENT_CA", &self.ca)]));
        }
        StackTls {
            control_env,
            worker_env: env([("TRIBUTARY_CONTROL_PLANE_CA", &self.ca)]),
            ca_pem: self.ca_pem(),
        }
    }

    /// A worker's environment presenting the trusted client certificate.
    pub fn client_env(&self) -> BTreeMap<String, String> {
        env([
            ("TRIBUTARY_TLS_CLIENT_CERT", &self.client_cert),
            ("TRIBUTARY_TLS_CLIENT_KEY", &self.client_key),
        ])
    }

    /// A worker's environment presenting a client certificate of the untrusted CA.
    pub fn other_client_env(&self) -> BTreeMap<String, String> {
        env([
            ("TRIBUTARY_TLS_CLIENT_CERT", &self.other_client_cert),
            ("TRIBUTARY_TLS_CLIENT_KEY", &self.other_client_key),
        ])
    }
}

fn env<const N: usize>(pairs: [(&str, &PathBuf); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(name, path)| (name.to_owned(), path.display().to_string()))
        .collect()
}
