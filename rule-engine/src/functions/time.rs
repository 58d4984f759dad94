//! Date and time functions. Units are `second`, `millisecond`, `microsecond` and
//! `nanosecond`; offsets are `Z`, `local`, `+hh:mm`, `+hh:mm:ss`, `+hhmm` or seconds. Format
//! strings are described in [`date_format`].

use chrono::{DateTime, FixedOffset, Local, Offset, SecondsFormat, Utc};

use super::{Function, arg, badarg, function, int_arg, text_arg};
use crate::error::ValueError;
use crate::eval::Scope;
use crate::value::Value;

mod date_format;

pub(super) const FUNCTIONS: &[Function] = &[
    function("now_rfc3339", 0, 1, |a, _| {
        let unit = unit_arg("now_rfc3339", a.first())?;
        Ok(Value::Str(rfc3339(now_in(unit), unit, local_offset())?))
    }),
    function("now_timestamp", 0, 1, |a, _| {
        Ok(Value::Int(now_in(unit_arg("now_timestamp", a.first())?)))
    }),
    function("unix_ts_to_rfc3339", 1, 2, |a, _| {
        let unit = unit_arg("unix_ts_to_rfc3339", a.get(1))?;
        let epoch = int_arg("unix_ts_to_rfc3339", arg(a, 0))?;
        Ok(Value::Str(rfc3339(epoch, unit, local_offset())?))
    }),
    function("rfc3339_to_unix_ts", 1, 2, |a, _| {
        let unit = unit_arg("rfc3339_to_unix_ts", a.get(1))?;
        let text = text_arg("rfc3339_to_unix_ts", arg(a, 0))?;
        let parsed = DateTime::parse_from_rfc3339(&text)
            .map_err(|e| badarg("rfc3339_to_unix_ts", e.to_string()))?;
        Ok(Value::Int(to_unit(
            parsed.timestamp(),
            parsed.timestamp_subsec_nanos(),
            unit,
        )))
    }),
    function("format_date", 3, 4, format_date),
    function("date_to_unix_ts", 3, 4, date_to_unix_ts),
    function("timezone_to_offset_seconds", 1, 1, |a, _| {
        offset_arg("timezone_to_offset_seconds", arg(a, 0)).map(Value::Int)
    }),
    // Kept by EMQX for compatibility with its 4.x rules.
    function("timezone_to_second", 1, 1, |a, _| {
        offset_arg("timezone_to_second", arg(a, 0)).map(Value::Int)
    }),
    function("mongo_date", 0, 2, mongo_date),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
}

impl Unit {
    fn per_second(self) -> i64 {
        match self {
            Unit::Second => 1,
            Unit::Millisecond => 1_000,
            Unit::Microsecond => 1_000_000,
            Unit::Nanosecond => 1_000_000_000,
        }
    }
}

/// `second` unless given; an unknown name is an error rather than a silent default.
fn unit_arg(name: &'static str, v: Option<&Value>) -> Result<Unit, ValueError> {
    let Some(v) = v else { return Ok(Unit::Second) };
    match text_arg(name, v)?.as_ref() {
        "second" => Ok(Unit::Second),
        "millisecond" => Ok(Unit::Millisecond),
        "microsecond" => Ok(Unit::Microsecond),
        "nanosecond" => Ok(Unit::Nanosecond),
        other => Err(badarg(name, format!("unknown time unit `{other}`"))),
    }
}

fn local_offset() -> FixedOffset {
    Local::now().offset().fix()
}

/// An offset in seconds east of UTC: an integer, `undefined` (UTC), or text (see
/// [`parse_offset`]).
fn offset_arg(name: &'static str, v: &Value) -> Result<i64, ValueError> {
    match v {
        Value::Int(seconds) => Ok(*seconds),
        Value::Undefined => Ok(0),
        other => parse_offset(&text_arg(name, other)?).map_err(|e| badarg(name, e)),
    }
}

