//! Map functions. `map_get`/`map_put` take dotted paths (`a.b`); `mget`/`mput` one key.

use super::{Function, arg, function, map_arg, text_arg};
use crate::ast::AliasSegment;
use crate::error::ValueError;
use crate::eval::Scope;
use crate::eval::path::{put_in, walk};
use crate::plan::Step;
use crate::value::{Map, MapHasher, Value};

pub(super) const FUNCTIONS: &[Function] = &[
    function("map_new", 0, 0, |_, _| Ok(Value::Map(Map::default()))),
    function("map_get", 2, 3, map_get),
    function("map_put", 3, 3, map_put),
    function("mget", 2, 3, mget),
    function("mput", 3, 3, mput),
    function("map_keys", 1, 1, |a, _| {
        Ok(Value::List(
            map_arg("map_keys", arg(a, 0))?
                .into_keys()
                .map(|k| Value::Str(k.into()))
                .collect(),
        ))
    }),
    function("map_values", 1, 1, |a, _| {
        Ok(Value::List(
            map_arg("map_values", arg(a, 0))?.into_values().collect(),
        ))
    }),
    function("map_to_entries", 1, 1, |a, _| {
        let entries = map_arg("map_to_entries", arg(a, 0))?
            .into_iter()
            .map(|(k, v)| {
                let mut entry = Map::with_capacity_and_hasher(2, MapHasher::default());
                entry.insert("key".into(), Value::Str(k.into()));
                entry.insert("value".into(), v);
                Value::Map(entry)
            })
            .collect();
        Ok(Value::List(entries))
    }),
    function("map_size", 1, 1, |a, _| {
        Ok(Value::Int(super::math::len_i64(
            map_arg("map_size", arg(a, 0))?.len(),
        )))
    }),
];

/// Looks up a dotted path, decoding JSON strings on the way.
pub(super) fn get_path(value: &Value, path: &str) -> Value {
    let steps: Vec<Step> = path.split('.').map(|k| Step::Key(k.to_owned())).collect();
    walk(value, &steps)
}

fn key_text(name: &'static str, key: &Value) -> Result<String, ValueError> {
    Ok(text_arg(name, key)?.into_owned())
}

fn map_get(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let path = key_text("map_get", arg(args, 0))?;
    Ok(match get_path(arg(args, 1), &path) {
        Value::Undefined => arg(args, 2).clone(),
        found => found,
    })
}

fn map_put(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let path = key_text("map_put", arg(args, 0))?;
    let value = arg(args, 1).clone();
    let mut target = match arg(args, 2) {
        Value::Map(m) => Value::Map(m.clone()),
        other => other
            .as_bytes()
            .and_then(Value::decode_container)
            .unwrap_or(Value::Map(Map::default())),
    };
    if matches!(value, Value::Undefined) {
        return Ok(target);
    }
    let segments: Vec<AliasSegment> = path
        .split('.')
        .map(|k| AliasSegment::Key(k.to_owned()))
        .collect();
    put_in(&mut target, &segments, value);
    Ok(target)
}

fn mget(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let key = key_text("mget", arg(args, 0))?;
    let map = map_arg("mget", arg(args, 1))?;
    Ok(map
        .get(key.as_str())
        .cloned()
        .unwrap_or_else(|| arg(args, 2).clone()))
}

fn mput(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let key = key_text("mput", arg(args, 0))?;
    let mut map = map_arg("mput", arg(args, 2))?;
    map.insert(key.into(), arg(args, 1).clone());
    Ok(Value::Map(map))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, i, json, ok, s};
    use crate::value::Value;
    use serde_json::json as j;

    #[test]
    fn get_and_put_paths() {
        let m = json(j!({"a": {"b": 1}}));
        assert_eq!(ok("map_get", vec![s("a.b"), m.clone()]), i(1));
        assert_eq!(ok("map_get", vec![s("k"), m.clone(), i(-1)]), i(-1));
        assert_eq!(ok("map_get", vec![s("a.b"), s(r#"{"a":{"b":2}}"#)]), i(2));
        assert_eq!(
            ok("map_put", vec![s("a.b"), i(1), ok("map_new", vec![])]),
            json(j!({"a": {"b": 1}}))
        );
        assert_eq!(
            ok("map_put", vec![s("a.c"), i(2), m]),
            json(j!({"a": {"b": 1, "c": 2}}))
        );
    }

    #[test]
    fn single_keys() {
        let m = json(j!({"a": 1}));
        assert_eq!(ok("mget", vec![s("a"), m.clone()]), i(1));
        assert_eq!(ok("mget", vec![s("z"), m.clone(), i(0)]), i(0));
        assert_eq!(
            ok("mput", vec![s("b"), i(2), m.clone()]),
            json(j!({"a": 1, "b": 2}))
        );
        assert!(call("mget", vec![s("a"), i(1)]).is_err());
    }

    #[test]
    fn keys_values_entries_size() {
        let m = json(j!({"a": 1, "b": 2}));
        assert_eq!(ok("map_keys", vec![m.clone()]), json(j!(["a", "b"])));
        assert_eq!(ok("map_values", vec![m.clone()]), json(j!([1, 2])));
        assert_eq!(
            ok("map_to_entries", vec![m.clone()]),
            json(j!([{"key": "a", "value": 1}, {"key": "b", "value": 2}]))
        );
        assert_eq!(ok("map_size", vec![m]), i(2));
        assert_eq!(ok("map_size", vec![Value::Str("{}".into())]), i(0));
    }
}
