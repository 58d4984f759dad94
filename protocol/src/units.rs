//! Durations (`5s`, `500ms`) and sizes (`896KB`) written the way EMQX configuration writes them.
//!
//! Both remember the unit they were written in, so that a configuration read back from the API
//! looks like the one that was written (`"1024KB"` stays `"1024KB"`, `"60s"` stays `"60s"`), as
//! EMQX shows its raw configuration. Values made in code print in their shortest form. Equality,
//! ordering and hashing look at the amount only: `"1024KB"` equals `"1MB"`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a duration or size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("`{0}` is not a duration: expected a number followed by ms, s, m, h or d, e.g. `5s`")]
    Duration(String),
    #[error(
        "`{0}` is not a timeout: expected `infinity` or a number followed by ms, s, m, h or d, \
         e.g. `60s`"
    )]
    Timeout(String),
    #[error("`{0}` is not a size: expected a number followed by B, KB, MB or GB, e.g. `896KB`")]
    Size(String),
}

/// How a value was written: the unit as given (case normalised), or none when made in code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spelling(Option<&'static str>);

/// Equality, ordering and hashing of a unit value by its amount alone.
macro_rules! compare_by_amount {
    ($ty:ty) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0
            }
        }
        impl Eq for $ty {}
        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.0.cmp(&other.0)
            }
        }
        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }
    };
}

/// A duration such as `5s`, `500ms`, `1m`, `2h`, `1d`. A bare number means milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct HumanDuration(pub std::time::Duration, Spelling);

compare_by_amount!(HumanDuration);

impl HumanDuration {
    pub const fn from_millis(ms: u64) -> Self {
        Self(std::time::Duration::from_millis(ms), Spelling(None))
    }

    pub const fn from_secs(s: u64) -> Self {
        Self(std::time::Duration::from_secs(s), Spelling(None))
    }

    pub fn as_millis(&self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

impl FromStr for HumanDuration {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::Duration(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(split);
        let value: u64 = digits.parse().map_err(|_| err())?;
        let (millis_per_unit, spelling): (u64, &'static str) =
            match unit.trim().to_ascii_lowercase().as_str() {
                "" => (1, ""),
                "ms" => (1, "ms"),
                "s" => (1_000, "s"),
                "m" => (60_000, "m"),
                "h" => (3_600_000, "h"),
                "d" => (86_400_000, "d"),
                _ => return Err(err()),
            };
        value
            .checked_mul(millis_per_unit)
            .map(|ms| {
                Self(
                    std::time::Duration::from_millis(ms),
                    Spelling(Some(spelling)),
                )
            })
            .ok_or_else(err)
    }
}

/// Milliseconds per unit of a duration spelling.
fn millis_per_unit(spelling: &str) -> u64 {
    match spelling {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 1,
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        if let Spelling(Some(unit)) = self.1 {
            return write!(f, "{}{unit}", ms / millis_per_unit(unit));
        }
        match ms {
            0 => write!(f, "0ms"),
            _ if ms.is_multiple_of(3_600_000) => write!(f, "{}h", ms / 3_600_000),
            _ if ms.is_multiple_of(60_000) => write!(f, "{}m", ms / 60_000),
            _ if ms.is_multiple_of(1_000) => write!(f, "{}s", ms / 1_000),
            _ => write!(f, "{ms}ms"),
        }
    }
}

/// A byte size such as `896KB`, `10MB`, `2GB` or `512B`; K, M and G are powers of 1024 as in EMQX.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteSize(pub u64, Spelling);

compare_by_amount!(ByteSize);

impl ByteSize {
    pub const fn bytes(n: u64) -> Self {
        Self(n, Spelling(None))
    }

    pub const fn kib(n: u64) -> Self {
        Self::bytes(n * 1024)
    }

    pub const fn mib(n: u64) -> Self {
        Self::bytes(n * 1024 * 1024)
    }

    pub const fn gib(n: u64) -> Self {
        Self::bytes(n * 1024 * 1024 * 1024)
    }
}

/// Bytes per unit of a size spelling.
fn bytes_per_unit(spelling: &str) -> u64 {
    match spelling {
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        _ => 1,
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::Size(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(split);
        let value: u64 = digits.parse().map_err(|_| err())?;
        let spelling: &'static str = match unit.trim().to_ascii_uppercase().as_str() {
            "" => "",
            "B" => "B",
            "K" => "K",
            "KB" => "KB",
            "M" => "M",
            "MB" => "MB",
            "G" => "G",
            "GB" => "GB",
            _ => return Err(err()),
        };
        value
            .checked_mul(bytes_per_unit(spelling))
            .map(|n| Self(n, Spelling(Some(spelling))))
            .ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if let Spelling(Some(unit)) = self.1 {
            return write!(f, "{}{unit}", n / bytes_per_unit(unit));
        }
        match n {
            0 => write!(f, "0B"),
            _ if n.is_multiple_of(1 << 30) => write!(f, "{}GB", n >> 30),
            _ if n.is_multiple_of(1 << 20) => write!(f, "{}MB", n >> 20),
            _ if n.is_multiple_of(1 << 10) => write!(f, "{}KB", n >> 10),
            _ => write!(f, "{n}B"),
        }
    }
}

macro_rules! text_serde {
    ($ty:ty, $expecting:literal, $pattern:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$ty, E> {
                        v.to_string().parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_any(Visitor)
            }
        }

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($expecting))
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}

/// A timeout as EMQX writes it: a duration such as `60s`, or `infinity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    Infinity,
    After(HumanDuration),
}

impl FromStr for Timeout {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "infinity" {
            return Ok(Self::Infinity);
        }
        text.parse()
            .map(Self::After)
            .map_err(|_| UnitError::Timeout(text.to_owned()))
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Infinity => f.write_str("infinity"),
            Self::After(duration) => duration.fmt(f),
        }
    }
}

