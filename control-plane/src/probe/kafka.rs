//! Kafka probes: connect and fetch cluster metadata with the worker's client settings, then check
//! that the topics an action or source needs exist.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;
use tributary_connect::kafka::connection_config;
use tributary_protocol::resources::KafkaConnectorConfig;

use super::{ProbeFailure, reachability};

/// Connects and checks that every topic in `topics` exists.
pub async fn probe(config: &KafkaConnectorConfig, topics: &[String]) -> Result<(), ProbeFailure> {
    let connect_timeout = config.connect_timeout.0;
    let hosts: Vec<&str> = config.bootstrap_hosts.split(',').collect();
    reachability::any_reachable(&hosts, connect_timeout).await?;

    let client = connection_config(config);
    let timeout = connect_timeout + config.metadata_request_timeout.0;
    let metadata = tokio::task::spawn_blocking(move || fetch_metadata(client, timeout))
        .await
        .map_err(|e| ProbeFailure(format!("the probe stopped unexpectedly: {e}")))??;
    let missing: Vec<&str> = topics
        .iter()
        .map(String::as_str)
        .filter(|wanted| {
            !metadata
                .topics()
                .iter()
                .any(|t| t.name() == *wanted && t.error().is_none())
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ProbeFailure(format!(
            "topic does not exist: {}",
            missing.join(", ")
        )))
    }
}

/// What librdkafka reported while the probe ran; its errors carry the useful words ("SSL
/// handshake failed", "SASL authentication error").
#[derive(Debug, Default, Clone)]
struct ProbeContext {
    reasons: Arc<Mutex<Vec<String>>>,
}

impl ProbeContext {
    fn remember(&self, reason: String) {
        if let Ok(mut reasons) = self.reasons.lock()
            && !reasons.contains(&reason)
        {
            reasons.push(reason);
        }
    }

    fn reasons(&self) -> Vec<String> {
        self.reasons.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl ClientContext for ProbeContext {
    fn log(&self, level: RDKafkaLogLevel, _facility: &str, message: &str) {
        if matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
                | RDKafkaLogLevel::Warning
        ) {
            self.remember(message.to_owned());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.remember(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for ProbeContext {}

/// Blocking: librdkafka's metadata call waits on its own threads.
fn fetch_metadata(
    mut client: rdkafka::ClientConfig,
    timeout: Duration,
) -> Result<Metadata, ProbeFailure> {
    let context = ProbeContext::default();
    client.set_log_level(RDKafkaLogLevel::Warning);
    let consumer: BaseConsumer<ProbeContext> = client
        .create_with_context(context.clone())
        .map_err(|e| ProbeFailure(format!("invalid client configuration: {e}")))?;
    consumer.fetch_metadata(None, timeout).map_err(|error| {
        // Error events reach the context only through polling; drain them for the explanation.
        for _ in 0..5 {
            if let Some(Err(polled)) = consumer.poll(Duration::from_millis(20)) {
                context.remember(polled.to_string());
            }
        }
        ProbeFailure(explain(&error, &context.reasons(), timeout))
    })
}

/// Turns librdkafka's error and what it logged into one sentence: the category a person acts on,
/// then the one log line that shows it.
fn explain(error: &KafkaError, reasons: &[String], timeout: Duration) -> String {
    let reasons: Vec<&str> = reasons
        .iter()
        .map(|r| strip_thread(r))
        // Tuning advice from librdkafka says nothing about this connection.
        .filter(|r| !r.starts_with("Configuration `"))
        .collect();
    // Words are looked for in what librdkafka says, not in the broker's address: on a SASL_SSL
    // listener every line starts `sasl_ssl://…`, whatever went wrong.
    let find = |words: &[&str]| {
        reasons.iter().copied().find(|r| {
            let lower = without_addresses(r).to_ascii_lowercase();
            words.iter().any(|w| lower.contains(w))
        })
    };
    let fallback = || {
        reasons
            .first()
            .map_or_else(|| error.to_string(), |r| (*r).to_owned())
    };
    if let Some(line) = find(&["sasl", "authentication"]) {
        format!("authentication failed: {line}")
    } else if let Some(line) = find(&["ssl", "certificate", "handshake"]) {
        format!("TLS failure: {line}")
    } else if let Some(line) = find(&["connection refused"]) {
        format!("unreachable host: {line}")
    } else if error.rdkafka_error_code() == Some(RDKafkaErrorCode::OperationTimedOut) {
        format!(
            "no metadata from the cluster within {}ms: {}",
            timeout.as_millis(),
            fallback()
        )
    } else {
        format!("cannot talk to the Kafka cluster: {}", fallback())
    }
}

/// The line without its broker addresses (`sasl_ssl://host:9092/bootstrap:`), wherever they stand.
fn without_addresses(line: &str) -> String {
    line.split_whitespace()
        .filter(|word| !word.contains("://"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[thrd:ssl://host:9092/bootstrap]: ssl://host:9092/bootstrap: text` -> `ssl://host:9092/bootstrap: text`.
fn strip_thread(line: &str) -> &str {
    match line
        .strip_prefix("[thrd:")
        .and_then(|rest| rest.split_once("]: "))
    {
        Some((_, text)) => text,
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_pick_the_telling_line() {
        let error = KafkaError::MetadataFetch(RDKafkaErrorCode::BrokerTransportFailure);
        let reasons = vec![
            "[thrd:app]: Configuration `a` with value 3 is greater than configuration `b`".to_owned(),
            "[thrd:ssl://h:9092/bootstrap]: ssl://h:9092/bootstrap: Connection setup timed out in state SSL_HANDSHAKE".to_owned(),
            "Global error: AllBrokersDown".to_owned(),
        ];
        assert_eq!(
            explain(&error, &reasons, Duration::from_secs(1)),
            "TLS failure: ssl://h:9092/bootstrap: Connection setup timed out in state SSL_HANDSHAKE"
        );
        let sasl = vec!["[thrd:x]: sasl_plaintext://h:9092/bootstrap: SASL authentication error: Authentication failed".to_owned()];
        assert!(
            explain(&error, &sasl, Duration::from_secs(1))
                .starts_with("authentication failed: sasl_plaintext://h")
        );
        assert!(
            explain(&error, &[], Duration::from_secs(1))
                .starts_with("cannot talk to the Kafka cluster")
        );
        // The address of a SASL_SSL listener names both; the text says which failed.
        let tls = vec!["[thrd:x]: sasl_ssl://h:9095/bootstrap: SSL handshake failed: certificate verify failed".to_owned()];
        assert!(
            explain(&error, &tls, Duration::from_secs(1))
                .starts_with("TLS failure: sasl_ssl://h:9095/bootstrap: SSL handshake failed")
        );
        let global = vec!["Global error: SSL (Local: SSL error): sasl_ssl://h:9095/bootstrap: SSL handshake failed".to_owned()];
        assert!(explain(&error, &global, Duration::from_secs(1)).starts_with("TLS failure: "));
        let auth = vec!["[thrd:x]: sasl_ssl://h:9095/bootstrap: SASL authentication error: Authentication failed".to_owned()];
        assert!(
            explain(&error, &auth, Duration::from_secs(1))
                .starts_with("authentication failed: sasl_ssl://h")
        );
    }
}
