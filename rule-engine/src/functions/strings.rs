//! String functions. Positions and lengths count characters; `substr` is 0-based.

use std::borrow::Cow;

use super::{Function, VARIADIC, arg, badarg, function, int_arg, list_arg, str_value, text_arg};
use crate::error::ValueError;
use crate::eval::Scope;
use crate::value::{Value, format_float};

mod regex_fns;
mod sprintf;

pub(super) const FUNCTIONS: &[Function] = &[
    function("lower", 1, 1, |a, _| {
        Ok(str_value(text_arg("lower", arg(a, 0))?.to_lowercase()))
    }),
    function("upper", 1, 1, |a, _| {
        Ok(str_value(text_arg("upper", arg(a, 0))?.to_uppercase()))
    }),
    function("trim", 1, 1, |a, _| {
        Ok(str_value(text_arg("trim", arg(a, 0))?.trim()))
    }),
    function("ltrim", 1, 1, |a, _| {
        Ok(str_value(text_arg("ltrim", arg(a, 0))?.trim_start()))
    }),
    function("rtrim", 1, 2, rtrim),
    function("reverse", 1, 1, |a, _| {
        Ok(str_value(
            text_arg("reverse", arg(a, 0))?
                .chars()
                .rev()
                .collect::<String>(),
        ))
    }),
    function("strlen", 1, 1, |a, _| {
        Ok(Value::Int(char_count(&text_arg("strlen", arg(a, 0))?)))
    }),
    function("substr", 2, 3, substr),
    function("rm_prefix", 2, 2, |a, _| {
        let (text, prefix) = (
            text_arg("rm_prefix", arg(a, 0))?,
            text_arg("rm_prefix", arg(a, 1))?,
        );
        Ok(str_value(
            text.strip_prefix(prefix.as_ref()).unwrap_or(&text),
        ))
    }),
    function("split", 2, 3, split),
    function("tokens", 2, 3, tokens),
    function("concat", 1, VARIADIC, concat),
    function("pad", 2, 4, pad),
    function("replace", 3, 4, replace),
    function("regex_match", 2, 2, regex_fns::regex_match),
    function("regex_replace", 3, 3, regex_fns::regex_replace),
    function("regex_extract", 2, 2, regex_fns::regex_extract),
    function("ascii", 1, 1, |a, _| {
        let text = text_arg("ascii", arg(a, 0))?;
        text.chars()
            .next()
            .map(|c| Value::Int(i64::from(u32::from(c))))
            .ok_or_else(|| badarg("ascii", "empty string"))
    }),
    function("find", 2, 3, find),
    function("join_to_string", 1, 2, join_to_string),
    function("join_to_sql_values_string", 1, 1, join_to_sql_values_string),
    function("unescape", 1, 1, |a, _| {
        unescape(&text_arg("unescape", arg(a, 0))?).map(Value::Str)
    }),
    function("sprintf", 1, VARIADIC, sprintf::sprintf),
    function("sprintf_s", 2, 2, sprintf_s),
];

fn char_count(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX)
}

fn option<'a>(
    name: &'static str,
    args: &'a [Value],
    i: usize,
    default: &'static str,
) -> Result<Cow<'a, str>, ValueError> {
    match args.get(i) {
        Some(v) => text_arg(name, v),
        None => Ok(Cow::Borrowed(default)),
    }
}

/// `rtrim(S [, Chars])`: trailing whitespace, or trailing characters from `Chars`.
fn rtrim(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("rtrim", arg(args, 0))?;
    Ok(str_value(match args.get(1) {
        None => text.trim_end(),
        Some(chars) => {
            let chars: Vec<char> = text_arg("rtrim", chars)?.chars().collect();
            text.trim_end_matches(chars.as_slice())
        }
    }))
}

/// `sprintf_s(Format, Args)`: `sprintf` with its arguments in one list.
fn sprintf_s(args: &[Value], scope: &mut Scope<'_>) -> Result<Value, ValueError> {
    let mut all = vec![arg(args, 0).clone()];
    all.extend_from_slice(list_arg("sprintf_s", arg(args, 1))?);
    sprintf::sprintf(&all, scope)
}

