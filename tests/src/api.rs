//! The REST API as a test uses it.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    base: String,
    key: String,
    secret: String,
}

impl Api {
    pub fn new(http: &str, key: &str, secret: &str) -> Self {
        Self {
            client: Client::new(),
            base: format!("http://{http}"),
            key: key.to_owned(),
            secret: secret.to_owned(),
        }
    }

    /// A client of an HTTPS API whose certificate `ca_pem` issued; no other CA is trusted.
    pub fn with_ca(http: &str, key: &str, secret: &str, ca_pem: &[u8]) -> Self {
        let ca = reqwest::Certificate::from_pem(ca_pem)
            .unwrap_or_else(|e| panic!("the test CA is not PEM: {e}"));
        let client = Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .build()
            .unwrap_or_else(|e| panic!("building an HTTPS client: {e}"));
        Self {
            client,
            base: format!("https://{http}"),
            key: key.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub async fn healthy(&self) -> bool {
        matches!(
            self.client.get(format!("{}/healthz", self.base)).send().await,
            Ok(r) if r.status().is_success()
        )
    }

    /// Any request under `/api/v5`; returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: request failed: {e}"))
    }

    /// Like [`Api::call`], with a failed request (nothing listening, connection reset) as an
    /// error instead of a panic: for callers that expect the control plane to come and go.
    pub async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut request = self
            .client
            .request(method, format!("{}/api/v5{path}", self.base))
            .basic_auth(&self.key, Some(&self.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// POST that must succeed; returns the body.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, response) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(status.is_success(), "POST {path}: {status} {response}");
        response
    }

    /// PUT that must succeed; returns the body.
    pub async fn put(&self, path: &str, body: Value) -> Value {
        let (status, response) = self.call(reqwest::Method::PUT, path, Some(body)).await;
        assert!(status.is_success(), "PUT {path}: {status} {response}");
        response
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, response) = self.call(reqwest::Method::GET, path, None).await;
        assert!(status.is_success(), "GET {path}: {status} {response}");
        response
    }

    /// The `default` MQTT connector, pointing at the test broker.
    pub async fn create_default_mqtt_connector(&self, server: &str) {
        self.post(
            "/connectors",
            json!({"type": "mqtt", "name": "default", "server": server, "keepalive": "10s"}),
        )
        .await;
    }

    pub async fn create_kafka_producer_connector(&self, name: &str, bootstrap: &str) {
        self.post(
            "/connectors",
            json!({"type": "kafka_producer", "name": name, "bootstrap_hosts": bootstrap}),
        )
        .await;
    }

    /// A `kafka_producer` action with `parameters`.
    pub async fn create_kafka_action(&self, name: &str, connector: &str, parameters: Value) {
        self.post(
            "/actions",
            json!({"type": "kafka_producer", "name": name, "connector": connector, "parameters": parameters}),
        )
        .await;
    }

    /// A rule; returns its id.
    pub async fn create_rule(&self, id: &str, sql: &str, actions: Value) -> String {
        let body = self
            .post(
                "/rules",
                json!({"id": id, "name": id, "sql": sql, "actions": actions, "enable": true}),
            )
            .await;
        body.get("id")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_owned()
    }

    /// A rule's metrics as the API reports them (aggregated over workers).
    pub async fn rule_metrics(&self, id: &str) -> Value {
        self.get(&format!("/rules/{id}/metrics")).await
    }
}
