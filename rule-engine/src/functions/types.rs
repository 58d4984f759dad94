//! Type conversions (`str`, `int`, `float`, …) and type checks (`is_null`, `is_int`, …).

use super::{Function, arg, badarg, function, int_arg, map_arg, num_arg};
use crate::error::ValueError;
use crate::eval::Scope;
use crate::value::Value;

pub(super) const FUNCTIONS: &[Function] = &[
    function("str", 1, 1, |a, _| {
        Ok(Value::from_bytes(arg(a, 0).to_bin()))
    }),
    function("str_utf8", 1, 1, |a, _| Ok(Value::Str(arg(a, 0).to_text()))),
    function("str_utf16_le", 1, 1, |a, _| {
        let text = arg(a, 0).to_text();
        Ok(Value::from_bytes(
            text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        ))
    }),
    function("bool", 1, 1, |a, _| to_bool(arg(a, 0))),
    function("int", 1, 1, |a, _| to_int(arg(a, 0))),
    function("float", 1, 2, float),
    function("float2str", 2, 2, float2str),
    function("map", 1, 1, |a, _| {
        map_arg("map", arg(a, 0)).map(Value::Map)
    }),
    function("is_null", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(arg(a, 0), Value::Undefined)))
    }),
    function("is_null_var", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(
            arg(a, 0),
            Value::Undefined | Value::Null
        )))
    }),
    function("is_not_null", 1, 1, |a, _| {
        Ok(Value::Bool(!matches!(arg(a, 0), Value::Undefined)))
    }),
    function("is_not_null_var", 1, 1, |a, _| {
        Ok(Value::Bool(!matches!(
            arg(a, 0),
            Value::Undefined | Value::Null
        )))
    }),
    function("is_str", 1, 1, |a, _| {
        Ok(Value::Bool(arg(a, 0).is_binary()))
    }),
    function("is_bool", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(arg(a, 0), Value::Bool(_))))
    }),
    function("is_int", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(arg(a, 0), Value::Int(_))))
    }),
    function("is_float", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(arg(a, 0), Value::Float(_))))
    }),
    function("is_num", 1, 1, |a, _| {
        Ok(Value::Bool(arg(a, 0).is_number()))
    }),
    function("is_map", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(arg(a, 0), Value::Map(_))))
    }),
    function("is_array", 1, 1, |a, _| {
        Ok(Value::Bool(matches!(arg(a, 0), Value::List(_))))
    }),
    function("is_empty", 1, 1, |a, _| {
        is_empty(arg(a, 0)).map(Value::Bool)
    }),
];

/// Empty lists and strings are empty; a non-empty list is not; anything else must read as
/// a map (a JSON object string included) and is empty when it has no keys, as in EMQX.
fn is_empty(v: &Value) -> Result<bool, ValueError> {
    match v {
        Value::List(items) => Ok(items.is_empty()),
        Value::Str(s) if s.is_empty() => Ok(true),
        Value::Bin(b) if b.is_empty() => Ok(true),
        other => Ok(map_arg("is_empty", other)?.is_empty()),
    }
}

pub(super) fn to_bool(v: &Value) -> Result<Value, ValueError> {
    match v {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Int(1) => Ok(Value::Bool(true)),
        Value::Int(0) => Ok(Value::Bool(false)),
        // Erlang compares `1.0 == 1` as true, so EMQX accepts the float forms too.
        Value::Float(f) if *f == 1.0 => Ok(Value::Bool(true)),
        Value::Float(f) if *f == 0.0 => Ok(Value::Bool(false)),
        Value::Str(s) if s == "true" => Ok(Value::Bool(true)),
        Value::Str(s) if s == "false" => Ok(Value::Bool(false)),
        other => Err(badarg(
            "bool",
            format!("cannot convert {} to a boolean", other.to_text()),
        )),
    }
}

/// Strings parse as integers, or as floats that are then floored (`int('1.9')` is 1 and
/// `int(-1.5)` is -2): EMQX rounds floats with `erlang:floor`.
pub(super) fn to_int(v: &Value) -> Result<Value, ValueError> {
    let truncate = |f: f64| {
        if f.is_finite() && f.abs() < 9.2e18 {
            Ok(Value::Int(f.floor() as i64))
        } else {
            Err(badarg("int", "value out of the 64-bit range"))
        }
    };
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(f) => truncate(*f),
        Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
        Value::Str(s) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => match s.trim().parse::<f64>() {
                Ok(f) => truncate(f),
                Err(_) => Err(badarg("int", format!("cannot convert {s:?} to an integer"))),
            },
        },
        other => Err(badarg(
            "int",
            format!("cannot convert a {} to an integer", other.type_name()),
        )),
    }
}