fn substr(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("substr", arg(args, 0))?;
    let start = usize::try_from(int_arg("substr", arg(args, 1))?)
        .map_err(|_| badarg("substr", "start must not be negative"))?;
    let chars = text.chars().skip(start);
    Ok(Value::Str(match args.get(2) {
        None => chars.collect(),
        Some(len) => {
            let len = usize::try_from(int_arg("substr", len)?)
                .map_err(|_| badarg("substr", "length must not be negative"))?;
            chars.take(len).collect()
        }
    }))
}

/// `split(S, Sep [, notrim | leading | leading_notrim | trailing | trailing_notrim])`:
/// empty parts are dropped unless `notrim`; `leading`/`trailing` split only once.
fn split(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("split", arg(args, 0))?;
    let sep = text_arg("split", arg(args, 1))?;
    let mode = option("split", args, 2, "all")?;
    if sep.is_empty() {
        return Ok(Value::List(vec![Value::Str(text.into_owned())]));
    }
    let parts: Vec<&str> = match mode.as_ref() {
        "all" | "notrim" => text.split(sep.as_ref()).collect(),
        "leading" | "leading_notrim" => text.splitn(2, sep.as_ref()).collect(),
        "trailing" | "trailing_notrim" => {
            let mut parts: Vec<&str> = text.rsplitn(2, sep.as_ref()).collect();
            parts.reverse();
            parts
        }
        other => return Err(badarg("split", format!("unknown option `{other}`"))),
    };
    let keep_empty = mode.ends_with("notrim");
    Ok(Value::List(
        parts
            .into_iter()
            .filter(|p| keep_empty || !p.is_empty())
            .map(str_value)
            .collect(),
    ))
}

/// Splits on any of the separator characters, dropping empty tokens.
fn tokens(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("tokens", arg(args, 0))?;
    let mut separators: Vec<char> = text_arg("tokens", arg(args, 1))?.chars().collect();
    if option("tokens", args, 2, "")? == "nocrlf" {
        separators.extend(['\r', '\n']);
    }
    Ok(Value::List(
        text.split(|c| separators.contains(&c))
            .filter(|t| !t.is_empty())
            .map(str_value)
            .collect(),
    ))
}

/// Concatenates its arguments (or the elements of a single list) as strings.
fn concat(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let items = match args {
        [Value::List(items)] => items.as_slice(),
        _ => args,
    };
    let mut bytes = Vec::new();
    for item in items {
        bytes.extend(item.to_bin());
    }
    Ok(Value::from_bytes(bytes))
}

fn pad(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("pad", arg(args, 0))?;
    let len = int_arg("pad", arg(args, 1))?;
    let position = option("pad", args, 2, "trailing")?;
    let fill = option("pad", args, 3, " ")?;
    let missing = usize::try_from(len.saturating_sub(char_count(&text)))
        .unwrap_or(0)
        .min(1 << 20);
    let (left, right) = match position.as_ref() {
        "trailing" => (0, missing),
        "leading" => (missing, 0),
        "both" => (missing / 2, missing - missing / 2),
        other => return Err(badarg("pad", format!("unknown position `{other}`"))),
    };
    Ok(Value::Str(format!(
        "{}{text}{}",
        fill.repeat(left),
        fill.repeat(right)
    )))
}

/// `replace(S, Pattern, Replacement [, all | leading | trailing])`.
fn replace(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("replace", arg(args, 0))?;
    let pattern = text_arg("replace", arg(args, 1))?;
    let replacement = text_arg("replace", arg(args, 2))?;
    if pattern.is_empty() {
        return Ok(Value::Str(text.into_owned()));
    }
    let position = option("replace", args, 3, "all")?;
    let found = match position.as_ref() {
        "all" => return Ok(Value::Str(text.replace(pattern.as_ref(), &replacement))),
        "leading" => text.find(pattern.as_ref()),
        "trailing" => text.rfind(pattern.as_ref()),
        other => return Err(badarg("replace", format!("unknown position `{other}`"))),
    };
    Ok(Value::Str(match found {
        Some(at) => {
            let (before, after) = text.split_at(at);
            format!(
                "{before}{replacement}{}",
                after.get(pattern.len()..).unwrap_or_default()
            )
        }
        None => text.into_owned(),
    }))
}

