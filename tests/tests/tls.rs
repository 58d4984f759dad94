//! TLS between the parts, with a CA generated at test time: the REST API over HTTPS (and only
//! HTTPS) with a certificate that is followed on disk, and the worker gRPC service with mutual
//! TLS admitting only workers that present a certificate of the trusted CA.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use tributary_e2e::tls::TestPki;
use tributary_e2e::{Api, Stack, wait_until};

/// DER of the certificate the REST API presents on a new connection; None when no HTTPS
/// request that trusts the test CA gets through.
async fn served_certificate(http: &str, ca_pem: &[u8]) -> Option<Vec<u8>> {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).ok()?)
        .tls_info(true)
        // A new connection, and so a new handshake, every time.
        .pool_max_idle_per_host(0)
        .build()
        .ok()?;
    let response = client
        .get(format!("https://{http}/healthz"))
        .send()
        .await
        .ok()?;
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()
        .map(<[u8]>::to_vec)
}

/// Names of the workers the control plane lists as up.
async fn up_workers(api: &Api) -> Vec<String> {
    let (_, body) = api.call(Method::GET, "/workers", None).await;
    body.get("data")
        .unwrap_or(&body)
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["status"] == "up")
        .filter_map(|w| w["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn rest_api_serves_https_only_and_follows_a_rotated_certificate() {
    let mut pki = TestPki::generate();
    // `start_tls` returns once `/healthz` answered over HTTPS, trusting only the test CA.
    let stack = Stack::start_tls(0, pki.stack_tls(false)).await;
    let ca = pki.ca_pem();

    assert_eq!(
        served_certificate(&stack.http, &ca).await.as_deref(),
        Some(pki.server_der()),
        "the REST API does not serve the certificate of its file"
    );
    let (status, _) = stack.api().call(Method::GET, "/rules", None).await;
    assert!(status.is_success(), "GET /rules over HTTPS: {status}");

    let plain = reqwest::get(format!("http://{}/healthz", stack.http)).await;
    assert!(
        !matches!(&plain, Ok(response) if response.status().is_success()),
        "plain HTTP was answered on the HTTPS port: {plain:?}"
    );
    let untrusting = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .build()
        .expect("client");
    let refused = untrusting
        .get(format!("https://{}/healthz", stack.http))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a client without the CA accepted the certificate"
    );

    // A rotation (cert-manager, a Secret update) writes new files: the next handshakes present
    // the new certificate without a restart.
    let before = pki.server_der().to_vec();
    pki.rotate_server("tributary control plane, rotated");
    assert_ne!(before, pki.server_der());
    let rotated = pki.server_der().to_vec();
    assert!(
        wait_until(Duration::from_secs(15), || async {
            served_certificate(&stack.http, &ca).await.as_deref() == Some(&rotated[..])
        })
        .await,
        "the rotated certificate was not served within 15 s"
    );
    let (status, _) = stack.api().call(Method::GET, "/rules", None).await;
    assert!(
        status.is_success(),
        "GET /rules after the rotation: {status}"
    );
}

#[tokio::test]
async fn grpc_with_mutual_tls_admits_only_workers_with_a_trusted_certificate() {
    let pki = TestPki::generate();
    let mut stack = Stack::start_tls(0, pki.stack_tls(true)).await;
    let api = stack.api();

    let trusted = stack.add_worker(pki.client_env());
    let without_certificate = stack.add_worker(BTreeMap::new());
    let foreign_certificate = stack.add_worker(pki.other_client_env());
    // Presents a good certificate but trusts another CA: it must refuse the control plane.
    let mut distrustful_env = pki.client_env();
    distrustful_env.insert(
        "TRIBUTARY_CONTROL_PLANE_CA".to_owned(),
        pki.other_ca.display().to_string(),
    );
    let distrustful = stack.add_worker(distrustful_env);

    let trusted_name = stack.worker_name(trusted).to_owned();
    assert!(
        wait_until(Duration::from_secs(30), || async {
            up_workers(&api).await.contains(&trusted_name)
        })
        .await,
        "the worker with a trusted client certificate did not register: {:?}",
        up_workers(&api).await
    );
    // It gets its assignments over the mutual-TLS channel: a change reaches it.
    let seen = stack.applied_revision().await;
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    stack.wait_applied_after(seen).await;

    // The others retry on their back-off; none of them gets in.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let up = up_workers(&api).await;
    for (i, why) in [
        (without_certificate, "presents no client certificate"),
        (foreign_certificate, "presents a certificate of another CA"),
        (distrustful, "does not trust the control plane's CA"),
    ] {
        assert!(
            !up.contains(&stack.worker_name(i).to_owned()),
            "a worker that {why} registered: {up:?}"
        );
    }
    assert_eq!(up, vec![trusted_name], "workers up: {up:?}");
}
