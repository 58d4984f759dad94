//! EMQX's date format strings, for `format_date` and `date_to_unix_ts`.
//!
//! Directives are `%Y %m %d %H %M %S %N %3N %6N %z %:z %::z`; anything else, `%%` included,
//! is literal text, as in EMQX. We also read `%9N` as nanoseconds (EMQX would print it
//! literally), because `%3N`/`%6N` make users expect it.
//!
//! Parsing follows EMQX's rather than a strict matcher's: every directive reads a fixed
//! number of bytes, and literal text only skips as many bytes as it has, without comparing
//! them. So `%H:%M:%S` reads `10-40-12`, which rules written for EMQX rely on.

use super::Unit;
use crate::error::ValueError;
use crate::functions::badarg;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millis,
    Micros,
    Nanos,
    /// `+0800`
    Zone,
    /// `+08:00`
    ZoneColon,
    /// `+08:00:00`
    ZoneSeconds,
}

impl Part {
    /// How many bytes of input the directive reads.
    fn width(self) -> usize {
        match self {
            Part::Year => 4,
            Part::Month | Part::Day | Part::Hour | Part::Minute | Part::Second => 2,
            Part::Millis => 3,
            Part::Micros => 6,
            Part::Nanos => 9,
            Part::Zone => 5,
            Part::ZoneColon => 6,
            Part::ZoneSeconds => 9,
        }
    }
}

/// Longer directives first where one is a prefix of another.
const DIRECTIVES: &[(&str, Part)] = &[
    ("%Y", Part::Year),
    ("%m", Part::Month),
    ("%d", Part::Day),
    ("%H", Part::Hour),
    ("%M", Part::Minute),
    ("%S", Part::Second),
    ("%N", Part::Nanos),
    ("%3N", Part::Millis),
    ("%6N", Part::Micros),
    ("%9N", Part::Nanos),
    ("%z", Part::Zone),
    ("%:z", Part::ZoneColon),
    ("%::z", Part::ZoneSeconds),
];

#[derive(Debug)]
enum Token<'f> {
    Part(Part),
    Literal(&'f [u8]),
}

fn tokenize(format: &[u8]) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let (mut at, mut literal_from) = (0, 0);
    while let Some(rest) = format.get(at..).filter(|r| !r.is_empty()) {
        let directive = DIRECTIVES
            .iter()
            .find(|(text, _)| rest.starts_with(text.as_bytes()));
        match directive {
            Some((text, part)) => {
                if literal_from < at {
                    tokens.push(Token::Literal(
                        format.get(literal_from..at).unwrap_or_default(),
                    ));
                }
                tokens.push(Token::Part(*part));
                at += text.len();
                literal_from = at;
            }
            None => at += 1,
        }
    }
    if literal_from < format.len() {
        tokens.push(Token::Literal(
            format.get(literal_from..).unwrap_or_default(),
        ));
    }
    tokens
}

/// Formats `epoch` (in `unit`) at `offset` seconds east of UTC.
pub(super) fn format(
    epoch: i64,
    unit: Unit,
    offset: i64,
    format: &str,
) -> Result<String, ValueError> {
    let per = i128::from(unit.per_second());
    // Floored, where EMQX truncates: before 1970 it would print the wrong second and a
    // negative fraction.
    let local = i128::from(epoch) + i128::from(offset) * per;
    let seconds = i64::try_from(local.div_euclid(per))
        .map_err(|_| badarg("format_date", format!("timestamp {epoch} out of range")))?;
    let nanos = i64::try_from(local.rem_euclid(per) * (1_000_000_000 / per)).unwrap_or(0);
    let time = chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| badarg("format_date", format!("timestamp {epoch} out of range")))?
        .naive_utc();
    let mut out = String::new();
    for token in tokenize(format.as_bytes()) {
        match token {
            Token::Literal(text) => out.push_str(&String::from_utf8_lossy(text)),
            Token::Part(part) => out.push_str(&format_part(part, &time, nanos, offset)),
        }
    }
    Ok(out)
}

fn format_part(part: Part, time: &chrono::NaiveDateTime, nanos: i64, offset: i64) -> String {
    use chrono::{Datelike, Timelike};
    match part {
        Part::Year => format!("{:04}", time.year()),
        Part::Month => format!("{:02}", time.month()),
        Part::Day => format!("{:02}", time.day()),
        Part::Hour => format!("{:02}", time.hour()),
        Part::Minute => format!("{:02}", time.minute()),
        Part::Second => format!("{:02}", time.second()),
        Part::Millis => format!("{:03}", nanos / 1_000_000),
        Part::Micros => format!("{:06}", nanos / 1_000),
        Part::Nanos => format!("{nanos:09}"),
        Part::Zone | Part::ZoneColon | Part::ZoneSeconds => zone_text(part, offset),
    }
}