/// The rest of the string from the first (or, with `trailing`, last) occurrence, or "".
fn find(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let text = text_arg("find", arg(args, 0))?;
    let pattern = text_arg("find", arg(args, 1))?;
    let found = match option("find", args, 2, "leading")?.as_ref() {
        "leading" => text.find(pattern.as_ref()),
        "trailing" => text.rfind(pattern.as_ref()),
        other => return Err(badarg("find", format!("unknown position `{other}`"))),
    };
    Ok(Value::Str(
        found
            .and_then(|at| text.get(at..))
            .unwrap_or_default()
            .to_owned(),
    ))
}

fn join_to_string(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let (sep, list) = match args {
        [list] => (Cow::Borrowed(", "), list),
        [sep, list, ..] => (text_arg("join_to_string", sep)?, list),
        [] => return Err(badarg("join_to_string", "missing list")),
    };
    let items = list_arg("join_to_string", list)?;
    Ok(Value::Str(
        items
            .iter()
            .map(Value::to_text)
            .collect::<Vec<_>>()
            .join(&sep),
    ))
}

/// Renders a list as SQL values: strings quoted (with `'` doubled), numbers bare,
/// nested lists and maps as quoted JSON.
fn join_to_sql_values_string(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let items = list_arg("join_to_sql_values_string", arg(args, 0))?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let rendered: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Bool(b) => b.to_string(),
            Value::Undefined | Value::Null => "NULL".to_owned(),
            Value::List(_) | Value::Map(_) => quote(&item.to_json_string()),
            other => quote(&other.to_text()),
        })
        .collect();
    Ok(Value::Str(rendered.join(", ")))
}

