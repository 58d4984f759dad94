//! The REST API over HTTPS as `--http-tls-cert`/`--http-tls-key` configure it, reached by
//! `tributary-control export` with `--api-ca`; a CA generated at test time, nothing committed.

// The helpers below fail the test loudly, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use sqlx::PgPool;
use tributary_control_plane::app;
use tributary_control_plane::tls::TlsArgs;

/// Writes a CA (`ca.crt`) and a certificate for 127.0.0.1 it issued (`server.crt`/`.key`).
fn write_pki(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

/// Serves the real application over HTTPS on a free loopback port; returns its base URL.
async fn serve_https(pool: PgPool, dir: &Path) -> String {
    let tls = TlsArgs {
        http_tls_cert: Some(dir.join("server.crt")),
        http_tls_key: Some(dir.join("server.key")),
        ..TlsArgs::default()
    };
    let config = tls.http_config().unwrap().expect("TLS is configured");
    let state = common::state(pool).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let spec = app::openapi_json();
    let server = actix_web::HttpServer::new(move || app::build(state.clone(), spec.clone()))
        .workers(1)
        .disable_signals()
        .listen_rustls_0_23(listener, config)
        .unwrap()
        .run();
    tokio::spawn(server);
    format!("https://{address}")
}

async fn export(api: &str, ca: Option<&Path>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tributary-control"));
    command
        .arg("export")
        .env("TRIBUTARY_API", api)
        .env("TRIBUTARY_API_KEY", common::API_KEY)
        .env("TRIBUTARY_API_SECRET", common::API_SECRET);
    if let Some(ca) = ca {
        command.env("TRIBUTARY_API_CA", ca);
    }
    command.output().await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn export_reaches_an_https_api_that_its_ca_file_vouches_for(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let api = serve_https(pool, dir.path()).await;

    let trusted = export(&api, Some(&dir.path().join("ca.crt"))).await;
    let stderr = String::from_utf8_lossy(&trusted.stderr);
    assert!(trusted.status.success(), "{stderr}");
    let document = String::from_utf8(trusted.stdout).unwrap();
    assert!(document.contains("format_version"), "{document}");

    // The test CA is in no system store: without --api-ca the certificate is refused.
    let untrusted = export(&api, None).await;
    assert!(!untrusted.status.success(), "an unknown CA was accepted");
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        stderr.contains("cannot reach the control plane"),
        "{stderr}"
    );
}
