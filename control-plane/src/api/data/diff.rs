//! Which fields differ between a stored item and the one a document asks for, as dotted paths.
//! Only names are reported, never values, so secrets that changed are named but not shown.

use serde_json::Value;

/// Dotted paths of the fields that differ (objects are walked, anything else compared whole);
/// empty when the two are equal.
pub fn changed_fields(stored: &Value, wanted: &Value) -> Vec<String> {
    let mut changed = Vec::new();
    walk("", stored, wanted, &mut changed);
    changed
}

fn walk(path: &str, stored: &Value, wanted: &Value, changed: &mut Vec<String>) {
    match (stored, wanted) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let child = join(path, key);
                match new.get(key) {
                    Some(new_value) => walk(&child, old_value, new_value, changed),
                    None => changed.push(child),
                }
            }
            for key in new.keys().filter(|key| !old.contains_key(*key)) {
                changed.push(join(path, key));
            }
        }
        _ if stored != wanted => changed.push(if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::changed_fields;

    #[test]
    fn names_nested_added_and_removed_fields() {
        let stored = json!({"a": 1, "b": {"c": 2, "d": [1]}, "gone": true});
        let wanted = json!({"a": 1, "b": {"c": 3, "d": [1]}, "new": "x"});
        assert_eq!(changed_fields(&stored, &wanted), ["b.c", "gone", "new"]);
        assert!(changed_fields(&stored, &stored).is_empty());
    }
}