/// Interprets escapes as EMQX does: `\n \t \r \b \f \v \a \' \" \? \\`, and `\x` followed by
/// any number of hex digits naming a code point (`\x41`, `\x20AC`, `\x00004E16`). Other
/// escapes, `\u` included, are rejected so the set can grow later without changing meaning;
/// a lone trailing backslash is kept.
fn unescape(text: &str) -> Result<String, ValueError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        let (before, escape) = rest.split_at(at);
        out.push_str(before);
        let mut chars = escape.chars();
        chars.next();
        let Some(kind) = chars.next() else {
            out.push('\\');
            return Ok(out);
        };
        rest = chars.as_str();
        let simple = match kind {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            'a' => '\u{7}',
            '\\' | '"' | '\'' | '?' => kind,
            'x' if rest.starts_with(|c: char| c.is_ascii_hexdigit()) => {
                let (c, after) = hex_code_point(rest)?;
                rest = after;
                c
            }
            other => {
                return Err(badarg(
                    "unescape",
                    format!("unrecognized escape sequence \\{other}"),
                ));
            }
        };
        out.push(simple);
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads the run of hex digits after `\x` as one code point.
fn hex_code_point(text: &str) -> Result<(char, &str), ValueError> {
    let end = text
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(text.len());
    let (digits, rest) = text.split_at(end);
    u32::from_str_radix(digits, 16)
        .ok()
        .and_then(char::from_u32)
        .map(|c| (c, rest))
        .ok_or_else(|| badarg("unescape", format!("invalid unicode character \\x{digits}")))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, i, json, ok, s};
    use crate::value::Value;

    fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|x| s(x)).collect())
    }

    #[test]
    fn case_trim_reverse_len() {
        assert_eq!(ok("upper", vec![s("bob")]), s("BOB"));
        assert_eq!(ok("lower", vec![s("ABC")]), s("abc"));
        assert_eq!(ok("trim", vec![s("  a b  ")]), s("a b"));
        assert_eq!(ok("ltrim", vec![s("  a ")]), s("a "));
        assert_eq!(ok("rtrim", vec![s(" a  ")]), s(" a"));
        assert_eq!(ok("rtrim", vec![s("a.,.,"), s(",.")]), s("a"));
        assert_eq!(
            ok(
                "sprintf_s",
                vec![s("~s-~p"), json(serde_json::json!(["a", 1]))]
            ),
            s("a-1")
        );
        assert_eq!(ok("reverse", vec![s("abc")]), s("cba"));
        assert_eq!(ok("strlen", vec![s("héllo")]), i(5));
        assert!(call("upper", vec![i(1)]).is_err());
    }

    #[test]
    fn substr_is_zero_based() {
        assert_eq!(ok("substr", vec![s("abcd"), i(1), i(2)]), s("bc"));
        assert_eq!(ok("substr", vec![s("abcd"), i(2)]), s("cd"));
        assert_eq!(ok("substr", vec![s("abcd"), i(9)]), s(""));
    }

    #[test]
    fn split_modes() {
        assert_eq!(
            ok("split", vec![s("/a/b//c/"), s("/")]),
            strs(&["a", "b", "c"])
        );
        assert_eq!(
            ok("split", vec![s("/a/b//c/"), s("/"), s("notrim")]),
            strs(&["", "a", "b", "", "c", ""])
        );
        assert_eq!(
            ok("split", vec![s("a,b,c"), s(","), s("leading")]),
            strs(&["a", "b,c"])
        );
        assert_eq!(
            ok("split", vec![s("a,b,c"), s(","), s("trailing")]),
            strs(&["a,b", "c"])
        );
        assert_eq!(
            ok("split", vec![s(",a"), s(","), s("leading_notrim")]),
            strs(&["", "a"])
        );
    }

    #[test]
    fn tokens_and_concat() {
        assert_eq!(
            ok("tokens", vec![s("a b,c"), s(" ,")]),
            strs(&["a", "b", "c"])
        );
        assert_eq!(
            ok("tokens", vec![s("a\r\nb"), s(" "), s("nocrlf")]),
            strs(&["a", "b"])
        );
        assert_eq!(ok("concat", vec![s("a"), s("b")]), s("ab"));
        assert_eq!(ok("concat", vec![s("a"), i(1), s("c")]), s("a1c"));
        assert_eq!(ok("concat", vec![strs(&["x", "y"])]), s("xy"));
    }

    #[test]
    fn pad_replace_find() {
        assert_eq!(ok("pad", vec![s("abc"), i(5)]), s("abc  "));
        assert_eq!(ok("pad", vec![s("abc"), i(5), s("leading")]), s("  abc"));
        assert_eq!(
            ok("pad", vec![s("abc"), i(5), s("both"), s("e")]),
            s("eabce")
        );
        assert_eq!(
            ok("replace", vec![s("ab c  "), s(" "), s("-")]),
            s("ab-c--")
        );
        assert_eq!(
            ok("replace", vec![s("ab c  "), s(" "), s("-"), s("leading")]),
            s("ab-c  ")
        );
        assert_eq!(
            ok("replace", vec![s("ab c  "), s(" "), s("-"), s("trailing")]),
            s("ab c -")
        );
        assert_eq!(ok("find", vec![s("abcabc"), s("bc")]), s("bcabc"));
        assert_eq!(
            ok("find", vec![s("abcabc"), s("bc"), s("trailing")]),
            s("bc")
        );
        assert_eq!(ok("find", vec![s("abc"), s("x")]), s(""));
        assert_eq!(ok("rm_prefix", vec![s("abc"), s("ab")]), s("c"));
        assert_eq!(ok("ascii", vec![s("a")]), i(97));
    }

    #[test]
    fn joins() {
        assert_eq!(
            ok(
                "join_to_string",
                vec![json(serde_json::json!(["a", 1, "b"]))]
            ),
            s("a, 1, b")
        );
        assert_eq!(
            ok("join_to_string", vec![s("-"), strs(&["a", "b"])]),
            s("a-b")
        );
        assert_eq!(
            ok(
                "join_to_sql_values_string",
                vec![json(serde_json::json!(["a'b", 1, 1.5, true, [1]]))]
            ),
            s("'a''b', 1, 1.5, true, '[1]'")
        );
    }

    #[test]
    fn unescape_sequences() {
        assert_eq!(
            ok("unescape", vec![s(r"a\nb\t\\\x0041\x42")]),
            s("a\nb\t\\AB")
        );
        assert_eq!(ok("unescape", vec![s(r"\x20AC!")]), s("€!"));
        assert_eq!(ok("unescape", vec![s(r"a\")]), s(r"a\"));
        assert!(call("unescape", vec![s(r"\q")]).is_err());
        assert!(call("unescape", vec![s(r"\u0041")]).is_err());
        assert!(call("unescape", vec![s(r"\xG1")]).is_err());
        assert!(call("unescape", vec![s(r"\x110000")]).is_err());
    }
}
