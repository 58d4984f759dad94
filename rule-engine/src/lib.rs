//! EMQX-compatible rule SQL, built-in functions and `${...}` templates. No I/O.

mod analysis;
mod ast;
mod columns;
mod error;
mod eval;
mod event;
mod functions;
mod lexer;
mod message_id;
mod parser;
mod plan;
mod row;
mod rule;
mod template;
mod topic;
mod value;

pub use error::{ContextError, EvalError, ParseError, TemplateError, ValueError};
pub use event::{Event, KafkaRecord, MessagePublish, TsType};
pub use message_id::MessageId;
pub use row::{Row, RowRef};
pub use rule::{Output, Rule, RuleInput};
pub use template::{Missing, Template};
pub use topic::topic_matches;

/// `getenv(NAME)` reads only the environment variable `TRIBUTARY_VAR_<NAME>`, so rules cannot
/// read arbitrary process environment (EMQX uses the prefix `EMQXVAR_` for the same reason).
pub const GETENV_PREFIX: &str = "TRIBUTARY_VAR_";
