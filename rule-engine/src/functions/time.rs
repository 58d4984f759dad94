//! Date and time functions. Units are `second`, `millisecond`, `microsecond` and
//! `nanosecond`; offsets are `Z`, `local`, `+hh:mm`, `+hhmm` or seconds. Format strings use
//! EMQX's directives: `%Y %m %d %H %M %S %N %3N %6N %9N %z %:z %::z %%`.

use chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, Offset, SecondsFormat, TimeZone, Timelike,
    Utc,
};

use super::{Function, arg, badarg, function, int_arg, text_arg};
use crate::error::ValueError;
use crate::eval::Scope;
use crate::value::Value;

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
        Ok(Value::Int(
            offset_arg("timezone_to_offset_seconds", arg(a, 0))?
                .local_minus_utc()
                .into(),
        ))
    }),
    function("timezone_to_second", 1, 1, |a, _| {
        Ok(Value::Int(
            offset_arg("timezone_to_second", arg(a, 0))?
                .local_minus_utc()
                .into(),
        ))
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

fn offset_arg(name: &'static str, v: &Value) -> Result<FixedOffset, ValueError> {
    let invalid = || badarg(name, "invalid offset");
    if let Value::Int(seconds) = v {
        return i32::try_from(*seconds)
            .ok()
            .and_then(FixedOffset::east_opt)
            .ok_or_else(invalid);
    }
    let text = text_arg(name, v)?;
    match text.as_ref() {
        "Z" | "z" | "" => return FixedOffset::east_opt(0).ok_or_else(invalid),
        "local" => return Ok(local_offset()),
        _ => {}
    }
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(invalid()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let hours: i32 = digits
        .get(..2)
        .and_then(|h| h.parse().ok())
        .ok_or_else(invalid)?;
    let minutes: i32 = digits
        .get(2..)
        .and_then(|m| m.parse().ok())
        .ok_or_else(invalid)?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(invalid)
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
    let time = datetime(epoch, unit, offset)?;
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut directive = String::new();
        for d in chars.by_ref() {
            directive.push(d);
            if d.is_ascii_alphabetic() || d == '%' {
                break;
            }
        }
        let nanos = time.nanosecond() % 1_000_000_000;
        let offset_seconds = offset.local_minus_utc();
        match directive.as_str() {
            "Y" => out.push_str(&format!("{:04}", time.year())),
            "m" => out.push_str(&format!("{:02}", time.month())),
            "d" => out.push_str(&format!("{:02}", time.day())),
            "H" => out.push_str(&format!("{:02}", time.hour())),
            "M" => out.push_str(&format!("{:02}", time.minute())),
            "S" => out.push_str(&format!("{:02}", time.second())),
            "N" | "9N" => out.push_str(&format!("{nanos:09}")),
            "3N" => out.push_str(&format!("{:03}", nanos / 1_000_000)),
            "6N" => out.push_str(&format!("{:06}", nanos / 1_000)),
            "z" => out.push_str(&offset_text(offset_seconds, "")),
            ":z" => out.push_str(&offset_text(offset_seconds, ":")),
            "::z" => out.push_str(&format!(
                "{}:{:02}",
                offset_text(offset_seconds, ":"),
                offset_seconds.abs() % 60
            )),
            "%" => out.push('%'),
            other => {
                return Err(badarg(
                    "format_date",
                    format!("unsupported directive %{other}"),
                ));
            }
        }
    }
    Ok(Value::Str(out))
}

fn offset_text(seconds: i32, separator: &str) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.abs();
    format!("{sign}{:02}{separator}{:02}", abs / 3600, abs % 3600 / 60)
}

/// `date_to_unix_ts(Unit, [Offset,] Format, Input)`: parses `Input` by `Format`. A `%z` in
/// the input wins; otherwise the offset argument (default UTC) applies.
fn date_to_unix_ts(args: &[Value], _: &mut Scope<'_>) -> Result<Value, ValueError> {
    const NAME: &str = "date_to_unix_ts";
    let unit = unit_arg(NAME, args.first())?;
    let (offset, format, input) = match args {
        [_, format, input] => (FixedOffset::east_opt(0), format, input),
        [_, offset, format, input, ..] => (Some(offset_arg(NAME, offset)?), format, input),
        _ => return Err(badarg(NAME, "expected a unit, a format and an input")),
    };
    let format = text_arg(NAME, format)?;
    let input = text_arg(NAME, input)?;
    let mut parts = [1970i64, 1, 1, 0, 0, 0, 0];
    let mut parsed_offset: Option<i64> = None;
    let mut rest = input.as_ref();
    let mut chars = format.chars();
    let bad = || {
        badarg(
            NAME,
            format!("input {input:?} does not match format {format:?}"),
        )
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            rest = rest.strip_prefix(c).ok_or_else(bad)?;
            continue;
        }
        let mut directive = String::new();
        for d in chars.by_ref() {
            directive.push(d);
            if d.is_ascii_alphabetic() || d == '%' {
                break;
            }
        }
        let (slot, width, scale) = match directive.as_str() {
            "Y" => (0, 4, 1),
            "m" => (1, 2, 1),
            "d" => (2, 2, 1),
            "H" => (3, 2, 1),
            "M" => (4, 2, 1),
            "S" => (5, 2, 1),
            "N" | "9N" => (6, 9, 1),
            "6N" => (6, 6, 1_000),
            "3N" => (6, 3, 1_000_000),
            "z" | ":z" | "::z" => {
                let width = match directive.as_str() {
                    "z" => 5,
                    ":z" => 6,
                    _ => 9,
                };
                let (text, after) = rest.split_at_checked(width).ok_or_else(bad)?;
                parsed_offset = Some(offset_seconds(text).ok_or_else(bad)?);
                rest = after;
                continue;
            }
            "%" => {
                rest = rest.strip_prefix('%').ok_or_else(bad)?;
                continue;
            }
            other => return Err(badarg(NAME, format!("unsupported directive %{other}"))),
        };
        let (digits, after) = rest.split_at_checked(width).ok_or_else(bad)?;
        let value: i64 = digits.parse().map_err(|_| bad())?;
        if let Some(part) = parts.get_mut(slot) {
            *part = value * scale;
        }
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    let [year, month, day, hour, minute, second, nanos] = parts;
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(year).map_err(|_| bad())?,
        u32::try_from(month).map_err(|_| bad())?,
        u32::try_from(day).map_err(|_| bad())?,
    )
    .and_then(|d| {
        d.and_hms_nano_opt(
            u32::try_from(hour).ok()?,
            u32::try_from(minute).ok()?,
            u32::try_from(second).ok()?,
            u32::try_from(nanos).ok()?,
        )
    })
    .ok_or_else(bad)?;
    let offset_seconds =
        parsed_offset.unwrap_or_else(|| offset.map_or(0, |o| i64::from(o.local_minus_utc())));
    let utc = Utc.from_utc_datetime(&date);
    let seconds = utc.timestamp() - offset_seconds;
    Ok(Value::Int(to_unit(
        seconds,
        utc.timestamp_subsec_nanos(),
        unit,
    )))
}

/// `+hhmm`, `+hh:mm` or `+hh:mm:ss` in seconds.
fn offset_seconds(text: &str) -> Option<i64> {
    let (sign, rest) = match text.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let field =
        |range: std::ops::Range<usize>| digits.get(range).and_then(|d| d.parse::<i64>().ok());
    let seconds = field(0..2)? * 3600 + field(2..4)? * 60 + field(4..6).unwrap_or(0);
    Some(sign * seconds)
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
