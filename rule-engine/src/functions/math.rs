//! Arithmetic as functions, math and bitwise functions.

use super::{Function, arg, badarg, bytes_arg, function, int_arg, num_arg, text_arg};
use crate::ast::BinaryOp;
use crate::error::ValueError;
use crate::eval::Scope;
use crate::value::Value;

macro_rules! float_fn {
    ($name:literal, $f:expr) => {
        function($name, 1, 1, |a, _| {
            finite($name, ($f)(num_arg($name, arg(a, 0))?))
        })
    };
}

pub(super) const FUNCTIONS: &[Function] = &[
    function("div", 2, 2, |a, _| operator(BinaryOp::IntDiv, a)),
    function("mod", 2, 2, |a, _| operator(BinaryOp::Rem, a)),
    function("eq", 2, 2, |a, _| {
        crate::eval::compare(BinaryOp::Eq, arg(a, 0), arg(a, 1)).map(Value::Bool)
    }),
    function("abs", 1, 1, abs),
    float_fn!("acos", f64::acos),
    float_fn!("acosh", f64::acosh),
    float_fn!("asin", f64::asin),
    float_fn!("asinh", f64::asinh),
    float_fn!("atan", f64::atan),
    float_fn!("atanh", f64::atanh),
    float_fn!("cos", f64::cos),
    float_fn!("cosh", f64::cosh),
    float_fn!("exp", f64::exp),
    float_fn!("log", f64::ln),
    float_fn!("log10", f64::log10),
    float_fn!("log2", f64::log2),
    float_fn!("sin", f64::sin),
    float_fn!("sinh", f64::sinh),
    float_fn!("sqrt", f64::sqrt),
    float_fn!("tan", f64::tan),
    float_fn!("tanh", f64::tanh),
    function("ceil", 1, 1, |a, _| {
        to_integer("ceil", arg(a, 0), f64::ceil)
    }),
    function("floor", 1, 1, |a, _| {
        to_integer("floor", arg(a, 0), f64::floor)
    }),
    function("round", 1, 1, |a, _| {
        to_integer("round", arg(a, 0), f64::round)
    }),
    function("fmod", 2, 2, |a, _| {
        let (x, y) = (num_arg("fmod", arg(a, 0))?, num_arg("fmod", arg(a, 1))?);
        finite("fmod", x % y)
    }),
    function("power", 2, 2, |a, _| {
        let (x, y) = (num_arg("power", arg(a, 0))?, num_arg("power", arg(a, 1))?);
        finite("power", x.powf(y))
    }),
    function("bitnot", 1, 1, |a, _| {
        Ok(Value::Int(!int_arg("bitnot", arg(a, 0))?))
    }),
    function("bitand", 2, 2, |a, _| ints("bitand", a, |x, y| Some(x & y))),
    function("bitor", 2, 2, |a, _| ints("bitor", a, |x, y| Some(x | y))),
    function("bitxor", 2, 2, |a, _| ints("bitxor", a, |x, y| Some(x ^ y))),
    // A negative shift goes the other way, as Erlang's `bsl`/`bsr` do.
    function("bitsl", 2, 2, |a, _| {
        ints("bitsl", a, |x, n| {
            if n < 0 {
                Some(shift_right(x, n.unsigned_abs()))
            } else {
                shift_left(x, n)
            }
        })
    }),
    function("bitsr", 2, 2, |a, _| {
        ints("bitsr", a, |x, n| {
            if n < 0 {
                shift_left(x, i64::try_from(n.unsigned_abs()).ok()?)
            } else {
                Some(shift_right(x, n.unsigned_abs()))
            }
        })
    }),
    function("bitsize", 1, 1, |a, _| {
        Ok(Value::Int(
            len_i64(bytes_arg("bitsize", arg(a, 0))?.len()) * 8,
        ))
    }),
    function("bytesize", 1, 1, |a, _| {
        Ok(Value::Int(len_i64(bytes_arg("bytesize", arg(a, 0))?.len())))
    }),
    function("subbits", 2, 6, subbits),
];

fn operator(op: BinaryOp, args: &[Value]) -> Result<Value, ValueError> {
    crate::eval::arith(op, arg(args, 0).clone(), arg(args, 1).clone())
}

fn finite(name: &'static str, x: f64) -> Result<Value, ValueError> {
    if x.is_finite() {
        Ok(Value::Float(x))
    } else {
        Err(badarg(name, "result is not a finite number"))
    }
}

