//! Regular-expression functions. Patterns use Rust `regex` syntax, which covers PCRE except
//! backreferences and lookaround; compiled patterns are cached per thread.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use crate::error::ValueError;
use crate::eval::Scope;
use crate::functions::{arg, badarg, str_value, text_arg};
use crate::value::Value;

const CACHE_LIMIT: usize = 256;

fn with_regex<T>(
    name: &'static str,
    pattern: &str,
    f: impl FnOnce(&Regex) -> T,
) -> Result<T, ValueError> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            let regex =
                Regex::new(pattern).map_err(|e| badarg(name, format!("invalid regex: {e}")))?;
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(pattern.to_owned(), regex);
        }
        cache
            .get(pattern)
            .map(f)
            .ok_or_else(|| badarg(name, "regex cache miss"))
    })
}

pub(super) fn regex_match(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("regex_match", arg(args, 0))?;
    let pattern = text_arg("regex_match", arg(args, 1))?;
    with_regex("regex_match", &pattern, |re| {
        Value::Bool(re.is_match(&text))
    })
}

/// Replaces every match. In the replacement, `&` is the whole match and `\N` (or `\gN`)
/// group N, as in Erlang's `re:replace`; `\&` and `\\` are literal.
pub(super) fn regex_replace(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("regex_replace", arg(args, 0))?;
    let pattern = text_arg("regex_replace", arg(args, 1))?;
    let replacement = erlang_replacement(&text_arg("regex_replace", arg(args, 2))?);
    with_regex("regex_replace", &pattern, |re| {
        str_value(re.replace_all(&text, replacement.as_str()))
    })
}

/// The capture groups of the first match (or the whole match when there are no groups).
pub(super) fn regex_extract(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("regex_extract", arg(args, 0))?;
    let pattern = text_arg("regex_extract", arg(args, 1))?;
    with_regex("regex_extract", &pattern, |re| {
        let Some(captures) = re.captures(&text) else {
            return Value::List(Vec::new());
        };
        let groups: Vec<Value> = if captures.len() > 1 {
            captures
                .iter()
                .skip(1)
                .map(|m| str_value(m.map_or("", |m| m.as_str())))
                .collect()
        } else {
            captures
                .iter()
                .map(|m| str_value(m.map_or("", |m| m.as_str())))
                .collect()
        };
        Value::List(groups)
    })
}

fn erlang_replacement(replacement: &str) -> String {
    let mut out = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '&' => out.push_str("${0}"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() || d == 'g' => {
                    if d == 'g' {
                        chars.next();
                        if chars.peek() == Some(&'{') {
                            chars.next();
                        }
                    }
                    let mut group = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(d);
                        chars.next();
                    }
                    if chars.peek() == Some(&'}') {
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some(escaped) => {
                    chars.next();
                    if escaped == '$' {
                        out.push_str("$$")
                    } else {
                        out.push(escaped)
                    }
                }
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::functions::testing::{call, ok, s};
    use crate::value::Value;

    #[test]
    fn matching() {
        assert_eq!(
            ok("regex_match", vec![s("abc123"), s("[0-9]+")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("regex_match", vec![s("abc"), s("^[0-9]+$")]),
            Value::Bool(false)
        );
        assert!(call("regex_match", vec![s("a"), s("(")]).is_err());
    }

    #[test]
    fn replacing_with_erlang_syntax() {
        assert_eq!(
            ok("regex_replace", vec![s("accbcd"), s("c+"), s("[&]")]),
            s("a[cc]b[c]d")
        );
        assert_eq!(
            ok("regex_replace", vec![s("ab c"), s("\\s+"), s("-")]),
            s("ab-c")
        );
        assert_eq!(
            ok(
                "regex_replace",
                vec![s("k=v"), s("(\\w)=(\\w)"), s("\\2=\\1")]
            ),
            s("v=k")
        );
        assert_eq!(
            ok("regex_replace", vec![s("a"), s("a"), s("\\&$")]),
            s("&$")
        );
    }

    #[test]
    fn extracting_groups() {
        assert_eq!(
            ok(
                "regex_extract",
                vec![s("Tmp:23.5,Hum:40"), s("Tmp:(\\d+\\.\\d+),Hum:(\\d+)")]
            ),
            Value::List(vec![s("23.5"), s("40")])
        );
        assert_eq!(
            ok("regex_extract", vec![s("abc"), s("\\d")]),
            Value::List(vec![])
        );
        assert_eq!(
            ok("regex_extract", vec![s("a1"), s("\\d")]),
            Value::List(vec![s("1")])
        );
    }
}
