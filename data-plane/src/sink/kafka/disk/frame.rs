//! One record as it lies in a segment file: `[length u32][crc32 u32][payload]`, little-endian.
//!
//! The CRC32 (IEEE, as `crc32fast` computes it) covers the payload; the length says how many
//! payload bytes follow. A crash can leave the last frame cut short or its bytes partly written;
//! either way the check fails, and the reader stops there instead of handing Kafka garbage.
//!
//! Payload: `flags u8` (bit 0: key present, bit 1: timestamp present), then the timestamp
//! (`i64`) when present, the key and the value (`u32` length + bytes each), and the headers
//! (`u32` count, then `u32` length + bytes for each name and value). The topic is not stored: a
//! partition log holds the records of one topic, named by its directory.

use tributary_connect::record::RenderedRecord;

/// Bytes before the payload.
pub const HEADER_BYTES: u64 = 8;

/// No frame is larger: a length past it is corruption, not a record (librdkafka's own ceiling on a
/// message is 1,000,000,000 bytes).
pub const MAX_PAYLOAD: u32 = 1_000_000_000;

const KEY: u8 = 1;
const TIMESTAMP: u8 = 2;

/// Appends the frame of `record` to `out`; returns the frame's length.
pub fn encode(record: &RenderedRecord, out: &mut Vec<u8>) -> u64 {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_BYTES as usize]);
    let flags = if record.key.is_some() { KEY } else { 0 }
        | if record.timestamp.is_some() {
            TIMESTAMP
        } else {
            0
        };
    out.push(flags);
    if let Some(timestamp) = record.timestamp {
        out.extend_from_slice(&timestamp.to_le_bytes());
    }
    if let Some(key) = &record.key {
        put_bytes(out, key.as_bytes());
    }
    put_bytes(out, record.value.as_bytes());
    put_u32(out, record.headers.len());
    for (name, value) in &record.headers {
        put_bytes(out, name.as_bytes());
        put_bytes(out, value.as_bytes());
    }
    let payload = &out[start + HEADER_BYTES as usize..];
    let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    (out.len() - start) as u64
}

/// The payload length and CRC a frame header announces; `None` for a length no frame can have.
pub fn header(bytes: &[u8; HEADER_BYTES as usize]) -> Option<(u32, u32)> {
    let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    (length > 0 && length <= MAX_PAYLOAD).then_some((length, crc))
}

/// Whether `payload` is what the header's CRC says.
pub fn intact(payload: &[u8], crc: u32) -> bool {
    crc32fast::hash(payload) == crc
}

/// Why a payload that passed its CRC still does not decode: written by another version, or a
/// CRC collision on garbage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record payload does not decode: {0}")]
pub struct DecodeError(&'static str);

/// The record of a checked payload, to `topic`.
pub fn decode(topic: &str, payload: &[u8]) -> Result<RenderedRecord, DecodeError> {
    let mut reader = Reader { bytes: payload };
    let flags = reader.take(1)?[0];
    let timestamp = if flags & TIMESTAMP != 0 {
        let bytes = reader.take(8)?;
        let mut raw = [0u8; 8];
        raw.copy_from_slice(bytes);
        Some(i64::from_le_bytes(raw))
    } else {
        None
    };
    let key = if flags & KEY != 0 {
        Some(reader.string()?)
    } else {
        None
    };
    let value = reader.string()?;
    let count = reader.u32()?;
    let mut headers = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let name = reader.string()?;
        let value = reader.string()?;
        headers.push((name, value));
    }
    if !reader.bytes.is_empty() {
        return Err(DecodeError("bytes left over after the headers"));
    }
    Ok(RenderedRecord {
        topic: topic.to_owned(),
        key,
        value,
        headers,
        timestamp,
    })
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError("cut short"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let length = self.u32()? as usize;
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("text is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&str>, timestamp: Option<i64>) -> RenderedRecord {
        RenderedRecord {
            topic: "t".into(),
            key: key.map(str::to_owned),
            value: "{\"n\":1}".into(),
            headers: vec![("h".into(), "v".into()), ("empty".into(), String::new())],
            timestamp,
        }
    }

    #[test]
    fn records_read_back_as_written() {
        for original in [
            record(Some("k"), Some(-5)),
            record(None, None),
            record(Some(""), Some(1_700_000_000_000)),
        ] {
            let mut frame = Vec::new();
            let length = encode(&original, &mut frame);
            assert_eq!(length, frame.len() as u64);
            let mut head = [0u8; 8];
            head.copy_from_slice(&frame[..8]);
            let (payload_length, crc) = header(&head).unwrap();
            let payload = &frame[8..];
            assert_eq!(payload_length as usize, payload.len());
            assert!(intact(payload, crc));
            assert_eq!(decode("t", payload).unwrap(), original);
        }
    }

    #[test]
    fn a_flipped_bit_fails_the_check() {
        let mut frame = Vec::new();
        encode(&record(Some("k"), None), &mut frame);
        let mut head = [0u8; 8];
        head.copy_from_slice(&frame[..8]);
        let (_, crc) = header(&head).unwrap();
        frame[12] ^= 0x10;
        assert!(!intact(&frame[8..], crc));
    }

    #[test]
    fn zero_and_absurd_lengths_are_no_frame() {
        assert_eq!(header(&[0; 8]), None, "a zeroed (preallocated) tail");
        assert_eq!(header(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), None);
    }
}
