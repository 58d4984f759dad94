//! The built-in function registry. Each family lives in its own module and exports a
//! `FUNCTIONS` table; names are resolved once, when a rule is compiled.

mod arrays;
mod encoding;
mod hashing;
mod maps;
mod math;
mod omitted;
mod strings;
mod system;
mod time;
mod types;

use crate::error::ValueError;
use crate::eval::Scope;
use crate::value::{Key, Map, Value};

pub(crate) type Call = fn(&[Value], &mut Scope<'_>) -> Result<Value, ValueError>;

/// A built-in function and how many arguments it accepts.
pub(crate) struct Function {
    pub(crate) name: &'static str,
    pub(crate) min_args: usize,
    pub(crate) max_args: usize,
    pub(crate) call: Call,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}..{}", self.name, self.min_args, self.max_args)
    }
}

pub(crate) const VARIADIC: usize = usize::MAX;

const fn function(name: &'static str, min_args: usize, max_args: usize, call: Call) -> Function {
    Function {
        name,
        min_args,
        max_args,
        call,
    }
}

const TABLES: &[&[Function]] = &[
    system::FUNCTIONS,
    math::FUNCTIONS,
    types::FUNCTIONS,
    strings::FUNCTIONS,
    maps::FUNCTIONS,
    arrays::FUNCTIONS,
    hashing::FUNCTIONS,
    encoding::FUNCTIONS,
    time::FUNCTIONS,
];

/// Why the EMQX function `name` (any case) is left out of Tributary, when it is one.
pub(crate) fn omitted_reason(name: &str) -> Option<&'static str> {
    omitted::reason(&name.to_ascii_lowercase())
}

/// The function called `name` (case-insensitive).
pub(crate) fn lookup(name: &str) -> Option<&'static Function> {
    TABLES
        .iter()
        .flat_map(|table| table.iter())
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_arities_sane() {
        let all: Vec<&Function> = TABLES.iter().flat_map(|t| t.iter()).collect();
        let mut names: Vec<&str> = all.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate function names");
        for f in all {
            assert_eq!(f.name, f.name.to_ascii_lowercase());
            assert!(f.min_args <= f.max_args, "{}", f.name);
        }
        assert!(lookup("UPPER").is_some());
        assert!(lookup("no_such_fn").is_none());
    }
}

static UNDEFINED: Value = Value::Undefined;

/// The `i`th argument; arity is checked at compile time, so a missing one is `undefined`.
pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&UNDEFINED)
}

pub(crate) fn badarg(function: &'static str, reason: impl Into<String>) -> ValueError {
    ValueError::BadArg {
        function,
        reason: reason.into(),
    }
}

fn wrong_type(function: &'static str, expected: &str, got: &Value) -> ValueError {
    badarg(
        function,
        format!("expected {expected}, got {}", got.type_name()),
    )
}

pub(crate) fn int_arg(function: &'static str, v: &Value) -> Result<i64, ValueError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(wrong_type(function, "an integer", other)),
    }
}

pub(crate) fn num_arg(function: &'static str, v: &Value) -> Result<f64, ValueError> {
    v.as_f64()
        .ok_or_else(|| wrong_type(function, "a number", v))
}

pub(crate) fn bytes_arg<'v>(function: &'static str, v: &'v Value) -> Result<&'v [u8], ValueError> {
    v.as_bytes()
        .ok_or_else(|| wrong_type(function, "a string", v))
}

/// Text arguments accept any binary; invalid UTF-8 is replaced rather than rejected.
pub(crate) fn text_arg<'v>(
    function: &'static str,
    v: &'v Value,
) -> Result<std::borrow::Cow<'v, str>, ValueError> {
    match v {
        Value::Str(s) => Ok(std::borrow::Cow::Borrowed(s)),
        Value::Bin(b) => Ok(String::from_utf8_lossy(b)),
        other => Err(wrong_type(function, "a string", other)),
    }
}

pub(crate) fn list_arg<'v>(
    function: &'static str,
    v: &'v Value,
) -> Result<&'v [Value], ValueError> {
    match v {
        Value::List(items) => Ok(items),
        other => Err(wrong_type(function, "a list", other)),
    }
}

/// A map argument; a JSON object held in a string is decoded (EMQX's `map/1`). EMQX also
/// builds a map from a list of `{Key, Value}` tuples; JSON has no tuples, so a list of
/// `[key, value]` pairs stands in for them (and `[]` is the empty map).
pub(crate) fn map_arg(function: &'static str, v: &Value) -> Result<Map, ValueError> {
    match v {
        Value::Map(m) => Ok(m.clone()),
        Value::List(pairs) => pairs
            .iter()
            .map(|pair| match pair {
                Value::List(kv) if kv.len() == 2 => {
                    Ok((Key::from(arg(kv, 0).to_text()), arg(kv, 1).clone()))
                }
                _ => Err(badarg(
                    function,
                    "a list stands for a map only when every element is a [key, value] pair",
                )),
            })
            .collect(),
        Value::Str(_) | Value::Bin(_) => match v.as_bytes().map(Value::parse_json) {
            Some(Ok(Value::Map(m))) => Ok(m),
            _ => Err(badarg(function, "expected a map or a JSON object string")),
        },
        other => Err(wrong_type(function, "a map", other)),
    }
}

pub(crate) fn str_value(s: impl Into<String>) -> Value {
    Value::Str(s.into())
}

#[cfg(test)]
pub(crate) mod testing;
