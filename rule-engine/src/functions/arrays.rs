//! List functions. Positions are 1-based.

use super::{Function, arg, badarg, function, int_arg, list_arg};
use crate::error::ValueError;
use crate::eval::{Scope, exact_eq};
use crate::value::Value;

pub(super) const FUNCTIONS: &[Function] = &[
    function("nth", 2, 2, nth),
    function("length", 1, 1, |a, _| {
        Ok(Value::Int(super::math::len_i64(
            list_arg("length", arg(a, 0))?.len(),
        )))
    }),
    function("sublist", 2, 3, sublist),
    function("first", 1, 1, |a, _| {
        list_arg("first", arg(a, 0))?
            .first()
            .cloned()
            .ok_or_else(|| badarg("first", "empty list"))
    }),
    function("last", 1, 1, |a, _| {
        list_arg("last", arg(a, 0))?
            .last()
            .cloned()
            .ok_or_else(|| badarg("last", "empty list"))
    }),
    function("contains", 2, 2, |a, _| {
        let needle = arg(a, 0);
        Ok(Value::Bool(
            list_arg("contains", arg(a, 1))?
                .iter()
                .any(|v| exact_eq(v, needle)),
        ))
    }),
];

fn nth(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let n = int_arg("nth", arg(args, 0))?;
    let list = list_arg("nth", arg(args, 1))?;
    usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| list.get(i))
        .cloned()
        .ok_or_else(|| badarg("nth", format!("no element {n} in a list of {}", list.len())))
}

/// `sublist(Len, List)` or `sublist(Start, Len, List)`.
fn sublist(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let (start, len, list) = match args {
        [len, list] => (1, int_arg("sublist", len)?, list),
        [start, len, list, ..] => (int_arg("sublist", start)?, int_arg("sublist", len)?, list),
        _ => return Err(badarg("sublist", "expected a length and a list")),
    };
    let list = list_arg("sublist", list)?;
    let start = usize::try_from(start)
        .ok()
        .filter(|s| *s >= 1 && *s <= list.len() + 1);
    let (Some(start), Ok(len)) = (start, usize::try_from(len)) else {
        return Err(badarg("sublist", "start or length out of range"));
    };
    Ok(Value::List(
        list.iter().skip(start - 1).take(len).cloned().collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, i, json, ok, s};
    use crate::value::Value;
    use serde_json::json as j;

    #[test]
    fn list_functions() {
        let l = json(j!([10, 20, 30]));
        assert_eq!(ok("nth", vec![i(2), l.clone()]), i(20));
        assert!(call("nth", vec![i(4), l.clone()]).is_err());
        assert_eq!(ok("length", vec![l.clone()]), i(3));
        assert_eq!(ok("first", vec![l.clone()]), i(10));
        assert_eq!(ok("last", vec![l.clone()]), i(30));
        assert!(call("first", vec![json(j!([]))]).is_err());
        assert_eq!(ok("contains", vec![i(20), l.clone()]), Value::Bool(true));
        assert_eq!(ok("contains", vec![s("20"), l.clone()]), Value::Bool(false));
        assert_eq!(ok("sublist", vec![i(2), l.clone()]), json(j!([10, 20])));
        assert_eq!(
            ok("sublist", vec![i(2), i(2), json(j!([1, 2, 3, 4]))]),
            json(j!([2, 3]))
        );
        assert_eq!(ok("sublist", vec![i(3), i(9), l]), json(j!([30])));
    }
}
