//! The harness's errors, classified so a failed run says whose move it is: the user's (the stack
//! is not up or not configured), an external system's (broker, Kafka, control plane, Python), or
//! the harness's own.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    User,
    External,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("setup: {0}")]
    Setup(String),
    #[error("MQTT {context}: {message}")]
    Mqtt { context: String, message: String },
    #[error("Kafka {context}: {message}")]
    Kafka { context: String, message: String },
    #[error("control plane {method} {path} answered {status}: {body}")]
    Api {
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
    #[error("control plane {method} {path} unreachable: {source}")]
    Http {
        method: &'static str,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} did not happen within {after:?}")]
    Timeout { what: String, after: Duration },
    #[error("internal: {0}")]
    Internal(String),
}

impl BenchError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Setup(_) => ErrorClass::User,
            Self::Mqtt { .. }
            | Self::Kafka { .. }
            | Self::Api { .. }
            | Self::Http { .. }
            | Self::Io { .. }
            | Self::Timeout { .. } => ErrorClass::External,
            Self::Internal(_) => ErrorClass::Internal,
        }
    }

    pub fn mqtt(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Self::Mqtt {
            context: context.into(),
            message: err.to_string(),
        }
    }

    pub fn kafka(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Self::Kafka {
            context: context.into(),
            message: err.to_string(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub fn timeout(what: impl Into<String>, after: Duration) -> Self {
        Self::Timeout {
            what: what.into(),
            after,
        }
    }
}

impl From<tokio::task::JoinError> for BenchError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::Internal(format!("a load task ended abnormally: {err}"))
    }
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;
