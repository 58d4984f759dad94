//! A message's `id`, as EMQX shows it: 32 upper-case hex digits, the time the message arrived
//! and a counter. A worker makes one for every message but a rule seldom reads it, so the
//! digits are written out only when one does.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageId {
    /// Made by a worker: written out as the two numbers, 16 hex digits each.
    Made { time_ms: u64, counter: u64 },
    /// Given as text (a `/rule_test` context, a test).
    Text(String),
}

impl MessageId {
    /// The id as EMQX writes it.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Self::Made { .. } => Cow::Owned(self.to_string()),
            Self::Text(text) => Cow::Borrowed(text),
        }
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Made { time_ms, counter } => write!(f, "{time_ms:016X}{counter:016X}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

impl From<&str> for MessageId {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for MessageId {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_id_is_the_time_then_the_counter_in_sixteen_hex_digits_each() {
        let id = MessageId::Made {
            time_ms: 0x0000_0190_ABCD_EF12,
            counter: u64::MAX - 1,
        };
        assert_eq!(id.as_text(), "00000190ABCDEF12FFFFFFFFFFFFFFFE");
        assert_eq!(id.to_string().len(), 32);
        assert_eq!(MessageId::from("given").as_text(), "given");
    }
}
