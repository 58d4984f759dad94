//! Base64, hex, JSON and compression (gzip, raw deflate `zip`, zlib `zip_compress`).

use std::io::{Read, Write};

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE};
use flate2::Compression;

use super::{Function, arg, badarg, bytes_arg, function, text_arg};
use crate::error::ValueError;
use crate::value::Value;

/// Decompression stops here so a small "zip bomb" cannot exhaust memory.
const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

pub(super) const FUNCTIONS: &[Function] = &[
    function("base64_encode", 1, 3, |a, _| base64_encode(a)),
    function("base64_decode", 1, 3, |a, _| base64_decode(a)),
    function("bin2hexstr", 1, 2, |a, _| bin2hexstr("bin2hexstr", a)),
    function("sqlserver_bin2hexstr", 1, 1, |a, _| {
        let hex = hex::encode_upper(bytes_arg("sqlserver_bin2hexstr", arg(a, 0))?);
        Ok(Value::Str(format!("0x{hex}")))
    }),
    function("hexstr2bin", 1, 2, |a, _| hexstr2bin(a)),
    function("json_encode", 1, 1, |a, _| {
        Ok(Value::Str(arg(a, 0).to_json_string()))
    }),
    function("json_decode", 1, 1, |a, _| {
        Value::parse_json(bytes_arg("json_decode", arg(a, 0))?)
            .map_err(|e| badarg("json_decode", e.to_string()))
    }),
    function("gzip", 1, 1, |a, _| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        compress("gzip", arg(a, 0), &mut encoder)?;
        encoder
            .finish()
            .map(Value::from_bytes)
            .map_err(|e| badarg("gzip", e.to_string()))
    }),
    function("gunzip", 1, 1, |a, _| {
        let data = bytes_arg("gunzip", arg(a, 0))?;
        inflate("gunzip", flate2::read::GzDecoder::new(data))
    }),
    function("zip", 1, 1, |a, _| {
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        compress("zip", arg(a, 0), &mut encoder)?;
        encoder
            .finish()
            .map(Value::from_bytes)
            .map_err(|e| badarg("zip", e.to_string()))
    }),
    function("unzip", 1, 1, |a, _| {
        let data = bytes_arg("unzip", arg(a, 0))?;
        inflate("unzip", flate2::read::DeflateDecoder::new(data))
    }),
    function("zip_compress", 1, 1, |a, _| {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        compress("zip_compress", arg(a, 0), &mut encoder)?;
        encoder
            .finish()
            .map(Value::from_bytes)
            .map_err(|e| badarg("zip_compress", e.to_string()))
    }),
    function("zip_uncompress", 1, 1, |a, _| {
        let data = bytes_arg("zip_uncompress", arg(a, 0))?;
        inflate("zip_uncompress", flate2::read::ZlibDecoder::new(data))
    }),
];

fn compress(name: &'static str, data: &Value, encoder: &mut impl Write) -> Result<(), ValueError> {
    encoder
        .write_all(bytes_arg(name, data)?)
        .map_err(|e| badarg(name, e.to_string()))
}

fn inflate(name: &'static str, decoder: impl Read) -> Result<Value, ValueError> {
    let mut out = Vec::new();
    decoder
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| badarg(name, e.to_string()))?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(badarg(name, "decompressed data exceeds 64 MiB"));
    }
    Ok(Value::from_bytes(out))
}

/// `bin2hexstr(Bin [, Prefix])`: upper-case hex, after `Prefix` when one is given.
fn bin2hexstr(name: &'static str, args: &[Value]) -> Result<Value, ValueError> {
    let hex = hex::encode_upper(bytes_arg(name, arg(args, 0))?);
    Ok(Value::Str(match args.get(1) {
        Some(prefix) => format!("{}{hex}", text_arg(name, prefix)?),
        None => hex,
    }))
}

