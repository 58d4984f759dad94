//! Error types shared by the parser, the evaluator, events and templates.

use std::fmt;

/// A rule SQL that could not be parsed or compiled, with the position of the offending token.
///
/// Lines and columns are 1-based and count characters, so they can be shown to users as-is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// A runtime failure while applying a rule to an event.
///
/// The outer variants carry the EMQX error class of the clause that failed, so the
/// control plane can report errors the way EMQX users expect; the inner [`ValueError`]
/// says what actually went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("select_and_transform_error: {0}")]
    SelectAndTransform(ValueError),
    #[error("match_conditions_error: {0}")]
    MatchConditions(ValueError),
    #[error("select_and_collect_error: {0}")]
    SelectAndCollect(ValueError),
    #[error("match_incase_error: {0}")]
    MatchIncase(ValueError),
    #[error("doeach_error: {0}")]
    DoEach(ValueError),
}

impl EvalError {
    /// The EMQX error class, e.g. `select_and_transform_error`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::SelectAndTransform(_) => "select_and_transform_error",
            Self::MatchConditions(_) => "match_conditions_error",
            Self::SelectAndCollect(_) => "select_and_collect_error",
            Self::MatchIncase(_) => "match_incase_error",
            Self::DoEach(_) => "doeach_error",
        }
    }

    /// The underlying cause.
    pub fn cause(&self) -> &ValueError {
        match self {
            Self::SelectAndTransform(e)
            | Self::MatchConditions(e)
            | Self::SelectAndCollect(e)
            | Self::MatchIncase(e)
            | Self::DoEach(e) => e,
        }
    }
}

/// What went wrong while computing one value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// A path rooted at `payload` (`payload.x`, or FOREACH over `payload`) read a payload
    /// that is not valid JSON; EMQX fails the message the same way.
    #[error(
        "decode_json_failed: a path into the payload needs JSON, and the payload is not valid JSON: {0}"
    )]
    DecodeJsonFailed(String),
    /// A function received arguments it cannot work with.
    #[error("badarg in function {function}: {reason}")]
    BadArg {
        function: &'static str,
        reason: String,
    },
    /// An operator received operands it cannot work with.
    #[error("bad operands for {operator}: {reason}")]
    BadOperands {
        operator: &'static str,
        reason: String,
    },
    /// A condition (WHERE, INCASE, CASE WHEN) evaluated to something other than a boolean.
    #[error("condition is not a boolean: {0}")]
    NotBoolean(String),
}

impl ValueError {
    /// The Erlang error EMQX reports for the same failure (the first element of its reason):
    /// `decode_json_failed`, `badarith` for arithmetic on values that are not numbers, `badarg`
    /// otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DecodeJsonFailed(_) => "decode_json_failed",
            Self::BadOperands { operator, .. }
                if matches!(*operator, "+" | "-" | "*" | "/" | "div" | "mod") =>
            {
                "badarith"
            }
            Self::BadArg { .. } | Self::BadOperands { .. } | Self::NotBoolean(_) => "badarg",
        }
    }
}

/// A `/rule_test` context that cannot be turned into an [`crate::Event`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid context field `{field}`: {reason}")]
pub struct ContextError {
    pub field: String,
    pub reason: String,
}

impl ContextError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A template that cannot be compiled.
///
/// Malformed placeholders are kept literally (as EMQX does), so today this only
/// reports templates that exceed the size limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template is too long ({len} bytes, limit {limit})")]
    TooLong { len: usize, limit: usize },
}
