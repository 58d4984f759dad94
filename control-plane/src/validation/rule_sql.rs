//! Rule SQL, parsed with the rule engine the workers run.

use tributary_protocol::resources::FieldError;
use tributary_rules::Rule;

/// The compiled rule, or a field error naming the position of the problem.
pub fn parse(sql: &str) -> Result<Rule, FieldError> {
    Rule::parse(sql).map_err(|err| {
        FieldError::new(
            "sql",
            format!(
                "syntax error at line {}, column {}: {}",
                err.line, err.column, err.message
            ),
        )
    })
}