/// `hexstr2bin(Hex [, Prefix])`: `Prefix` must start the input and is dropped. An odd number
/// of digits reads as if a `0` led them (`"f"` is byte 15), as in EMQX.
fn hexstr2bin(args: &[Value]) -> Result<Value, ValueError> {
    const NAME: &str = "hexstr2bin";
    let text = bytes_arg(NAME, arg(args, 0))?;
    let digits = match args.get(1) {
        None => text,
        Some(prefix) => {
            let prefix = bytes_arg(NAME, prefix)?;
            text.strip_prefix(prefix).ok_or_else(|| {
                badarg(
                    NAME,
                    format!(
                        "binary_prefix_unmatch: {:?} does not start with the prefix {:?}",
                        String::from_utf8_lossy(text),
                        String::from_utf8_lossy(prefix)
                    ),
                )
            })?
        }
    };
    let padded;
    let digits = if digits.len() % 2 == 1 {
        padded = [b"0", digits].concat();
        padded.as_slice()
    } else {
        digits
    };
    hex::decode(digits)
        .map(Value::from_bytes)
        .map_err(|e| badarg(NAME, format!("not a hex string: {e}")))
}

/// Without padding, encoding writes none and decoding accepts input with or without it, as
/// Erlang's `base64` module does given `#{padding => false}`.
const NO_PAD_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_NO_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, NO_PAD_CONFIG);
const URL_SAFE_NO_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, NO_PAD_CONFIG);

/// Options follow the data: up to two strings (EMQX's `base64_encode(Data, Opt1, Opt2)`), or
/// one list of strings. `urlsafe` (or `url_safe`) and `no_padding` (or `nopad`) are known;
/// EMQX ignores any other option, so we do too rather than fail a rule that worked there.
fn engine(name: &'static str, args: &[Value]) -> Result<&'static GeneralPurpose, ValueError> {
    let (mut url, mut no_pad) = (false, false);
    for option in args.iter().skip(1) {
        let items = match option {
            Value::List(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        for item in items {
            match text_arg(name, item)?.as_ref() {
                "url_safe" | "urlsafe" => url = true,
                "no_padding" | "nopad" => no_pad = true,
                _ => {}
            }
        }
    }
    Ok(match (url, no_pad) {
        (false, false) => &STANDARD,
        (false, true) => &STANDARD_NO_PAD,
        (true, false) => &URL_SAFE,
        (true, true) => &URL_SAFE_NO_PAD,
    })
}

fn base64_encode(args: &[Value]) -> Result<Value, ValueError> {
    let data = arg(args, 0).to_bin();
    Ok(Value::Str(engine("base64_encode", args)?.encode(data)))
}

fn base64_decode(args: &[Value]) -> Result<Value, ValueError> {
    let data = bytes_arg("base64_decode", arg(args, 0))?;
    engine("base64_decode", args)?
        .decode(data)
        .map(Value::from_bytes)
        .map_err(|e| badarg("base64_decode", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, i, json, ok, s};
    use crate::value::Value;

    #[test]
    fn base64_round_trip() {
        assert_eq!(ok("base64_encode", vec![s("hello")]), s("aGVsbG8="));
        assert_eq!(ok("base64_decode", vec![s("aGVsbG8=")]), s("hello"));
        assert_eq!(
            ok("base64_encode", vec![s("hello"), s("no_padding")]),
            s("aGVsbG8")
        );
        assert_eq!(ok("base64_decode", vec![s("/w==")]), Value::Bin(vec![0xff]));
        assert!(call("base64_decode", vec![s("!!")]).is_err());
    }

    #[test]
    fn hex_strings() {
        assert_eq!(
            ok("bin2hexstr", vec![Value::Bin(vec![0xab, 0xcd])]),
            s("ABCD")
        );
        assert_eq!(ok("hexstr2bin", vec![s("6869")]), s("hi"));
        assert!(call("hexstr2bin", vec![s("zz")]).is_err());
    }

    #[test]
    fn json_round_trip() {
        assert_eq!(
            ok("json_decode", vec![s(r#"{"a":1}"#)]),
            json(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            ok("json_encode", vec![json(serde_json::json!({"a": [1]}))]),
            s(r#"{"a":[1]}"#)
        );
        assert_eq!(ok("json_encode", vec![i(1)]), s("1"));
        assert!(call("json_decode", vec![s("{")]).is_err());
    }

    #[test]
    fn compression_round_trips() {
        for (pack, unpack) in [
            ("gzip", "gunzip"),
            ("zip", "unzip"),
            ("zip_compress", "zip_uncompress"),
        ] {
            let packed = ok(pack, vec![s("hello hello hello")]);
            assert_eq!(ok(unpack, vec![packed]), s("hello hello hello"), "{pack}");
        }
        assert!(call("gunzip", vec![s("not gzip")]).is_err());
    }
}