fn abs(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    match arg(args, 0) {
        Value::Int(i) => Ok(i
            .checked_abs()
            .map_or(Value::Float((*i as f64).abs()), Value::Int)),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(badarg(
            "abs",
            format!("expected a number, got {}", other.type_name()),
        )),
    }
}

/// Rounding functions return integers, as Erlang's do.
fn to_integer(name: &'static str, v: &Value, round: fn(f64) -> f64) -> Result<Value, ValueError> {
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        other => {
            let x = round(num_arg(name, other)?);
            if x.is_finite() && x.abs() < 9.2e18 {
                Ok(Value::Int(x as i64))
            } else {
                Ok(Value::Float(x))
            }
        }
    }
}

fn ints(
    name: &'static str,
    args: &[Value],
    op: fn(i64, i64) -> Option<i64>,
) -> Result<Value, ValueError> {
    let (x, y) = (int_arg(name, arg(args, 0))?, int_arg(name, arg(args, 1))?);
    op(x, y)
        .map(Value::Int)
        .ok_or_else(|| badarg(name, "result out of the 64-bit range"))
}

/// `None` when bits would be lost: Erlang integers grow instead, ours are 64-bit.
fn shift_left(x: i64, n: i64) -> Option<i64> {
    let shifted = x.checked_shl(u32::try_from(n).ok()?)?;
    (shifted >> n == x).then_some(shifted)
}

/// Arithmetic shift; past 63 bits only the sign is left.
fn shift_right(x: i64, n: u64) -> i64 {
    x >> n.min(63)
}

pub(super) fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// `len` bits from bit `begin` (0-based) as bytes. EMQX returns a bitstring, which our values
/// cannot hold when `len` is not a multiple of 8; the bits are then right-aligned in whole
/// bytes, zero-filled at the front, so `bin2hexstr` of 6 bits `100111` still reads `27`.
fn bit_range(bytes: &[u8], begin: u64, len: u64) -> Vec<u8> {
    let bit = |i: u64| {
        let byte = usize::try_from(i / 8)
            .ok()
            .and_then(|at| bytes.get(at))
            .copied()
            .unwrap_or(0);
        (byte >> (7 - i % 8)) & 1
    };
    let lead = (8 - len % 8) % 8;
    let mut out = Vec::with_capacity(usize::try_from(len.div_ceil(8)).unwrap_or(0));
    let mut acc: u8 = 0;
    for i in 0..lead + len {
        let b = if i < lead { 0 } else { bit(begin + i - lead) };
        acc = (acc << 1) | b;
        if i % 8 == 7 {
            out.push(acc);
            acc = 0;
        }
    }
    out
}