/// `Z`, `z`, `local`, `+hh:mm`, `+hh:mm:ss` or `+hhmm` (or `-`), in seconds, with EMQX's
/// limits: hours to 23, minutes and seconds to 59.
fn parse_offset(text: &str) -> Result<i64, String> {
    match text {
        "Z" | "z" => return Ok(0),
        "local" => return Ok(i64::from(local_offset().local_minus_utc())),
        _ => {}
    }
    let bad = || format!("bad time offset {text:?}: expected Z, local, +hh:mm, +hh:mm:ss or +hhmm");
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let fields: Vec<&str> = rest.split(':').filter(|f| !f.is_empty()).collect();
    let (hours, minutes, seconds) = match fields.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        [hhmm] if hhmm.len() == 4 => hhmm
            .split_at_checked(2)
            .map(|(h, m)| (h, m, "0"))
            .ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let field = |text: &str, max: i64| {
        text.parse::<i64>()
            .ok()
            .filter(|v| (0..=max).contains(v) && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)
    };
    Ok(sign * (field(hours, 23)? * 3600 + field(minutes, 59)? * 60 + field(seconds, 59)?))
}

fn now_in(unit: Unit) -> i64 {
    let now = Utc::now();
    to_unit(now.timestamp(), now.timestamp_subsec_nanos(), unit)
}

fn to_unit(seconds: i64, nanos: u32, unit: Unit) -> i64 {
    let per = unit.per_second();
    seconds
        .saturating_mul(per)
        .saturating_add(i64::from(nanos) / (1_000_000_000 / per))
}

fn datetime(
    epoch: i64,
    unit: Unit,
    offset: FixedOffset,
) -> Result<DateTime<FixedOffset>, ValueError> {
    let per = unit.per_second();
    let nanos = u32::try_from(epoch.rem_euclid(per) * (1_000_000_000 / per)).unwrap_or(0);
    DateTime::from_timestamp(epoch.div_euclid(per), nanos)
        .map(|utc| utc.with_timezone(&offset))
        .ok_or_else(|| badarg("date", format!("timestamp {epoch} out of range")))
}

fn rfc3339(epoch: i64, unit: Unit, offset: FixedOffset) -> Result<String, ValueError> {
    let format = match unit {
        Unit::Second => SecondsFormat::Secs,
        Unit::Millisecond => SecondsFormat::Millis,
        Unit::Microsecond => SecondsFormat::Micros,
        Unit::Nanosecond => SecondsFormat::Nanos,
    };
    Ok(datetime(epoch, unit, offset)?.to_rfc3339_opts(format, false))
}

/// `format_date(Unit, Offset, Format [, Epoch])`: formats now, or the given time.
fn format_date(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let unit = unit_arg("format_date", args.first())?;
    let offset = offset_arg("format_date", arg(args, 1))?;
    let format = text_arg("format_date", arg(args, 2))?;
    let epoch = match args.get(3) {
        Some(epoch) => int_arg("format_date", epoch)?,
        None => now_in(unit),
    };
    date_format::format(epoch, unit, offset, &format).map(Value::Str)
}

/// `date_to_unix_ts(Unit, [Offset,] Format, Input)`: parses `Input` by `Format`. A zone read
/// from the input and the offset argument both apply: EMQX subtracts each, so giving both
/// shifts the result twice, and we keep that for rules written against it.
fn date_to_unix_ts(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    const NAME: &str = "date_to_unix_ts";
    let unit = unit_arg(NAME, args.first())?;
    let (offset, format, input) = match args {
        [_, format, input] => (0, format, input),
        [_, offset, format, input, ..] => (offset_arg(NAME, offset)?, format, input),
        _ => return Err(badarg(NAME, "expected a unit, a format and an input")),
    };
    let format = text_arg(NAME, format)?;
    let input = crate::functions::bytes_arg(NAME, input)?;
    let parsed = date_format::parse(input, &format, unit)?;
    offset
        .checked_mul(unit.per_second())
        .and_then(|shift| parsed.checked_sub(shift))
        .map(Value::Int)
        .ok_or_else(|| badarg(NAME, "the time does not fit in 64 bits in this unit"))
}

