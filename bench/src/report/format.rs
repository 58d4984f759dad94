//! Number formatting for the report tables.

use std::time::Duration;

use crate::pipeline::Measurement;
use crate::scenarios::Outcome;

/// `12,345`
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Missing messages, with how many of them were found in Kafka afterwards: `55 (55 late)`.
pub fn missing_of(missing: u64, late: u64) -> String {
    if late == 0 {
        count(missing)
    } else {
        format!("{} ({} late)", count(missing), count(late))
    }
}

/// [`missing_of`] for one measured run.
pub fn missing(m: &Measurement) -> String {
    missing_of(m.missing, m.found_later)
}

/// Messages per second, rounded to a whole message.
pub fn rate(per_second: f64) -> String {
    count(per_second.round().max(0.0) as u64)
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

pub fn duration_ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// `0.85×`, or `–` when either side is missing or zero.
pub fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "–".to_owned(),
    }
}

/// A figure, or `n/a (why)`.
pub fn outcome<T>(value: &Outcome<T>, show: impl Fn(&T) -> String) -> String {
    match value {
        Ok(v) => show(v),
        Err(why) => format!("n/a ({})", one_line(why)),
    }
}

/// Table cells must stay on one line and not break the Markdown table.
pub fn one_line(text: &str) -> String {
    let flat: String = text.replace(['\n', '\r'], " ").replace('|', "/");
    if flat.chars().count() > 160 {
        format!("{}…", flat.chars().take(160).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(100), "100");
        assert_eq!(rate(41999.6), "42,000");
        assert_eq!(ms(1500), "1.50");
        assert_eq!(ratio(Some(70.0), Some(100.0)), "0.70×");
        assert_eq!(ratio(Some(70.0), Some(0.0)), "–");
        assert_eq!(ratio(None, Some(1.0)), "–");
        assert_eq!(
            outcome(&Err::<u8, _>("a|b\nc".to_owned()), |_| String::new()),
            "n/a (a/b c)"
        );
        assert_eq!(duration_ms(Duration::from_micros(12_400)), "12 ms");
    }
}
