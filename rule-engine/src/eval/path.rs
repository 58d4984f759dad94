//! Reading and writing nested values: `a.b[2]` lookups, `AS a.b[2]` writes, `[1..4]` slices.
//!
//! Lookups decode JSON held in strings along the way (a Kafka value or an aliased field
//! often carries JSON) and quietly find nothing when that fails, like EMQX's
//! `emqx_rule_maps:general_find`. Paths rooted at `payload` are stricter; see `Scope::var`.

use crate::ast::AliasSegment;
use crate::error::ValueError;
use crate::plan::{Step, Target};
use crate::value::{Key, Map, Value};

/// The value at `steps` below `value`, or `undefined`.
pub(crate) fn walk(value: &Value, steps: &[Step]) -> Value {
    let mut current = value;
    for (i, step) in steps.iter().enumerate() {
        let next = match (current, step) {
            (Value::Map(map), Step::Key(key)) => map.get(key.as_str()),
            (Value::List(list), Step::Index(n)) => nth(list, *n),
            (Value::Str(_) | Value::Bin(_), _) => {
                let decoded = current.as_bytes().and_then(Value::decode_for_path);
                return match (decoded, steps.get(i..)) {
                    (Some(decoded), Some(rest)) => walk(&decoded, rest),
                    _ => Value::Undefined,
                };
            }
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return Value::Undefined,
        }
    }
    current.clone()
}

/// Like [`walk`], without cloning when there is nothing to walk.
pub(crate) fn walk_owned(value: Value, steps: &[Step]) -> Value {
    if steps.is_empty() {
        value
    } else {
        walk(&value, steps)
    }
}

/// 1-based from the front, negative from the back, 0 finds nothing.
pub(crate) fn nth(list: &[Value], n: i64) -> Option<&Value> {
    let index = list_index(list.len(), n)?;
    list.get(index)
}

fn list_index(len: usize, n: i64) -> Option<usize> {
    let magnitude = usize::try_from(n.unsigned_abs()).ok()?;
    match n {
        0 => None,
        n if n > 0 => Some(magnitude - 1),
        _ => len.checked_sub(magnitude),
    }
}

/// `list[begin..end]`, both ends inclusive, negative counting from the back.
pub(crate) fn range(value: &Value, begin: i64, end: i64) -> Result<Value, ValueError> {
    let Value::List(list) = value else {
        return Err(ValueError::BadOperands {
            operator: "[..]",
            reason: format!("cannot take a range of a {}", value.type_name()),
        });
    };
    let len = i64::try_from(list.len()).unwrap_or(i64::MAX);
    let resolve = |i: i64| -> Result<i64, ValueError> {
        match i {
            0 => Err(ValueError::BadOperands {
                operator: "[..]",
                reason: "index 0 is invalid; indexes start at 1".into(),
            }),
            i if i > 0 => Ok(i),
            i => Ok(len.saturating_add(i).saturating_add(1)),
        }
    };
    let (first, last) = (resolve(begin)?, resolve(end)?.min(len));
    let items = list
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let position = i64::try_from(*i).unwrap_or(i64::MAX).saturating_add(1);
            position >= first && position <= last
        })
        .map(|(_, v)| v.clone())
        .collect();
    Ok(Value::List(items))
}

/// The value an alias target currently holds in `map`.
pub(crate) fn get_target(map: &Map, target: &Target) -> Value {
    let Some(root) = map.get(&target.root) else {
        return Value::Undefined;
    };
    let steps: Vec<Step> = target
        .segments
        .iter()
        .map(|segment| match segment {
            AliasSegment::Key(k) => Step::Key(k.clone()),
            AliasSegment::Index(i) => Step::Index(*i),
            AliasSegment::Append => Step::Index(-1),
        })
        .collect();
    walk(root, &steps)
}

/// Writes `value` at an alias target, creating maps and lists on the way as EMQX's
/// `nested_put` does. `undefined` is never written.
pub(crate) fn put_target(map: &mut Map, target: &Target, value: Value) {
    if matches!(value, Value::Undefined) {
        return;
    }
    let slot = map.entry(target.root.clone()).or_insert(Value::Undefined);
    put_in(slot, &target.segments, value);
}

