//! The two REST calls the CLI makes, with the API key over HTTP Basic.

use anyhow::{Context, bail};
use serde_json::Value;

use crate::api::data::sealing::PASSPHRASE_HEADER;
use crate::config::ApiArgs;

pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    secret: String,
}

impl Client {
    pub fn new(args: &ApiArgs) -> anyhow::Result<Self> {
        let mut http = reqwest::Client::builder();
        if let Some(path) = &args.api_ca {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading the API CA {}", path.display()))?;
            let ca = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
            http = http.add_root_certificate(ca);
        }
        Ok(Self {
            http: http.build().context("building the HTTP client")?,
            base: args.api.trim_end_matches('/').to_owned(),
            key: args.api_key.clone(),
            secret: args.api_secret.clone(),
        })
    }

    /// `GET /api/v5/data/export`.
    pub async fn export(
        &self,
        include_secrets: bool,
        passphrase: Option<&str>,
    ) -> anyhow::Result<Value> {
        let request = self
            .http
            .get(format!("{}/api/v5/data/export", self.base))
            .query(&[("include_secrets", include_secrets)]);
        self.send(with_passphrase(request, passphrase)).await
    }

    /// `POST /api/v5/data/import`.
    pub async fn import(
        &self,
        document: &Value,
        dry_run: bool,
        prune: bool,
        passphrase: Option<&str>,
    ) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(format!("{}/api/v5/data/import", self.base))
            .query(&[("dry_run", dry_run), ("prune", prune)])
            .json(document);
        self.send(with_passphrase(request, passphrase)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .basic_auth(&self.key, Some(&self.secret))
            .send()
            .await
            .with_context(|| format!("cannot reach the control plane at {}", self.base))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("the control plane answered {status} without JSON"))?;
        if !status.is_success() {
            bail!(
                "the control plane refused: {status}: {}",
                describe_error(&body)
            );
        }
        Ok(body)
    }
}

fn with_passphrase(
    request: reqwest::RequestBuilder,
    passphrase: Option<&str>,
) -> reqwest::RequestBuilder {
    match passphrase {
        Some(passphrase) => request.header(PASSPHRASE_HEADER, passphrase),
        None => request,
    }
}

/// The API's error body in one line: the field and the reason when there is one.
fn describe_error(body: &Value) -> String {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    match (text("field"), text("reason"), text("message")) {
        (Some(field), Some(reason), _) => format!("{field}: {reason}"),
        (_, _, Some(message)) => message.to_owned(),
        _ => body.to_string(),
    }
}
