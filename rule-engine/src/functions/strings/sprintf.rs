//! `sprintf(Format, Args...)` with the common Erlang `io_lib:format` directives:
//! `~s ~p ~w ~d ~f ~e ~c ~n ~~` (the `t` modifier is accepted; widths are not).

use crate::error::ValueError;
use crate::eval::Scope;
use crate::functions::{arg, badarg, text_arg};
use crate::value::{Value, format_float};

pub(super) fn sprintf(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let format = text_arg("sprintf", arg(args, 0))?;
    let mut values = args.iter().skip(1);
    let mut next = || {
        values
            .next()
            .ok_or_else(|| badarg("sprintf", "not enough arguments for the format"))
    };
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        let mut directive = chars.next();
        if directive == Some('t') {
            directive = chars.next();
        }
        match directive {
            Some('~') => out.push('~'),
            Some('n') => out.push('\n'),
            Some('s') => out.push_str(&next()?.to_text()),
            Some('p' | 'w') => out.push_str(&erlang_term(next()?)),
            Some('d') => match next()? {
                Value::Int(i) => out.push_str(&i.to_string()),
                other => {
                    return Err(badarg(
                        "sprintf",
                        format!("~d expects an integer, got {}", other.type_name()),
                    ));
                }
            },
            Some('f') => out.push_str(&format!("{:.6}", float(next()?)?)),
            Some('e') => out.push_str(&format!("{:.5e}", float(next()?)?)),
            Some('c') => match next()? {
                Value::Int(i) => out.extend(u32::try_from(*i).ok().and_then(char::from_u32)),
                other => {
                    return Err(badarg(
                        "sprintf",
                        format!("~c expects a character code, got {}", other.type_name()),
                    ));
                }
            },
            Some(other) => {
                return Err(badarg("sprintf", format!("unsupported directive ~{other}")));
            }
            None => return Err(badarg("sprintf", "format ends with ~")),
        }
    }
    Ok(Value::Str(out))
}

fn float(v: &Value) -> Result<f64, ValueError> {
    match v {
        Value::Float(f) => Ok(*f),
        other => Err(badarg(
            "sprintf",
            format!("~f expects a float, got {}", other.type_name()),
        )),
    }
}

/// How Erlang prints a term with `~p`: binaries as `<<"...">>`, maps as `#{K => V}`.
fn erlang_term(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("<<\"{}\">>", s.replace('\\', "\\\\").replace('"', "\\\"")),
        Value::Bin(b) => format!(
            "<<{}>>",
            b.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
        ),
        Value::Float(f) => format_float(*f),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(erlang_term).collect::<Vec<_>>().join(",")
        ),
        Value::Map(map) => format!(
            "#{{{}}}",
            map.iter()
                .map(|(k, v)| format!("<<\"{k}\">> => {}", erlang_term(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_text(),
    }
}

#[cfg(test)]
mod tests {
    use crate::functions::testing::{call, f, i, ok, s};

    #[test]
    fn directives() {
        assert_eq!(
            ok("sprintf", vec![s("hello, ~s!"), s("steve")]),
            s("hello, steve!")
        );
        assert_eq!(
            ok("sprintf", vec![s("~p ~d ~~"), s("a"), i(3)]),
            s("<<\"a\">> 3 ~")
        );
        assert_eq!(ok("sprintf", vec![s("~f"), f(1.5)]), s("1.500000"));
        assert!(call("sprintf", vec![s("~s")]).is_err());
        assert!(call("sprintf", vec![s("~d"), s("x")]).is_err());
    }
}