/// Writes `value` at `segments` below `slot`.
pub(crate) fn put_in(slot: &mut Value, segments: &[AliasSegment], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        *slot = value;
        return;
    };
    match first {
        AliasSegment::Key(key) => {
            if let Some(decoded @ Value::Map(_)) = slot.as_bytes().and_then(Value::decode_container)
            {
                *slot = decoded;
            }
            if !matches!(slot, Value::Map(_)) {
                *slot = Value::Map(Map::default());
            }
            if let Value::Map(map) = slot {
                put_in(
                    map.entry(Key::new(key)).or_insert(Value::Undefined),
                    rest,
                    value,
                );
            }
        }
        AliasSegment::Append | AliasSegment::Index(_) => {
            let Value::List(list) = slot else {
                // EMQX replaces a non-list with a one-element list, whatever the index.
                let mut child = Value::Undefined;
                put_in(&mut child, rest, value);
                *slot = Value::List(vec![child]);
                return;
            };
            match first {
                AliasSegment::Append => {
                    let mut child = Value::Undefined;
                    put_in(&mut child, rest, value);
                    list.push(child);
                }
                AliasSegment::Index(n) => {
                    if let Some(child) = list_index(list.len(), *n).and_then(|i| list.get_mut(i)) {
                        put_in(child, rest, value);
                    }
                }
                AliasSegment::Key(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[i64]) -> Value {
        Value::List(items.iter().map(|i| Value::Int(*i)).collect())
    }

    fn target(root: &str, segments: Vec<AliasSegment>) -> Target {
        Target {
            root: root.into(),
            segments,
        }
    }

    #[test]
    fn walk_decodes_json_strings() {
        let v = Value::Str(r#"{"d1":{"d2":"hi"}}"#.into());
        let steps = [Step::Key("d1".into()), Step::Key("d2".into())];
        assert_eq!(walk(&v, &steps), Value::Str("hi".into()));
        assert_eq!(walk(&Value::Str("nope".into()), &steps), Value::Undefined);
    }

    #[test]
    fn walk_decodes_json_strings_held_in_json_strings() {
        let v = Value::Str(r#""{\"d1\":{\"d2\":\"hi\"}}""#.into());
        let steps = [Step::Key("d1".into()), Step::Key("d2".into())];
        assert_eq!(walk(&v, &steps), Value::Str("hi".into()));
    }

    #[test]
    fn walk_into_what_is_not_json_is_undefined() {
        let key = [Step::Key("x".into())];
        let index = [Step::Index(1)];
        for bytes in [
            &b"not json"[..],
            &[0xff, 0xfe, b'{'],
            br#"{"x": 1"#,
            b"",
            b"42",
            br#""s""#,
        ] {
            let v = Value::from_bytes(bytes.to_vec());
            assert_eq!(walk(&v, &key), Value::Undefined, "{bytes:?}");
            assert_eq!(walk(&v, &index), Value::Undefined, "{bytes:?}");
        }
        assert_eq!(walk(&Value::Int(42), &key), Value::Undefined);
        assert_eq!(walk(&Value::Null, &index), Value::Undefined);
    }

    #[test]
    fn indexes_are_one_based_and_negative_from_end() {
        let l = list(&[1, 2, 3]);
        assert_eq!(walk(&l, &[Step::Index(1)]), Value::Int(1));
        assert_eq!(walk(&l, &[Step::Index(-1)]), Value::Int(3));
        assert_eq!(walk(&l, &[Step::Index(0)]), Value::Undefined);
        assert_eq!(walk(&l, &[Step::Index(4)]), Value::Undefined);
        assert_eq!(walk(&l, &[Step::Index(-4)]), Value::Undefined);
    }

    #[test]
    fn ranges() {
        let l = list(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(range(&l, 1, 4).unwrap(), list(&[0, 1, 2, 3]));
        assert_eq!(range(&l, -2, -1).unwrap(), list(&[4, 5]));
        assert_eq!(range(&l, 5, 100).unwrap(), list(&[4, 5]));
        assert!(range(&l, 0, 1).is_err());
        assert!(range(&Value::Int(1), 1, 2).is_err());
    }

    #[test]
    fn put_nests_maps_and_lists() {
        let mut m = Map::default();
        put_target(
            &mut m,
            &target("x", vec![AliasSegment::Key("y".into())]),
            Value::Bool(false),
        );
        put_target(
            &mut m,
            &target("c", vec![AliasSegment::Append]),
            Value::Bool(true),
        );
        put_target(
            &mut m,
            &target("c", vec![AliasSegment::Append]),
            Value::Int(2),
        );
        put_target(
            &mut m,
            &target(
                "p",
                vec![AliasSegment::Key("x".into()), AliasSegment::Index(2)],
            ),
            Value::Int(3),
        );
        assert_eq!(
            Value::Map(m).into_json(),
            serde_json::json!({"x":{"y":false},"c":[true,2],"p":{"x":[3]}})
        );
    }

    #[test]
    fn put_replaces_existing_index_and_ignores_undefined() {
        let mut m = Map::default();
        m.insert("l".into(), list(&[1, 2, 3]));
        put_target(
            &mut m,
            &target("l", vec![AliasSegment::Index(-1)]),
            Value::Int(9),
        );
        put_target(
            &mut m,
            &target("l", vec![AliasSegment::Index(0)]),
            Value::Int(7),
        );
        put_target(&mut m, &target("u", vec![]), Value::Undefined);
        assert_eq!(Value::Map(m).into_json(), serde_json::json!({"l":[1,2,9]}));
    }
}
