//! The public face of a compiled rule: parse once, evaluate many times.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{EvalError, ParseError};
use crate::event::Event;

/// One source named in a rule's FROM clause.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleInput {
    /// An MQTT topic filter (`t/#`); matches `message.publish` events.
    TopicFilter(String),
    /// A Kafka consumer source, by name (`$bridges/kafka_consumer:<name>` or
    /// `$sources/kafka_consumer:<name>`).
    KafkaSource(String),
    /// Any other `$events/...` source; parsed and kept, never matched by the bridge's events.
    Event(String),
}

/// The result of applying a rule to an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// The event did not match the FROM clause, or WHERE was false.
    NoMatch,
    /// A SELECT rule's output row (a JSON object).
    Row(Value),
    /// A FOREACH rule's output rows (each a JSON object), possibly empty.
    Rows(Vec<Value>),
}

impl Output {
    /// The rows to hand to actions: none, one, or FOREACH's many.
    pub fn into_rows(self) -> Vec<Value> {
        match self {
            Self::NoMatch => Vec::new(),
            Self::Row(row) => vec![row],
            Self::Rows(rows) => rows,
        }
    }

    /// The `/rule_test` response body: the row, the list of rows, or `None` for no match.
    pub fn to_json(&self) -> Option<Value> {
        match self {
            Self::NoMatch => None,
            Self::Row(row) => Some(row.clone()),
            Self::Rows(rows) => Some(Value::Array(rows.clone())),
        }
    }
}

/// A compiled rule. Cheap to clone and safe to share between threads.
#[derive(Debug, Clone)]
pub struct Rule {
    inner: Arc<RuleInner>,
}

#[derive(Debug)]
struct RuleInner {
    sql: String,
    inputs: Vec<RuleInput>,
}

impl Rule {
    /// Parses and compiles a rule SQL statement.
    pub fn parse(sql: &str) -> Result<Rule, ParseError> {
        let _ = sql;
        Err(ParseError::new(1, 1, "not implemented yet"))
    }

    /// The SQL text the rule was parsed from.
    pub fn sql(&self) -> &str {
        &self.inner.sql
    }

    /// The FROM clause.
    pub fn inputs(&self) -> &[RuleInput] {
        &self.inner.inputs
    }

    /// Whether the event comes from one of the rule's inputs (WHERE is not considered).
    pub fn matches_input(&self, event: &Event) -> bool {
        let _ = event;
        false
    }

    /// Applies the rule to an event.
    pub fn evaluate(&self, event: &Event) -> Result<Output, EvalError> {
        let _ = event;
        Ok(Output::NoMatch)
    }
}
