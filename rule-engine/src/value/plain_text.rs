//! The plain text of a JSON string: every byte but a control character, `"` and `\`, which JSON
//! writes as it is. The payload scanner skips it and the row writer copies it, eight bytes at a
//! time (skipping strings byte by byte cost the scanner about 670 instructions per message on
//! data-plane/benches/hot_path.rs).

/// Bytes that end the plain run of a string: the closing quote, an escape, a control character.
static STRING_STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        stop[byte] = true;
        byte += 1;
    }
    stop[b'"' as usize] = true;
    stop[b'\\' as usize] = true;
    stop
};

/// The offset of the first byte of `word` (read little-endian: its first byte is the lowest)
/// that ends a string's plain text: a control character, `"` or `\`. As [`STRING_STOP`], for
/// eight bytes at once.
///
/// Each mask flags the bytes that match, from the lowest one up; a borrow can flag a byte above a
/// match falsely, never one below it, so the lowest flag of the three masks is exact.
fn first_string_stop(word: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let stops = control | quote | backslash;
    (stops != 0).then(|| stops.trailing_zeros() as usize / 8)
}

/// How many of the first bytes of `bytes` are plain text.
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        if let Some(offset) = first_string_stop(u64::from_le_bytes(word)) {
            return at + offset;
        }
        at += 8;
    }
    let tail = words.remainder();
    at + tail
        .iter()
        .position(|b| STRING_STOP[usize::from(*b)])
        .unwrap_or(tail.len())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Bytes around the ones that stop a string, and the ones a borrow turns into a match.
    fn tricky_byte() -> impl Strategy<Value = u8> {
        prop::sample::select(vec![
            0x00, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, b'[', b'\\', b']', b'a', 0x7f, 0x80, 0xa0,
            0xff,
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn a_word_stops_where_the_byte_table_stops(bytes in prop::array::uniform8(tricky_byte())) {
            let by_table = bytes.iter().position(|b| STRING_STOP[usize::from(*b)]);
            prop_assert_eq!(first_string_stop(u64::from_le_bytes(bytes)), by_table);
        }

        #[test]
        fn the_plain_run_ends_where_the_byte_table_says(
            bytes in prop::collection::vec(
                prop_oneof![4 => Just(b'a'), 1 => tricky_byte()],
                0..40,
            )
        ) {
            let by_table = bytes
                .iter()
                .position(|b| STRING_STOP[usize::from(*b)])
                .unwrap_or(bytes.len());
            prop_assert_eq!(plain_len(&bytes), by_table);
        }
    }
}
