//! Comparison operators with EMQX's coercions, and Erlang's ordering across types.

use std::cmp::Ordering;

use crate::ast::BinaryOp;
use crate::error::ValueError;
use crate::topic::topic_matches;
use crate::value::Value;

/// Applies a comparison operator.
///
/// Both sides undefined compare as equal atoms; one side undefined makes every comparison
/// false; a number against a string converts the string (an error when it is not numeric);
/// booleans and `null` against a string compare as text.
pub(crate) fn compare(op: BinaryOp, lhs: &Value, rhs: &Value) -> Result<bool, ValueError> {
    if op == BinaryOp::TopicMatch {
        return match (lhs, rhs) {
            (Value::Str(topic), Value::Str(filter)) => Ok(topic_matches(filter, topic)),
            _ => Err(ValueError::BadOperands {
                operator: "=~",
                reason: format!(
                    "expected a topic and a filter, got {} and {}",
                    lhs.type_name(),
                    rhs.type_name()
                ),
            }),
        };
    }
    let ordering = match (lhs, rhs) {
        (Value::Undefined, Value::Undefined) => Ordering::Equal,
        (Value::Undefined, _) | (_, Value::Undefined) => return Ok(false),
        (l, r) if l.is_number() && r.is_binary() => order(l, &string_to_number(r)?),
        (l, r) if l.is_binary() && r.is_number() => order(&string_to_number(l)?, r),
        (l @ (Value::Bool(_) | Value::Null), r) if r.is_binary() => {
            order(&Value::Str(l.to_text()), r)
        }
        (l, r @ (Value::Bool(_) | Value::Null)) if l.is_binary() => {
            order(l, &Value::Str(r.to_text()))
        }
        (l, r) => order(l, r),
    };
    Ok(match op {
        BinaryOp::Eq => ordering == Ordering::Equal,
        BinaryOp::NotEq => ordering != Ordering::Equal,
        BinaryOp::Lt => ordering == Ordering::Less,
        BinaryOp::Gt => ordering == Ordering::Greater,
        BinaryOp::Le => ordering != Ordering::Greater,
        BinaryOp::Ge => ordering != Ordering::Less,
        _ => false,
    })
}

/// Exact equality (Erlang `=:=`), used by IN, `CASE x WHEN` and `contains`: `1` is not `1.0`.
pub(crate) fn exact_eq(lhs: &Value, rhs: &Value) -> bool {
    lhs == rhs
}

fn string_to_number(v: &Value) -> Result<Value, ValueError> {
    let text = v.to_text();
    let trimmed = text.trim();
    if let Ok(i) = trimmed.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    match trimmed.parse::<f64>() {
        Ok(f) if f.is_finite() && trimmed.contains('.') => Ok(Value::Float(f)),
        _ => Err(ValueError::BadOperands {
            operator: "comparison",
            reason: format!("cannot compare a number with the non-numeric string {text:?}"),
        }),
    }
}

/// Erlang term order: number < atom < map < list < binary. Numbers compare by value.
pub(crate) fn order(lhs: &Value, rhs: &Value) -> Ordering {
    match (lhs, rhs) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (l, r) if l.is_number() && r.is_number() => {
            let (a, b) = (l.as_f64().unwrap_or(0.0), r.as_f64().unwrap_or(0.0));
            a.partial_cmp(&b).unwrap_or(Ordering::Equal)
        }
        (l, r) if l.is_binary() && r.is_binary() => l.as_bytes().cmp(&r.as_bytes()),
        (Value::List(a), Value::List(b)) => {
            for (x, y) in a.iter().zip(b) {
                let o = order(x, y);
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.len().cmp(&b.len())
        }
        (Value::Map(a), Value::Map(b)) => {
            let mut ka: Vec<_> = a.iter().collect();
            let mut kb: Vec<_> = b.iter().collect();
            ka.sort_by(|x, y| x.0.cmp(y.0));
            kb.sort_by(|x, y| x.0.cmp(y.0));
            a.len().cmp(&b.len()).then_with(|| {
                ka.iter()
                    .zip(&kb)
                    .map(|((k1, v1), (k2, v2))| k1.cmp(k2).then_with(|| order(v1, v2)))
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            })
        }
        (l, r) if is_atom(l) && is_atom(r) => atom_name(l).cmp(atom_name(r)),
        (l, r) => rank(l).cmp(&rank(r)),
    }
}

fn is_atom(v: &Value) -> bool {
    matches!(v, Value::Bool(_) | Value::Null | Value::Undefined)
}

fn atom_name(v: &Value) -> &'static str {
    match v {
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Null => "null",
        _ => "undefined",
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Float(_) => 0,
        Value::Bool(_) | Value::Null | Value::Undefined => 1,
        Value::Map(_) => 2,
        Value::List(_) => 3,
        Value::Str(_) | Value::Bin(_) => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(compare(BinaryOp::Eq, &Value::Int(1), &Value::Float(1.0)).unwrap());
        assert!(compare(BinaryOp::Lt, &Value::Int(1), &Value::Float(1.5)).unwrap());
    }

    #[test]
    fn numeric_strings_are_converted() {
        assert!(compare(BinaryOp::Gt, &s("12"), &Value::Int(10)).unwrap());
        assert!(compare(BinaryOp::Eq, &Value::Float(27.5), &s("27.5")).unwrap());
        assert!(compare(BinaryOp::Gt, &s("abc"), &Value::Int(1)).is_err());
    }

    #[test]
    fn undefined_handling() {
        assert!(compare(BinaryOp::Eq, &Value::Undefined, &Value::Undefined).unwrap());
        assert!(!compare(BinaryOp::NotEq, &Value::Undefined, &Value::Int(1)).unwrap());
        assert!(!compare(BinaryOp::Eq, &Value::Int(1), &Value::Undefined).unwrap());
    }

    #[test]
    fn atoms_against_strings_compare_as_text() {
        assert!(compare(BinaryOp::Eq, &Value::Bool(true), &s("true")).unwrap());
        assert!(compare(BinaryOp::Eq, &s("null"), &Value::Null).unwrap());
    }

    #[test]
    fn erlang_term_order_across_types() {
        assert!(compare(BinaryOp::Lt, &Value::Int(1000), &Value::Bool(true)).unwrap());
        assert!(compare(BinaryOp::Lt, &Value::List(vec![]), &s("")).unwrap());
        assert!(compare(BinaryOp::Lt, &s("a"), &s("b")).unwrap());
    }

    #[test]
    fn topic_match_operator() {
        assert!(compare(BinaryOp::TopicMatch, &s("t/1/data"), &s("t/+/data")).unwrap());
        assert!(!compare(BinaryOp::TopicMatch, &s("t/1"), &s("t/+/data")).unwrap());
        assert!(compare(BinaryOp::TopicMatch, &Value::Int(1), &s("#")).is_err());
    }

    #[test]
    fn exact_equality_distinguishes_int_and_float() {
        assert!(!exact_eq(&Value::Int(1), &Value::Float(1.0)));
        assert!(exact_eq(&s("a"), &s("a")));
    }
}