/// `mongo_date([Epoch [, Unit]])`: in rule tests EMQX renders it as `ISODate(<rfc3339>)`.
fn mongo_date(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    let unit = unit_arg("mongo_date", args.get(1))?;
    let millis = match args.first() {
        None => now_in(Unit::Millisecond),
        Some(epoch) => {
            let epoch = int_arg("mongo_date", epoch)?;
            if args.len() == 1 {
                epoch
            } else {
                to_unit(epoch.div_euclid(unit.per_second()), 0, Unit::Millisecond)
                    + epoch.rem_euclid(unit.per_second()) * 1000 / unit.per_second()
            }
        }
    };
    let utc = FixedOffset::east_opt(0).ok_or_else(|| badarg("mongo_date", "offset"))?;
    let text =
        datetime(millis, Unit::Millisecond, utc)?.to_rfc3339_opts(SecondsFormat::Millis, true);
    Ok(Value::Str(format!("ISODate({text})")))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, i, ok, s};
    use crate::value::Value;

    #[test]
    fn rfc3339_conversions() {
        assert_eq!(
            ok("rfc3339_to_unix_ts", vec![s("2021-01-01T00:00:00+00:00")]),
            i(1_609_459_200)
        );
        assert_eq!(
            ok(
                "rfc3339_to_unix_ts",
                vec![s("2021-01-01T08:00:00.123+08:00"), s("millisecond")]
            ),
            i(1_609_459_200_123)
        );
        let Value::Str(text) = ok("unix_ts_to_rfc3339", vec![i(1_609_459_200)]) else {
            panic!()
        };
        assert_eq!(ok("rfc3339_to_unix_ts", vec![s(&text)]), i(1_609_459_200));
        assert!(call("rfc3339_to_unix_ts", vec![s("yesterday")]).is_err());
        assert!(call("now_timestamp", vec![s("fortnight")]).is_err());
    }

    #[test]
    fn now_is_sane() {
        let Value::Int(now) = ok("now_timestamp", vec![]) else {
            panic!()
        };
        assert!(now > 1_700_000_000);
        let Value::Int(ms) = ok("now_timestamp", vec![s("millisecond")]) else {
            panic!()
        };
        assert!(ms / 1000 >= now);
    }

    #[test]
    fn formatting_and_parsing_dates() {
        let formatted = ok(
            "format_date",
            vec![
                s("millisecond"),
                s("+08:00"),
                s("%Y-%m-%d %H:%M:%S.%3N %:z"),
                i(1_609_459_200_123),
            ],
        );
        assert_eq!(formatted, s("2021-01-01 08:00:00.123 +08:00"));
        assert_eq!(
            ok(
                "date_to_unix_ts",
                vec![
                    s("second"),
                    s("%Y-%m-%d %H:%M:%S"),
                    s("2021-01-01 00:00:00")
                ]
            ),
            i(1_609_459_200)
        );
        assert_eq!(
            ok(
                "date_to_unix_ts",
                vec![
                    s("second"),
                    s("+08:00"),
                    s("%Y-%m-%d %H:%M:%S"),
                    s("2021-01-01 08:00:00")
                ]
            ),
            i(1_609_459_200)
        );
        assert_eq!(
            ok(
                "date_to_unix_ts",
                vec![
                    s("millisecond"),
                    s("%Y-%m-%dT%H:%M:%S.%3N%z"),
                    s("2021-01-01T08:00:00.500+0800")
                ]
            ),
            i(1_609_459_200_500)
        );
        assert!(call("date_to_unix_ts", vec![s("second"), s("%Y"), s("20x1")]).is_err());
    }

    #[test]
    fn offsets_and_mongo_dates() {
        assert_eq!(
            ok("timezone_to_offset_seconds", vec![s("+08:00")]),
            i(28_800)
        );
        assert_eq!(
            ok("timezone_to_offset_seconds", vec![s("-0130")]),
            i(-5_400)
        );
        assert_eq!(ok("timezone_to_offset_seconds", vec![s("Z")]), i(0));
        assert!(call("timezone_to_offset_seconds", vec![s("bogus")]).is_err());
        assert_eq!(
            ok("mongo_date", vec![i(1_609_459_200_123)]),
            s("ISODate(2021-01-01T00:00:00.123Z)")
        );
        assert_eq!(
            ok("mongo_date", vec![i(1_609_459_200), s("second")]),
            s("ISODate(2021-01-01T00:00:00.000Z)")
        );
    }
}
