//! The members a rule reads from a JSON object payload, found by one pass over its bytes.
//!
//! A rule such as `SELECT payload.temp ... WHERE payload.temp > 0` needs a few members of a
//! payload that has a dozen. serde_json's visitor machinery costs a few hundred instructions per
//! member even when the member is skipped (reading the key into a buffer, handing it to a
//! visitor, skipping the value token by token): on the benchmark's 200-byte payload the decode
//! was a third of the worker's instructions per message. This scanner walks the object once,
//! compares each key's bytes with the wanted keys and hands only the wanted values to serde_json.
//!
//! It is a fast path, not a second parser: it answers only for documents it is sure about and
//! gives up (`None`) on anything unusual — a key with an escape, nesting deeper than
//! [`MAX_DEPTH`], any syntax error — and the caller then parses with serde_json, whose result
//! and error messages stand. Every document it accepts is one serde_json accepts with the same
//! members (`tests` below compares the two on generated and mutated documents).

use super::plain_text::plain_len;
use super::{Key, Map, MapHasher, Value};

/// Nesting deeper than this is left to serde_json (whose own limit is 128), so that a wanted
/// value parsed on its own never passes where the whole document would fail.
const MAX_DEPTH: usize = 64;

/// Wanted keys compared as plain byte slices when there are at most this many (nearly every
/// rule); more are compared through [`Key`], whose `as_bytes` looks at its representation on
/// every comparison (117 instructions more per message on the hot-path benchmark).
const INLINE_KEYS: usize = 8;

/// The top-level object's members named in `keys`; `None` when `bytes` is not a plain JSON
/// object this scanner vouches for.
pub(super) fn kept_members(bytes: &[u8], keys: &[Key]) -> Option<Value> {
    let mut inline: [&[u8]; INLINE_KEYS] = [&[]; INLINE_KEYS];
    for (slot, key) in inline.iter_mut().zip(keys) {
        *slot = key.as_bytes();
    }
    let position = |name: &[u8]| {
        if keys.len() <= INLINE_KEYS {
            inline[..keys.len()].iter().position(|k| *k == name)
        } else {
            keys.iter().position(|k| k.as_bytes() == name)
        }
    };
    let mut scan = Scanner { bytes, at: 0 };
    scan.skip_whitespace();
    scan.expect(b'{')?;
    let mut map = Map::with_capacity_and_hasher(keys.len(), MapHasher::default());
    scan.items(b'}', |scan| {
        let name = scan.plain_key()?;
        scan.colon()?;
        let start = scan.at;
        scan.skip_value(1)?;
        if let Some(index) = position(name) {
            map.insert(keys[index].clone(), member_value(&bytes[start..scan.at])?);
        }
        Some(())
    })?;
    scan.skip_whitespace();
    (scan.at == bytes.len()).then_some(Value::Map(map))
}

/// A wanted member's value, already checked by the scanner: the common scalars directly, with
/// the values serde_json gives them; floats, escaped strings and containers by serde_json.
fn member_value(json: &[u8]) -> Option<Value> {
    match json {
        b"true" => return Some(Value::Bool(true)),
        b"false" => return Some(Value::Bool(false)),
        b"null" => return Some(Value::Null),
        [b'"', text @ .., b'"'] if !text.contains(&b'\\') => {
            // serde_json refuses a string that is not UTF-8.
            return std::str::from_utf8(text)
                .ok()
                .map(|text| Value::Str(text.to_owned()));
        }
        _ => {}
    }
    if let Some(int) = small_integer(json) {
        return Some(Value::Int(int));
    }
    Value::parse_json(json).ok()
}