// The patterns say what `FromStr` takes: digits and a unit in any case, spaces around them.
text_serde!(
    HumanDuration,
    "a duration such as `5s` or `500ms`",
    r"^\s*[0-9]+\s*([mM][sS]|[sSmMhHdD])?\s*$"
);
text_serde!(
    Timeout,
    "a duration such as `60s`, or `infinity`",
    r"^(infinity|\s*[0-9]+\s*([mM][sS]|[sSmMhHdD])?\s*)$"
);
text_serde!(
    ByteSize,
    "a size such as `896KB` or `10MB`",
    r"^\s*[0-9]+\s*([bB]|[kKmMgG][bB]?)?\s*$"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_as_written() {
        for (text, ms, written) in [
            ("5s", 5_000, "5s"),
            ("500ms", 500, "500ms"),
            ("1m", 60_000, "1m"),
            ("2h", 7_200_000, "2h"),
            ("1500", 1_500, "1500"),
            ("60s", 60_000, "60s"),
            ("5000MS", 5_000, "5000ms"),
        ] {
            let d: HumanDuration = text.parse().unwrap_or_default();
            assert_eq!(d.as_millis(), ms, "{text}");
            assert_eq!(d.to_string(), written, "{text}");
        }
        assert_eq!(
            "60s".parse::<HumanDuration>().ok(),
            Some(HumanDuration::from_secs(60))
        );
    }

    #[test]
    fn values_made_in_code_print_in_their_shortest_form() {
        assert_eq!(HumanDuration::from_millis(60_000).to_string(), "1m");
        assert_eq!(HumanDuration::from_millis(1_500).to_string(), "1500ms");
        assert_eq!(HumanDuration::default().to_string(), "0ms");
        assert_eq!(ByteSize::kib(1024).to_string(), "1MB");
        assert_eq!(ByteSize::bytes(100).to_string(), "100B");
    }

    #[test]
    fn bad_durations_are_rejected_with_the_input() {
        for text in ["", "s", "5 parsecs", "-1s", "1.5s", "99999999999999999999d"] {
            let err = text.parse::<HumanDuration>().err();
            assert_eq!(err, Some(UnitError::Duration(text.to_owned())), "{text}");
        }
    }

    #[test]
    fn sizes_parse_and_print_as_written() {
        for (text, bytes, canonical) in [
            ("896KB", 896 * 1024, "896KB"),
            ("10MB", 10 << 20, "10MB"),
            ("2GB", 2 << 30, "2GB"),
            ("100", 100, "100"),
            ("1024KB", 1 << 20, "1024KB"),
            ("1024kb", 1 << 20, "1024KB"),
        ] {
            let s: ByteSize = text.parse().unwrap_or_default();
            assert_eq!(s.0, bytes, "{text}");
            assert_eq!(s.to_string(), canonical, "{text}");
        }
        assert!("12 furlongs".parse::<ByteSize>().is_err());
        assert_eq!("1024KB".parse::<ByteSize>().ok(), Some(ByteSize::mib(1)));
    }

    #[test]
    fn serde_round_trips_through_text() {
        let d: HumanDuration = serde_json::from_str("\"5s\"").unwrap_or_default();
        assert_eq!(serde_json::to_string(&d).ok().as_deref(), Some("\"5s\""));
        let s: Result<ByteSize, _> = serde_json::from_str("\"lots\"");
        assert!(s.is_err());
    }
}
