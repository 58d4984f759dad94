//! Arithmetic operators: `+` also concatenates, `/` always divides as floats, `div` and
//! `mod` are integer-only (`mod` is Erlang's `rem`, taking the dividend's sign).

use crate::ast::BinaryOp;
use crate::error::ValueError;
use crate::value::Value;

pub(crate) fn apply(op: BinaryOp, lhs: Value, rhs: Value) -> Result<Value, ValueError> {
    if op == BinaryOp::Add
        && (lhs.is_binary() || rhs.is_binary())
        && !(lhs.is_number() && rhs.is_number())
    {
        let mut bytes = lhs.to_bin();
        bytes.extend(rhs.to_bin());
        return Ok(Value::from_bytes(bytes));
    }
    let bad = |reason: &str| ValueError::BadOperands {
        operator: op.symbol(),
        reason: reason.to_owned(),
    };
    match (op, &lhs, &rhs) {
        (BinaryOp::IntDiv | BinaryOp::Rem, Value::Int(a), Value::Int(b)) => {
            let result = if op == BinaryOp::IntDiv {
                a.checked_div(*b)
            } else {
                a.checked_rem(*b)
            };
            result
                .map(Value::Int)
                .ok_or_else(|| bad("division by zero"))
        }
        (BinaryOp::IntDiv | BinaryOp::Rem, _, _) => Err(bad(&format!(
            "expected two integers, got {} and {}",
            lhs.type_name(),
            rhs.type_name()
        ))),
        (_, Value::Int(a), Value::Int(b)) if op != BinaryOp::Div => {
            let exact = match op {
                BinaryOp::Add => a.checked_add(*b),
                BinaryOp::Sub => a.checked_sub(*b),
                _ => a.checked_mul(*b),
            };
            // Erlang integers do not overflow; past i64 we fall back to a float.
            Ok(exact.map_or_else(|| float_op(op, *a as f64, *b as f64), Value::Int))
        }
        (_, l, r) if l.is_number() && r.is_number() => {
            let (a, b) = (l.as_f64().unwrap_or(0.0), r.as_f64().unwrap_or(0.0));
            if op == BinaryOp::Div && b == 0.0 {
                return Err(bad("division by zero"));
            }
            Ok(float_op(op, a, b))
        }
        _ => Err(bad(&format!(
            "expected numbers, got {} and {}",
            lhs.type_name(),
            rhs.type_name()
        ))),
    }
}

fn float_op(op: BinaryOp, a: f64, b: f64) -> Value {
    Value::Float(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        _ => a / b,
    })
}

pub(crate) fn negate(value: Value) -> Result<Value, ValueError> {
    match value {
        Value::Int(i) => Ok(i
            .checked_neg()
            .map_or(Value::Float(-(i as f64)), Value::Int)),
        Value::Float(f) => Ok(Value::Float(-f)),
        other => Err(ValueError::BadOperands {
            operator: "-",
            reason: format!("cannot negate a {}", other.type_name()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn plus_adds_numbers_and_concatenates_strings() {
        assert_eq!(
            apply(BinaryOp::Add, Value::Int(1), Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            apply(BinaryOp::Add, s("a"), Value::Int(1)).unwrap(),
            s("a1")
        );
        assert_eq!(
            apply(BinaryOp::Add, Value::Float(1.5), s("x")).unwrap(),
            s("1.5x")
        );
        assert!(apply(BinaryOp::Add, Value::Int(1), Value::Bool(true)).is_err());
    }

    #[test]
    fn division() {
        assert_eq!(
            apply(BinaryOp::Div, Value::Int(7), Value::Int(2)).unwrap(),
            Value::Float(3.5)
        );
        assert_eq!(
            apply(BinaryOp::Div, Value::Int(4), Value::Int(2)).unwrap(),
            Value::Float(2.0)
        );
        assert!(apply(BinaryOp::Div, Value::Int(1), Value::Int(0)).is_err());
        assert_eq!(
            apply(BinaryOp::IntDiv, Value::Int(7), Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            apply(BinaryOp::Rem, Value::Int(-7), Value::Int(2)).unwrap(),
            Value::Int(-1)
        );
        assert!(apply(BinaryOp::Rem, Value::Float(7.0), Value::Int(2)).is_err());
        assert!(apply(BinaryOp::IntDiv, Value::Int(1), Value::Int(0)).is_err());
    }

    #[test]
    fn overflow_falls_back_to_float() {
        assert_eq!(
            apply(BinaryOp::Mul, Value::Int(i64::MAX), Value::Int(2)).unwrap(),
            Value::Float(i64::MAX as f64 * 2.0)
        );
        assert_eq!(
            negate(Value::Int(i64::MIN)).unwrap(),
            Value::Float(9.223372036854776e18)
        );
    }
}