/// An integer of at most 18 digits, which always fits an `i64` (serde_json makes it one too).
fn small_integer(json: &[u8]) -> Option<i64> {
    let (negative, digits) = match json {
        [b'-', digits @ ..] => (true, digits),
        digits => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits
        .iter()
        .fold(0_i64, |n, d| n * 10 + i64::from(d - b'0'));
    match (negative, magnitude) {
        // serde_json reads `-0` as the float -0.0.
        (true, 0) => None,
        (true, n) => Some(-n),
        (false, n) => Some(n),
    }
}

struct Scanner<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Scanner<'b> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Moves past the bytes from here for which `skip` holds.
    fn skip_while(&mut self, skip: impl Fn(u8) -> bool) {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        self.at += rest.iter().position(|b| !skip(*b)).unwrap_or(rest.len());
    }

    fn skip_whitespace(&mut self) {
        // Most payloads are compact JSON: the next byte is seldom whitespace.
        if self.peek().is_some_and(|b| b > b' ') {
            return;
        }
        self.skip_while(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r'));
    }

    /// Moves past a string's bytes up to its closing quote, an escape or a control character.
    fn skip_plain_text(&mut self) {
        self.at += plain_len(self.bytes.get(self.at..).unwrap_or_default());
    }

    /// An object key without escapes, as its bytes between the quotes. A key with an escape
    /// would have to be decoded before it is compared: that rare case is serde_json's.
    fn plain_key(&mut self) -> Option<&'b [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        self.skip_plain_text();
        let key = &self.bytes[start..self.at];
        self.expect(b'"')?;
        Some(key)
    }

    /// Skips a string's contents after its opening quote, checking its escapes as serde_json
    /// does when it skips one (`\u` takes any four hex digits).
    fn skip_string(&mut self) -> Option<()> {
        loop {
            self.skip_plain_text();
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let hex = self.bytes.get(self.at..self.at + 4)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.at += 4;
                    }
                    _ => return None,
                },
                // A control character.
                _ => return None,
            }
        }
    }

    /// Skips one JSON value at nesting `depth` (the top-level object's members are at 1).
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.next()? {
            b'"' => self.skip_string(),
            b'-' => self.skip_number(),
            b'0'..=b'9' => {
                self.at -= 1;
                self.skip_number()
            }
            b't' => self.literal(b"rue"),
            b'f' => self.literal(b"alse"),
            b'n' => self.literal(b"ull"),
            b'[' if depth < MAX_DEPTH => self.skip_array(depth + 1),
            b'{' if depth < MAX_DEPTH => self.skip_object(depth + 1),
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8]) -> Option<()> {
        let end = self.at + rest.len();
        (self.bytes.get(self.at..end)? == rest).then(|| self.at = end)
    }

    /// `-`? (`0` | [1-9][0-9]*) (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?, the sign already read.
    fn skip_number(&mut self) -> Option<()> {
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.skip_while(|b| b.is_ascii_digit()),
            _ => return None,
        }
        if self.eat(b'.') {
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// One digit or more.
    fn digits(&mut self) -> Option<()> {
        let start = self.at;
        self.skip_while(|b| b.is_ascii_digit());
        (self.at > start).then_some(())
    }

    fn skip_array(&mut self, depth: usize) -> Option<()> {
        self.items(b']', |scan| scan.skip_value(depth))
    }

    fn skip_object(&mut self, depth: usize) -> Option<()> {
        self.items(b'}', |scan| {
            scan.expect(b'"')?;
            scan.skip_string()?;
            scan.colon()?;
            scan.skip_value(depth)
        })
    }

    /// The `:` between a key and its value, with the whitespace around it.
    fn colon(&mut self) -> Option<()> {
        self.skip_whitespace();
        self.expect(b':')?;
        self.skip_whitespace();
        Some(())
    }

    /// The comma-separated items of an array or object, its opening bracket read, each read by
    /// `item`, up to and including `close`.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.skip_whitespace();
        if self.eat(close) {
            return Some(());
        }
        loop {
            self.skip_whitespace();
            item(self)?;
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                byte if byte == close => return Some(()),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys(names: &[&str]) -> Vec<Key> {
        names.iter().map(Key::new).collect()
    }

    /// What serde_json alone makes of the document (the path this scanner shortcuts).
    fn by_serde(bytes: &[u8], keys: &[Key]) -> Result<Value, String> {
        Value::parse_json_keeping_with_serde(bytes, keys).map_err(|e| e.to_string())
    }

    /// The property every accepted document must have.
    fn agrees_with_serde(bytes: &[u8], keys: &[Key]) {
        if let Some(scanned) = kept_members(bytes, keys) {
            assert_eq!(
                by_serde(bytes, keys),
                Ok(scanned),
                "scanner and serde_json differ on {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn keeps_the_wanted_members_and_parses_them_as_serde_json_does() {
        let wanted = keys(&["temp", "seq", "loc", "big"]);
        let doc =
            br#" { "temp" : 23.5, "hum":41.2,"seq":18446744073709551615,"s":"a\"b\\c\u00e9\n",
            "alarms":[],"loc":{"lat":52.52,"lon":-1.5e-3},"ok":true,"no":null,"f":false,
            "big":-9223372036854775808 } "#;
        let scanned = kept_members(doc, &wanted).expect("a plain object");
        assert_eq!(Ok(scanned.clone()), by_serde(doc, &wanted));
        let Value::Map(map) = scanned else {
            panic!("not a map")
        };
        let names: Vec<&str> = map.keys().map(Key::as_str).collect();
        assert_eq!(names, ["temp", "seq", "loc", "big"]);
        assert_eq!(map["temp"], Value::Float(23.5));
    }

    #[test]
    fn scalars_read_directly_are_what_serde_json_makes_of_them() {
        let wanted = keys(&["v"]);
        for value in [
            "0",
            "-0",
            "7",
            "-7",
            "999999999999999999",
            "-999999999999999999",
            "1000000000000000000",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.0",
            "1e2",
            "true",
            "false",
            "null",
            r#""""#,
            r#""plain""#,
            r#""caf\u00e9""#,
            "\"\u{e9}t\u{e9}\"",
            "[1]",
            "{}",
        ] {
            let doc = format!(r#"{{"v":{value}}}"#);
            let scanned = kept_members(doc.as_bytes(), &wanted);
            assert!(scanned.is_some(), "{doc}");
            agrees_with_serde(doc.as_bytes(), &wanted);
        }
        let not_utf8 = b"{\"v\":\"\xff\"}";
        assert_eq!(kept_members(not_utf8, &wanted), None);
        assert!(by_serde(not_utf8, &wanted).is_err());
    }

    #[test]
    fn more_wanted_keys_than_fit_inline_are_found_too() {
        let names: Vec<String> = (0..INLINE_KEYS + 3).map(|i| format!("k{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let wanted = keys(&names);
        let doc = br#"{"k0":0,"x":1,"k10":10}"#;
        let scanned = kept_members(doc, &wanted).expect("a plain object");
        assert_eq!(Ok(scanned.clone()), by_serde(doc, &wanted));
        assert_eq!(scanned.into_json(), serde_json::json!({"k0": 0, "k10": 10}));
    }

    #[test]
    fn the_last_of_repeated_members_wins_as_in_serde_json() {
        let wanted = keys(&["a"]);
        let doc = br#"{"a":1,"b":2,"a":"x"}"#;
        assert_eq!(kept_members(doc, &wanted), by_serde(doc, &wanted).ok());
    }

    #[test]
    fn leaves_what_it_does_not_vouch_for_to_serde_json() {
        let wanted = keys(&["temp"]);
        for doc in [
            &br#"[1,2]"#[..],
            br#""text""#,
            br#"{"t\u0065mp":1}"#,
            br#"{"temp":1,}"#,
            br#"{"temp":01}"#,
            br#"{"temp":1.}"#,
            br#"{"temp":1e}"#,
            br#"{"temp":-}"#,
            br#"{"temp":tru}"#,
            br#"{"s":"\x"}"#,
            br#"{"s":"\u12g4"}"#,
            b"{\"s\":\"a\x01\"}",
            br#"{"temp":1} x"#,
            br#"{"temp":1"#,
            br#"{"temp" 1}"#,
            br#"{"temp":[1 2]}"#,
            b"",
        ] {
            assert_eq!(
                kept_members(doc, &wanted),
                None,
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(70), "]".repeat(70));
        assert_eq!(kept_members(deep.as_bytes(), &keys(&["a"])), None);
    }

    #[test]
    fn an_unwanted_string_may_hold_any_bytes_serde_json_skips() {
        let wanted = keys(&["temp"]);
        let doc = b"{\"s\":\"\xff\xfe \\ud800\",\"temp\":2}";
        agrees_with_serde(doc, &wanted);
        assert!(kept_members(doc, &wanted).is_some());
    }

    /// Any JSON value, nested a little.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from),
            (0..10_i64).prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[a-z\"\\\\/\n\u{e9}\u{1f600}]{0,6}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z]{0,3}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An object payload with some of the wanted keys among others.
    fn payload() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            (
                prop_oneof![Just("a".to_owned()), Just("bc".to_owned()), "[a-d]{0,3}"],
                json_value(),
            ),
            0..6,
        )
        .prop_flat_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k)))
                .collect();
            let body = members.join(",");
            prop::sample::select(vec![" ", "", "\n\t", "\r "])
                .prop_map(move |ws| format!("{ws}{{{ws}{body}{ws}}}{ws}").into_bytes())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn accepts_generated_payloads_and_agrees_with_serde_json(doc in payload()) {
            let wanted = keys(&["a", "bc", ""]);
            let scanned = kept_members(&doc, &wanted);
            prop_assert!(scanned.is_some(), "refused {:?}", String::from_utf8_lossy(&doc));
            prop_assert_eq!(by_serde(&doc, &wanted), Ok(scanned.unwrap_or_default()));
        }

        #[test]
        fn mutated_payloads_are_accepted_only_when_serde_json_agrees(
            doc in payload(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3_u8), 1..4),
        ) {
            let mut doc = doc;
            for (at, byte, kind) in edits {
                if doc.is_empty() {
                    break;
                }
                let at = at.index(doc.len());
                // JSON's own bytes are likelier to make near-misses than any byte.
                let byte = b"{}[]\",:\\-.0123456789eE+tfnu \x01"
                    .get(usize::from(byte) % 32)
                    .copied()
                    .unwrap_or(byte);
                match kind {
                    0 => doc[at] = byte,
                    1 => doc.insert(at, byte),
                    _ => {
                        doc.remove(at);
                    }
                }
            }
            agrees_with_serde(&doc, &keys(&["a", "bc", ""]));
        }
    }
}
