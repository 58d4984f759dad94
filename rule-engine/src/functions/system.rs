//! Message helpers (`clientid()`, `topic(N)`, …), null handling, environment, UUIDs,
//! randomness and the in-memory key-value store.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::{Function, VARIADIC, arg, badarg, function, int_arg, list_arg, text_arg};
use crate::GETENV_PREFIX;
use crate::columns::{Column, column_value};
use crate::error::ValueError;
use crate::eval::{Scope, exact_eq};
use crate::topic::topic_matches;
use crate::value::Value;

pub(super) const FUNCTIONS: &[Function] = &[
    function("msgid", 0, 0, |_, s| Ok(column(s, Column::Id))),
    function("qos", 0, 0, |_, s| Ok(column(s, Column::Qos))),
    function("topic", 0, 1, topic),
    function("flags", 0, 0, |_, s| Ok(column(s, Column::Flags))),
    function("flag", 1, 1, flag),
    function("clientid", 0, 0, |_, s| Ok(column(s, Column::ClientId))),
    function("clientip", 0, 0, |_, s| Ok(column(s, Column::PeerHost))),
    function("peerhost", 0, 0, |_, s| Ok(column(s, Column::PeerHost))),
    function("username", 0, 0, |_, s| Ok(column(s, Column::Username))),
    function("payload", 0, 1, payload),
    function("contains_topic", 2, 3, |a, _| {
        contains_topic("contains_topic", a, |t, f| t == f)
    }),
    function("contains_topic_match", 2, 3, |a, _| {
        contains_topic("contains_topic_match", a, |t, f| topic_matches(f, t))
    }),
    function("null", 0, 0, |_, _| Ok(Value::Undefined)),
    function("coalesce", 1, VARIADIC, |a, _| Ok(coalesce(a, false))),
    function("coalesce_ne", 1, VARIADIC, |a, _| Ok(coalesce(a, true))),
    function("getenv", 1, 1, getenv),
    function("uuid_v4", 0, 0, |_, _| {
        Ok(Value::Str(uuid::Uuid::new_v4().hyphenated().to_string()))
    }),
    function("uuid_v4_no_hyphen", 0, 0, |_, _| {
        Ok(Value::Str(uuid::Uuid::new_v4().simple().to_string()))
    }),
    function("random", 0, 0, |_, _| {
        Ok(Value::Float(rand::random::<f64>()))
    }),
    function("kv_store_get", 1, 2, kv_store_get),
    function("kv_store_put", 2, 2, kv_store_put),
    function("kv_store_del", 1, 1, kv_store_del),
];

fn column(scope: &Scope<'_>, column: Column) -> Value {
    column_value(scope.event, column)
}

fn topic(args: &[Value], scope: &mut Scope<'_>) -> Result<Value, ValueError> {
    let topic = column(scope, Column::Topic);
    if args.is_empty() {
        return Ok(topic);
    }
    let level = int_arg("topic", arg(args, 0))?;
    let Value::Str(topic) = topic else {
        return Ok(Value::Undefined);
    };
    usize::try_from(level)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| topic.split('/').nth(n))
        .map(|l| Value::Str(l.to_owned()))
        .ok_or_else(|| badarg("topic", format!("topic `{topic}` has no level {level}")))
}

fn flag(args: &[Value], scope: &mut Scope<'_>) -> Result<Value, ValueError> {
    let name = text_arg("flag", arg(args, 0))?;
    Ok(match column(scope, Column::Flags) {
        Value::Map(flags) => flags.get(name.as_ref()).cloned().unwrap_or_default(),
        _ => Value::Undefined,
    })
}

fn payload(args: &[Value], scope: &mut Scope<'_>) -> Result<Value, ValueError> {
    if args.is_empty() {
        return Ok(column(scope, Column::Payload));
    }
    let path = text_arg("payload", arg(args, 0))?.into_owned();
    // Unlike a `payload.x` path, payload(Path) on a payload that is not JSON is undefined
    // rather than a failure, as in EMQX.
    let Ok(payload) = scope.decoded_payload() else {
        return Ok(Value::Undefined);
    };
    Ok(super::maps::get_path(payload, &path))
}

/// Filters are a list of `{"topic": .., "qos": ..}` maps, as in subscription events.
fn contains_topic(
    name: &'static str,
    args: &[Value],
    matches: fn(&str, &str) -> bool,
) -> Result<Value, ValueError> {
    let filters = list_arg(name, arg(args, 0))?;
    let topic = text_arg(name, arg(args, 1))?;
    let found = filters.iter().find(|entry| match entry {
        Value::Map(m) => matches!(m.get("topic"), Some(Value::Str(f)) if matches(&topic, f)),
        _ => false,
    });
    Ok(Value::Bool(match (found, args.get(2)) {
        (Some(Value::Map(entry)), Some(qos)) => entry.get("qos").is_some_and(|q| exact_eq(q, qos)),
        (found, _) => found.is_some(),
    }))
}

