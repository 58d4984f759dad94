//! Runs the conformance vectors in `tests/conformance/` (restated EMQX behaviour) and
//! reports every failing case by name in one failure.

use serde_json::Value;
use tributary_rules::{Event, Missing, Output, Rule, Template};

fn cases(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/conformance/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}: bad line {l}: {e}")))
        .collect()
}

/// Numbers compare by value (`2` equals `2.0`), everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// What `/rule_test` would answer: the body, or the error code.
fn rule_test(sql: &str, context: &Value) -> Result<Value, String> {
    let rule = Rule::parse(sql).map_err(|e| format!("BAD_REQUEST ({e})"))?;
    let event = Event::from_test_context(context).map_err(|e| format!("BAD_REQUEST ({e})"))?;
    match rule.evaluate(&event) {
        Ok(Output::NoMatch) => Err("NOT_MATCH".into()),
        Ok(output) => output.to_json().ok_or_else(|| "NOT_MATCH".into()),
        Err(e) => Err(format!("BAD_REQUEST ({e})")),
    }
}

fn check_rule_case(case: &Value) -> Result<(), String> {
    let sql = case["sql"].as_str().ok_or("case has no sql")?;
    let result = rule_test(sql, &case["context"]);
    if let Some(code) = case.get("error").and_then(Value::as_str) {
        return match result {
            Err(e) if e.starts_with(code) => Ok(()),
            other => Err(format!("expected {code}, got {other:?}")),
        };
    }
    let output = result?;
    if let Some(expected) = case.get("expect") {
        return if same(&output, expected) {
            Ok(())
        } else {
            Err(format!("expected {expected}, got {output}"))
        };
    }
    if let Some(Value::Object(subset)) = case.get("expect_subset") {
        for (key, expected) in subset {
            match output.get(key) {
                Some(actual) if same(actual, expected) => {}
                actual => {
                    return Err(format!(
                        "key {key}: expected {expected}, got {actual:?} in {output}"
                    ));
                }
            }
        }
    }
    for key in case
        .get("expect_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = key.as_str().unwrap_or_default();
        if output.get(key).is_none() {
            return Err(format!("missing key {key} in {output}"));
        }
    }
    Ok(())
}

fn check_template_case(case: &Value) -> Result<(), String> {
    let template = Template::parse(case["template"].as_str().ok_or("no template")?)
        .map_err(|e| e.to_string())?;
    let missing = match case["mode"].as_str() {
        Some("republish") => Missing::Undefined,
        _ => Missing::Empty,
    };
    let rendered = template.render(&case["data"], missing);
    if let Some(expected) = case.get("expect").and_then(Value::as_str) {
        return if rendered == expected {
            Ok(())
        } else {
            Err(format!("expected {expected:?}, got {rendered:?}"))
        };
    }
    let expected = case.get("expect_json").ok_or("no expectation")?;
    let parsed: Value =
        serde_json::from_str(&rendered).map_err(|e| format!("{rendered:?} is not JSON: {e}"))?;
    if same(&parsed, expected) {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {parsed}"))
    }
}

fn run(file: &str, check: fn(&Value) -> Result<(), String>) {
    let cases = cases(file);
    assert!(!cases.is_empty(), "{file} has no cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let name = case["name"].as_str().unwrap_or("<unnamed>");
            check(case).err().map(|why| format!("  {name}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases in {file} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_sql_vectors() {
    run("rule_sql.jsonl", check_rule_case);
}

#[test]
fn template_vectors() {
    run("templates.jsonl", check_template_case);
}
