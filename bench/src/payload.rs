//! The benchmark's messages: 200-byte JSON documents that carry their own sequence number and send
//! time, so the receiving end can account for every message and measure latency without any
//! side channel.

use serde::Deserialize;

/// Every load message is padded to exactly this many bytes (the issue's workload).
pub const PAYLOAD_BYTES: usize = 200;

/// Sequence numbers at or above this mark readiness probes, which the accounting ignores.
pub const PROBE_SEQ_BASE: u64 = 1 << 40;

/// What the receiving end reads back from a message: Tributary's rule output, the Python bridge's
/// forwarded payload and the baselines' raw payload all carry these two fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Stamp {
    pub seq: u64,
    pub sent_at_us: u64,
}

impl Stamp {
    pub fn is_probe(&self) -> bool {
        self.seq >= PROBE_SEQ_BASE
    }
}

/// Builds the payload of message `seq` sent at `sent_at_us` (microseconds since the Unix epoch).
///
/// The temperature is always positive so every message passes the rule's `WHERE payload.temp > 0`:
/// any message missing at the Kafka end is a loss, never a filter decision.
pub fn build(seq: u64, sent_at_us: u64) -> Vec<u8> {
    let temp = 15.0 + (seq % 200) as f64 / 10.0;
    let hum = 30.0 + (seq % 500) as f64 / 10.0;
    let head = format!(
        r#"{{"temp":{temp:.1},"hum":{hum:.1},"seq":{seq},"sent_at_us":{sent_at_us},"pad":""#
    );
    let mut body = head.into_bytes();
    let closing = br#""}"#;
    let pad = PAYLOAD_BYTES.saturating_sub(body.len() + closing.len());
    body.resize(body.len() + pad, b'x');
    body.extend_from_slice(closing);
    body
}

/// Reads the stamp back; `None` for anything that is not one of our messages.
pub fn parse(bytes: &[u8]) -> Option<Stamp> {
    serde_json::from_slice(bytes).ok()
}

/// Microseconds since the Unix epoch: every process on the machine reads the same clock, so a
/// difference between a send stamp and a receive time is an end-to-end latency.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_exactly_200_bytes_of_json_for_small_and_large_numbers() {
        for (seq, at) in [
            (0, 0),
            (7, 1_700_000_000_000_000),
            (PROBE_SEQ_BASE + 3, u64::MAX),
        ] {
            let body = build(seq, at);
            assert_eq!(body.len(), PAYLOAD_BYTES, "seq {seq}");
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(value["temp"].as_f64().unwrap() > 0.0);
            assert!(value["hum"].is_number());
        }
    }

    #[test]
    fn stamp_round_trips_and_probes_are_recognised() {
        let stamp = parse(&build(42, 1_234_567)).unwrap();
        assert_eq!(
            stamp,
            Stamp {
                seq: 42,
                sent_at_us: 1_234_567
            }
        );
        assert!(!stamp.is_probe());
        assert!(parse(&build(PROBE_SEQ_BASE, 1)).unwrap().is_probe());
    }

    #[test]
    fn rule_output_with_extra_fields_still_parses() {
        let row = br#"{"temp":23.5,"clientid":"bench-0","seq":9,"sent_at_us":77}"#;
        assert_eq!(
            parse(row),
            Some(Stamp {
                seq: 9,
                sent_at_us: 77
            })
        );
        assert_eq!(parse(b"not json"), None);
        assert_eq!(parse(br#"{"seq":1}"#), None);
    }
}