/// The first argument (or element, given one list) that is set; `coalesce_ne` also skips
/// empty strings.
fn coalesce(args: &[Value], skip_empty: bool) -> Value {
    let candidates = match args {
        [Value::List(items)] => items.as_slice(),
        _ => args,
    };
    candidates
        .iter()
        .find(|v| match v {
            Value::Undefined | Value::Null => false,
            Value::Str(s) if skip_empty => !s.is_empty(),
            _ => true,
        })
        .cloned()
        .unwrap_or_default()
}

fn getenv(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let name = text_arg("getenv", arg(args, 0))?;
    Ok(Value::Str(
        std::env::var(format!("{GETENV_PREFIX}{name}")).unwrap_or_default(),
    ))
}

/// Process-wide store shared by all rules, keyed by the JSON text of the key.
fn kv_store() -> std::sync::MutexGuard<'static, HashMap<String, Value>> {
    static STORE: OnceLock<Mutex<HashMap<String, Value>>> = OnceLock::new();
    STORE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn kv_store_get(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let key = arg(args, 0).to_json_string();
    Ok(kv_store()
        .get(&key)
        .cloned()
        .unwrap_or_else(|| arg(args, 1).clone()))
}

fn kv_store_put(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    kv_store().insert(arg(args, 0).to_json_string(), arg(args, 1).clone());
    Ok(Value::Bool(true))
}

fn kv_store_del(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    kv_store().remove(&arg(args, 0).to_json_string());
    Ok(Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, i, json, ok, s};
    use crate::value::Value;

    #[test]
    fn message_helpers() {
        assert_eq!(ok("topic", vec![]), s("t/dev1/data"));
        assert_eq!(ok("topic", vec![i(2)]), s("dev1"));
        assert!(call("topic", vec![i(9)]).is_err());
        assert_eq!(ok("clientid", vec![]), s("c_emqx"));
        assert_eq!(ok("qos", vec![]), i(1));
        assert_eq!(ok("flag", vec![s("retain")]), Value::Bool(false));
        assert_eq!(ok("payload", vec![s("msg")]), s("hello"));
        assert_eq!(ok("null", vec![]), Value::Undefined);
    }

    #[test]
    fn coalescing() {
        assert_eq!(
            ok(
                "coalesce",
                vec![Value::Undefined, Value::Null, s(""), s("x")]
            ),
            s("")
        );
        assert_eq!(
            ok("coalesce_ne", vec![Value::Undefined, s(""), s("x")]),
            s("x")
        );
        assert_eq!(
            ok("coalesce", vec![json(serde_json::json!([null, 2]))]),
            i(2)
        );
    }

    #[test]
    fn topic_containment() {
        let filters =
            json(serde_json::json!([{"topic": "t/#", "qos": 1}, {"topic": "a/b", "qos": 0}]));
        assert_eq!(
            ok("contains_topic", vec![filters.clone(), s("a/b")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("contains_topic", vec![filters.clone(), s("t/x")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok("contains_topic_match", vec![filters.clone(), s("t/x")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("contains_topic_match", vec![filters, s("t/x"), i(0)]),
            Value::Bool(false)
        );
    }

    #[test]
    fn getenv_reads_only_prefixed_variables() {
        assert_eq!(ok("getenv", vec![s("SURELY_NOT_SET_42")]), s(""));
        assert_eq!(ok("getenv", vec![s("PATH")]), s(""));
    }

    #[test]
    fn uuids_and_random() {
        let Value::Str(u) = ok("uuid_v4", vec![]) else {
            panic!()
        };
        assert_eq!(u.len(), 36);
        let Value::Str(u) = ok("uuid_v4_no_hyphen", vec![]) else {
            panic!()
        };
        assert_eq!(u.len(), 32);
        let Value::Float(r) = ok("random", vec![]) else {
            panic!()
        };
        assert!((0.0..1.0).contains(&r));
    }

    #[test]
    fn kv_store_round_trip() {
        ok("kv_store_put", vec![s("k-test"), i(5)]);
        assert_eq!(ok("kv_store_get", vec![s("k-test")]), i(5));
        ok("kv_store_del", vec![s("k-test")]);
        assert_eq!(ok("kv_store_get", vec![s("k-test"), i(0)]), i(0));
    }
}
