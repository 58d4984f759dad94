//! Calls built-in functions directly in unit tests.

use crate::error::ValueError;
use crate::eval::Scope;
use crate::event::Event;
use crate::value::Value;

pub(crate) fn call(name: &str, args: Vec<Value>) -> Result<Value, ValueError> {
    let event = Event::from_test_context(&serde_json::json!({"topic": "t/dev1/data"})).unwrap();
    let function = super::lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    assert!(
        args.len() >= function.min_args && args.len() <= function.max_args,
        "arity of {name}"
    );
    let mut scope = Scope::for_test(&event);
    (function.call)(&args, &mut scope)
}

pub(crate) fn ok(name: &str, args: Vec<Value>) -> Value {
    call(name, args).unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

pub(crate) fn s(x: &str) -> Value {
    Value::Str(x.into())
}

pub(crate) fn i(x: i64) -> Value {
    Value::Int(x)
}

pub(crate) fn f(x: f64) -> Value {
    Value::Float(x)
}

pub(crate) fn json(v: serde_json::Value) -> Value {
    Value::from_json(&v)
}
