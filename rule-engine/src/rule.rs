//! The public face of a compiled rule: parse once, evaluate many times.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{EvalError, ParseError};
use crate::event::Event;
use crate::plan::Plan;
use crate::row::Row;
use crate::topic::{is_valid_filter, topic_matches};

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

/// The result of applying a rule to an event (`'e`: a `SELECT *` row reads the event in place).
#[derive(Debug, Clone, PartialEq)]
pub enum Output<'e> {
    /// The event did not match the FROM clause, or WHERE was false.
    NoMatch,
    /// A SELECT rule's output row (a JSON object).
    Row(Row<'e>),
    /// A FOREACH rule's output rows (each a JSON object), possibly empty.
    Rows(Vec<Value>),
}

impl<'e> Output<'e> {
    /// The rows to hand to actions: none, one, or FOREACH's many.
    pub fn into_rows(self) -> Vec<Row<'e>> {
        match self {
            Self::NoMatch => Vec::new(),
            Self::Row(row) => vec![row],
            Self::Rows(rows) => rows.into_iter().map(Row::from).collect(),
        }
    }

    /// The `/rule_test` response body: the row, the list of rows, or `None` for no match.
    pub fn to_json(&self) -> Option<Value> {
        match self {
            Self::NoMatch => None,
            Self::Row(row) => Some(row.to_json()),
            Self::Rows(rows) => Some(Value::Array(rows.clone())),
        }
    }

    /// An output that no longer borrows the event (its row, if a view, is built as JSON).
    pub fn into_owned(self) -> Output<'static> {
        match self {
            Self::NoMatch => Output::NoMatch,
            Self::Row(row) => Output::Row(row.into_owned()),
            Self::Rows(rows) => Output::Rows(rows),
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
    plan: Plan,
}

const KAFKA_SOURCE_PREFIXES: [&str; 2] = ["$bridges/kafka_consumer:", "$sources/kafka_consumer:"];

impl RuleInput {
    fn classify(source: &str) -> Option<RuleInput> {
        if let Some(name) = KAFKA_SOURCE_PREFIXES
            .iter()
            .find_map(|p| source.strip_prefix(p))
        {
            return (!name.is_empty()).then(|| RuleInput::KafkaSource(name.to_owned()));
        }
        if source.starts_with("$events/")
            || source.starts_with("$bridges/")
            || source.starts_with("$sources/")
        {
            return Some(RuleInput::Event(source.to_owned()));
        }
        is_valid_filter(source).then(|| RuleInput::TopicFilter(source.to_owned()))
    }
}

impl Rule {
    /// Parses and compiles a rule SQL statement.
    pub fn parse(sql: &str) -> Result<Rule, ParseError> {
        let statement = crate::parser::parse_statement(sql)?;
        let inputs = statement
            .from
            .iter()
            .map(|(source, pos)| {
                RuleInput::classify(source).ok_or_else(|| {
                    ParseError::new(
                        pos.line,
                        pos.column,
                        format!("invalid topic filter or source \"{source}\""),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let plan = crate::plan::compile(statement)?;
        Ok(Rule {
            inner: Arc::new(RuleInner {
                sql: sql.to_owned(),
                inputs,
                plan,
            }),
        })
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
        self.inner.inputs.iter().any(|input| match (input, event) {
            (RuleInput::TopicFilter(filter), Event::MessagePublish(m)) => {
                topic_matches(filter, &m.topic)
            }
            (RuleInput::KafkaSource(name), Event::KafkaRecord(k)) => name.as_str() == &*k.source,
            _ => false,
        })
    }

    /// Applies the rule to an event.
    ///
    /// Events from other inputs give [`Output::NoMatch`], as does a false WHERE. A plain
    /// `SELECT *` row is a view of `event` rather than a copy of it.
    pub fn evaluate<'e>(&self, event: &'e Event) -> Result<Output<'e>, EvalError> {
        if !self.matches_input(event) {
            return Ok(Output::NoMatch);
        }
        if self.inner.plan.select_star_only {
            return Ok(Output::Row(Row::star(event)));
        }
        crate::eval::run(&self.inner.plan, event)
    }
}
