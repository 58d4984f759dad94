//! Names of connectors, actions, sources, rule ids and API keys.

use tributary_protocol::resources::FieldError;

pub const MAX_NAME_LEN: usize = 128;

/// EMQX-like: a letter or digit, then letters, digits, `_`, `.` or `-`. No `:` (ids are
/// `type:name`) and no `/` (names appear in paths and topics).
pub fn check(field: &str, name: &str) -> Result<(), FieldError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if !first_ok || !rest_ok || name.len() > MAX_NAME_LEN {
        return Err(FieldError::new(
            field,
            format!(
                "`{name}` is not a valid name: start with a letter or digit, then use letters, digits, `_`, `.` or `-` (at most {MAX_NAME_LEN} characters)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_emqx_style_names_and_rejects_the_rest() {
        for ok in ["a", "my_kafka", "k1.prod-eu", "0abc"] {
            assert!(check("name", ok).is_ok(), "{ok}");
        }
        for bad in ["", "_x", "-x", "a:b", "a/b", "a b", "é", &"x".repeat(129)] {
            let err = check("name", bad).unwrap_err();
            assert_eq!(err.field, "name");
        }
    }
}
