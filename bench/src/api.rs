//! A small client for the control plane's EMQX v5-style REST API (HTTP Basic with an API key).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::error::{BenchError, Result};

#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    /// Base URL including `/api/v5`.
    base: String,
    key: String,
    secret: String,
}

impl ApiClient {
    pub fn new(base: &str, key: &str, secret: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| BenchError::Setup(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            secret: secret.to_owned(),
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, "GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::POST, "POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::PUT, "PUT", path, Some(body)).await
    }

    /// Deletes; a resource that is already gone is not an error.
    pub async fn delete(&self, path: &str) -> Result<()> {
        match self.call(Method::DELETE, "DELETE", path, None).await {
            Ok(_) | Err(BenchError::Api { status: 404, .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn call(
        &self,
        method: Method,
        name: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.key, Some(&self.secret));
        if let Some(body) = body {
            request = request.json(body);
        }
        let http_error = |source| BenchError::Http {
            method: name,
            path: path.to_owned(),
            source,
        };
        let response = request.send().await.map_err(http_error)?;
        let status = response.status();
        let text = response.text().await.map_err(http_error)?;
        if !status.is_success() {
            return Err(BenchError::Api {
                method: name,
                path: path.to_owned(),
                status: status.as_u16(),
                body: text,
            });
        }
        if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| BenchError::Api {
            method: name,
            path: path.to_owned(),
            status: status.as_u16(),
            body: format!("not JSON ({e}): {text}"),
        })
    }
}

/// The items of a list response: a bare array or EMQX's `{"data": [...]}` page.
pub fn list_items(body: &Value) -> &[Value] {
    match body {
        Value::Array(items) => items,
        Value::Object(map) => map
            .get("data")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice),
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_items_accepts_bare_arrays_and_pages() {
        assert_eq!(list_items(&json!([1, 2])).len(), 2);
        assert_eq!(
            list_items(&json!({"data": [1], "meta": {"count": 1}})).len(),
            1
        );
        assert!(list_items(&json!({"code": "X"})).is_empty());
    }
}