/// `subbits(Bin, [Start,] Len [, Type [, Signedness [, Endianness]]])`: reads `Len` bits
/// starting at bit `Start` (1-based) as an integer or a float. Past the end of the binary
/// it reads what is left; starting past the end gives `undefined`.
fn subbits(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let bytes = bytes_arg("subbits", arg(args, 0))?;
    let (start, len) = if args.len() == 2 {
        (1, int_arg("subbits", arg(args, 1))?)
    } else {
        (
            int_arg("subbits", arg(args, 1))?,
            int_arg("subbits", arg(args, 2))?,
        )
    };
    let option = |i: usize, default: &'static str| -> Result<String, ValueError> {
        match args.get(i) {
            Some(v) => Ok(text_arg("subbits", v)?.into_owned()),
            None => Ok(default.to_owned()),
        }
    };
    let (kind, signedness, endianness) = (
        option(3, "integer")?,
        option(4, "unsigned")?,
        option(5, "big")?,
    );
    let total_bits = bytes.len() as u64 * 8;
    let begin =
        u64::try_from(start - 1).map_err(|_| badarg("subbits", "start must be at least 1"))?;
    if begin >= total_bits {
        return Ok(Value::Undefined);
    }
    let len = u64::try_from(len).map_err(|_| badarg("subbits", "length must not be negative"))?;
    let len = len.min(total_bits - begin);
    if kind == "bits" && endianness == "big" {
        return Ok(Value::from_bytes(bit_range(bytes, begin, len)));
    }
    if len > 64 {
        return Err(badarg("subbits", "at most 64 bits can be read"));
    }
    let mut raw: u64 = 0;
    for bit in begin..begin + len {
        let byte = bytes
            .get(usize::try_from(bit / 8).unwrap_or(usize::MAX))
            .copied()
            .unwrap_or(0);
        raw = (raw << 1) | u64::from((byte >> (7 - bit % 8)) & 1);
    }
    if endianness == "little" {
        if len % 8 != 0 {
            return Err(badarg(
                "subbits",
                "little endian needs a whole number of bytes",
            ));
        }
        let width = usize::try_from(len / 8).unwrap_or(0);
        raw = raw
            .to_be_bytes()
            .iter()
            .skip(8 - width)
            .rev()
            .fold(0, |acc, b| (acc << 8) | u64::from(*b));
    }
    match kind.as_str() {
        "integer" if signedness == "signed" && len > 0 && len < 64 => {
            let shift = 64 - len;
            Ok(Value::Int(((raw << shift) as i64) >> shift))
        }
        "integer" if signedness == "signed" => Ok(Value::Int(raw as i64)),
        "integer" => i64::try_from(raw)
            .map(Value::Int)
            .or(Ok(Value::Float(raw as f64))),
        "float" => match len {
            32 => Ok(Value::Float(f64::from(f32::from_bits(raw as u32)))),
            64 => Ok(Value::Float(f64::from_bits(raw))),
            _ => Err(badarg("subbits", "floats are 32 or 64 bits")),
        },
        "bits" if len % 8 == 0 => {
            let count = usize::try_from(len / 8).unwrap_or(0);
            Ok(Value::from_bytes(
                raw.to_be_bytes()
                    .get(8 - count..)
                    .unwrap_or_default()
                    .to_vec(),
            ))
        }
        other => Err(badarg("subbits", format!("unsupported type `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, f, i, ok, s};
    use crate::value::Value;

    #[test]
    fn rounding_returns_integers() {
        assert_eq!(ok("round", vec![f(2.5)]), i(3));
        assert_eq!(ok("round", vec![f(-2.5)]), i(-3));
        assert_eq!(ok("ceil", vec![f(1.2)]), i(2));
        assert_eq!(ok("floor", vec![f(1.8)]), i(1));
        assert_eq!(ok("floor", vec![i(4)]), i(4));
    }

    #[test]
    fn math() {
        assert_eq!(ok("power", vec![i(2), i(10)]), f(1024.0));
        assert_eq!(ok("sqrt", vec![i(16)]), f(4.0));
        assert_eq!(ok("abs", vec![i(-3)]), i(3));
        assert_eq!(ok("fmod", vec![f(7.5), i(2)]), f(1.5));
        assert_eq!(ok("log2", vec![i(8)]), f(3.0));
        assert!(call("sqrt", vec![i(-1)]).is_err());
        assert!(call("log", vec![i(0)]).is_err());
        assert!(call("sin", vec![s("x")]).is_err());
    }

    #[test]
    fn integer_division_functions() {
        assert_eq!(ok("div", vec![i(7), i(2)]), i(3));
        assert_eq!(ok("mod", vec![i(3), i(2)]), i(1));
        assert!(call("div", vec![i(1), i(0)]).is_err());
    }

    #[test]
    fn bitwise() {
        assert_eq!(ok("bitnot", vec![i(0)]), i(-1));
        assert_eq!(ok("bitand", vec![i(6), i(3)]), i(2));
        assert_eq!(ok("bitor", vec![i(6), i(3)]), i(7));
        assert_eq!(ok("bitxor", vec![i(6), i(3)]), i(5));
        assert_eq!(ok("bitsl", vec![i(1), i(4)]), i(16));
        assert_eq!(ok("bitsr", vec![i(16), i(4)]), i(1));
        assert!(call("bitsl", vec![i(1), i(70)]).is_err());
        assert_eq!(ok("bitsize", vec![s("ab")]), i(16));
        assert_eq!(ok("bytesize", vec![s("abc")]), i(3));
    }

    #[test]
    fn subbits_reads_integers_and_floats() {
        let bin = Value::Bin(vec![0x85, 0x01]);
        assert_eq!(ok("subbits", vec![bin.clone(), i(8)]), i(0x85));
        assert_eq!(ok("subbits", vec![bin.clone(), i(1), i(4)]), i(8));
        assert_eq!(
            ok(
                "subbits",
                vec![bin.clone(), i(1), i(8), s("integer"), s("signed")]
            ),
            i(-123)
        );
        assert_eq!(
            ok(
                "subbits",
                vec![
                    bin.clone(),
                    i(1),
                    i(16),
                    s("integer"),
                    s("unsigned"),
                    s("little")
                ]
            ),
            i(0x0185)
        );
        assert_eq!(
            ok("subbits", vec![bin.clone(), i(17), i(8)]),
            Value::Undefined
        );
        let float = Value::Bin(1.5f32.to_be_bytes().to_vec());
        assert_eq!(ok("subbits", vec![float, i(1), i(32), s("float")]), f(1.5));
    }
}