pub(super) fn to_float(v: &Value) -> Result<f64, ValueError> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| badarg("float", format!("cannot convert {s:?} to a float"))),
        other => Err(badarg(
            "float",
            format!("cannot convert a {} to a float", other.type_name()),
        )),
    }
}

/// `float(X)` or `float(X, Decimals)`, rounding to that many decimals.
fn float(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let x = to_float(arg(args, 0))?;
    match args.get(1) {
        None => Ok(Value::Float(x)),
        Some(decimals) => {
            let decimals = int_arg("float", decimals)?;
            if !(1..=253).contains(&decimals) {
                return Err(badarg("float", "decimals must be between 1 and 253"));
            }
            let text = format!("{x:.prec$}", prec = usize::try_from(decimals).unwrap_or(1));
            Ok(Value::Float(text.parse().unwrap_or(x)))
        }
    }
}

/// `float2str(F, Precision)`: at most `Precision` decimals, trailing zeros trimmed.
fn float2str(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let x = num_arg("float2str", arg(args, 0))?;
    let precision = usize::try_from(int_arg("float2str", arg(args, 1))?)
        .map_err(|_| badarg("float2str", "precision must not be negative"))?
        .min(253);
    let mut text = format!("{x:.precision$}");
    if text.contains('.') {
        while text.ends_with('0') && !text.ends_with(".0") {
            text.pop();
        }
    }
    Ok(Value::Str(text))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, f, i, json, ok, s};
    use crate::value::Value;

    #[test]
    fn conversions() {
        assert_eq!(ok("int", vec![s("1.0")]), i(1));
        assert_eq!(ok("int", vec![f(1.9)]), i(1));
        assert_eq!(ok("int", vec![f(-1.9)]), i(-2));
        assert_eq!(ok("int", vec![Value::Bool(true)]), i(1));
        assert!(call("int", vec![s("x")]).is_err());
        assert_eq!(ok("str", vec![i(2)]), s("2"));
        assert_eq!(ok("str", vec![f(1.5)]), s("1.5"));
        assert_eq!(
            ok("str", vec![json(serde_json::json!({"a":1}))]),
            s(r#"{"a":1}"#)
        );
        assert_eq!(ok("float", vec![s("3")]), f(3.0));
        assert_eq!(ok("float", vec![f(1.23456), i(2)]), f(1.23));
        assert_eq!(ok("float2str", vec![f(20.2), i(10)]), s("20.2"));
        assert_eq!(ok("bool", vec![s("true")]), Value::Bool(true));
        assert_eq!(ok("bool", vec![i(0)]), Value::Bool(false));
        assert!(call("bool", vec![s("yes")]).is_err());
        assert_eq!(
            ok("map", vec![s(r#"{"a":1}"#)]),
            json(serde_json::json!({"a":1}))
        );
        assert!(call("map", vec![s("[1]")]).is_err());
        assert_eq!(
            ok("str_utf16_le", vec![s("a")]),
            Value::Bin(vec![b'a', 0]).clone_utf8()
        );
    }

    #[test]
    fn type_checks() {
        assert_eq!(ok("is_null", vec![Value::Undefined]), Value::Bool(true));
        assert_eq!(ok("is_null", vec![Value::Null]), Value::Bool(false));
        assert_eq!(ok("is_null_var", vec![Value::Null]), Value::Bool(true));
        assert_eq!(ok("is_not_null", vec![i(1)]), Value::Bool(true));
        assert_eq!(ok("is_str", vec![s("")]), Value::Bool(true));
        assert_eq!(ok("is_int", vec![f(1.0)]), Value::Bool(false));
        assert_eq!(ok("is_float", vec![f(1.0)]), Value::Bool(true));
        assert_eq!(ok("is_num", vec![i(1)]), Value::Bool(true));
        assert_eq!(
            ok("is_map", vec![json(serde_json::json!({}))]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("is_array", vec![json(serde_json::json!([]))]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("is_empty", vec![json(serde_json::json!([]))]),
            Value::Bool(true)
        );
        assert_eq!(ok("is_empty", vec![s("{}")]), Value::Bool(true));
        // EMQX reads any other string as a JSON object, so plain text is an error there too.
        assert!(call("is_empty", vec![s("x")]).is_err());
    }

    impl Value {
        /// `from_bytes` normalisation for expected values in tests.
        fn clone_utf8(&self) -> Value {
            Value::from_bytes(self.to_bin())
        }
    }
}