fn zone_text(part: Part, offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    match part {
        Part::Zone => format!("{sign}{h:02}{m:02}"),
        Part::ZoneColon => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// Fields read from an input, by [`Part`] (zones excepted).
#[derive(Debug, Default)]
struct Fields {
    date: [Option<i64>; 6],
    millis: Option<i64>,
    micros: Option<i64>,
    nanos: Option<i64>,
    offset: Option<i64>,
}

const NAME: &str = "date_to_unix_ts";

/// Reads `input` by `format` into a time in `unit`. A zone in the input is subtracted; the
/// caller subtracts its own offset argument on top, as EMQX does.
pub(super) fn parse(input: &[u8], format: &str, unit: Unit) -> Result<i64, ValueError> {
    let fields = read_fields(input, format)?;
    let seconds = epoch_seconds(&fields)?;
    to_unit(&fields, seconds, unit)
}

fn read_fields(input: &[u8], format: &str) -> Result<Fields, ValueError> {
    let mut fields = Fields::default();
    let mut rest = input;
    for token in tokenize(format.as_bytes()) {
        if rest.is_empty() {
            break;
        }
        let width = match &token {
            Token::Literal(text) => text.len(),
            Token::Part(part) => part.width(),
        };
        let Some((text, after)) = rest.split_at_checked(width) else {
            return Err(badarg(
                NAME,
                format!(
                    "input {:?} ends in the middle of format {format:?}",
                    String::from_utf8_lossy(input)
                ),
            ));
        };
        rest = after;
        if let Token::Part(part) = token {
            store(&mut fields, part, text)?;
        }
    }
    Ok(fields)
}

fn store(fields: &mut Fields, part: Part, text: &[u8]) -> Result<(), ValueError> {
    if matches!(part, Part::Zone | Part::ZoneColon | Part::ZoneSeconds) {
        let zone = String::from_utf8_lossy(text);
        fields.offset = Some(super::parse_offset(&zone).map_err(|e| badarg(NAME, e))?);
        return Ok(());
    }
    let value = integer(text).ok_or_else(|| {
        badarg(
            NAME,
            format!(
                "bad_formatter_or_date: {:?} is not a number",
                String::from_utf8_lossy(text)
            ),
        )
    })?;
    let slot = match part {
        Part::Millis => &mut fields.millis,
        Part::Micros => &mut fields.micros,
        Part::Nanos => &mut fields.nanos,
        other => {
            let index = [
                Part::Year,
                Part::Month,
                Part::Day,
                Part::Hour,
                Part::Minute,
                Part::Second,
            ]
            .iter()
            .position(|p| *p == other)
            .unwrap_or(0);
            match fields.date.get_mut(index) {
                Some(slot) => slot,
                None => return Ok(()),
            }
        }
    };
    *slot = Some(value);
    Ok(())
}

/// An optionally signed decimal integer filling all of `text` (Erlang's `string:to_integer`).
fn integer(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

const DATE_PART_NAMES: [&str; 6] = ["year", "month", "day", "hour", "minute", "second"];
/// Seconds from 0000-01-01 to 1970-01-01, and from 1970 to 10000-01-01: EMQX's range.
const MIN_SECONDS: i64 = -62_167_219_200;
const MAX_SECONDS: i64 = 253_402_300_800;

fn epoch_seconds(fields: &Fields) -> Result<i64, ValueError> {
    let mut date = [0i64; 6];
    for ((value, field), name) in date.iter_mut().zip(fields.date).zip(DATE_PART_NAMES) {
        *value = field
            .ok_or_else(|| badarg(NAME, format!("missing_date_part: the format has no {name}")))?;
    }
    let [year, month, day, hour, minute, second] = date;
    let invalid_date = || badarg(NAME, format!("invalid date {year:04}-{month:02}-{day:02}"));
    let day = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(year).map_err(|_| invalid_date())?,
        u32::try_from(month).map_err(|_| invalid_date())?,
        u32::try_from(day).map_err(|_| invalid_date())?,
    )
    .filter(|_| year >= 0)
    .ok_or_else(invalid_date)?;
    let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp();
    // Like Erlang's calendar, the time of day is plain arithmetic: 24:00:00 is next midnight.
    let seconds = midnight + hour * 3600 + minute * 60 + second - fields.offset.unwrap_or(0);
    if !(MIN_SECONDS..MAX_SECONDS).contains(&seconds) {
        return Err(badarg(
            NAME,
            "bad_format: the date is outside years 0 to 9999",
        ));
    }
    Ok(seconds)
}

/// Adds the fractions read at full precision, then converts, rounding down like Erlang's
/// `convert_time_unit`: integer arithmetic keeps nanoseconds exact.
fn to_unit(fields: &Fields, seconds: i64, unit: Unit) -> Result<i64, ValueError> {
    let nanos = i128::from(seconds) * 1_000_000_000
        + i128::from(fields.millis.unwrap_or(0)) * 1_000_000
        + i128::from(fields.micros.unwrap_or(0)) * 1_000
        + i128::from(fields.nanos.unwrap_or(0));
    let per_unit = 1_000_000_000 / i128::from(unit.per_second());
    i64::try_from(nanos.div_euclid(per_unit))
        .map_err(|_| badarg(NAME, "the time does not fit in 64 bits in this unit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_directives_are_literal_text() {
        let text = format(0, Unit::Second, 0, "%y %% %Y%Q").unwrap();
        assert_eq!(text, "%y %% 1970%Q");
    }

    #[test]
    fn literals_skip_bytes_without_comparing() {
        let t = parse(b"2022x05y26 10!40?12", "%Y-%m-%d %H:%M:%S", Unit::Second).unwrap();
        assert_eq!(t, 1_653_561_612);
    }

    #[test]
    fn trailing_input_is_ignored_and_short_input_fails() {
        let format = "%Y-%m-%d %H:%M:%S";
        assert_eq!(
            parse(b"2022-05-26 10:40:12 and more", format, Unit::Second).unwrap(),
            1_653_561_612
        );
        assert!(parse(b"2022-05-26 10:40:1", format, Unit::Second).is_err());
    }

    #[test]
    fn negative_times_format_before_1970() {
        let text = format(-1_500, Unit::Millisecond, 0, "%Y-%m-%d %H:%M:%S.%3N").unwrap();
        assert_eq!(text, "1969-12-31 23:59:58.500");
    }
}
