//! Hash functions, returning lowercase hex.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::{Function, arg, badarg, bytes_arg, function, text_arg};
use crate::error::ValueError;
use crate::value::Value;

pub(super) const FUNCTIONS: &[Function] = &[
    function("md5", 1, 1, |a, _| digest("md5", "md5", arg(a, 0))),
    function("sha", 1, 1, |a, _| digest("sha", "sha", arg(a, 0))),
    function("sha256", 1, 1, |a, _| digest("sha256", "sha256", arg(a, 0))),
    function("hash", 2, 2, |a, _| {
        let algorithm = text_arg("hash", arg(a, 0))?.to_ascii_lowercase();
        digest("hash", &algorithm, arg(a, 1))
    }),
];

fn digest(name: &'static str, algorithm: &str, data: &Value) -> Result<Value, ValueError> {
    let data = bytes_arg(name, data)?;
    let hash = match algorithm {
        "md5" => hex::encode(Md5::digest(data)),
        "sha" | "sha1" => hex::encode(Sha1::digest(data)),
        "sha224" => hex::encode(Sha224::digest(data)),
        "sha256" => hex::encode(Sha256::digest(data)),
        "sha384" => hex::encode(Sha384::digest(data)),
        "sha512" => hex::encode(Sha512::digest(data)),
        other => {
            return Err(badarg(
                name,
                format!("unsupported hash algorithm `{other}`"),
            ));
        }
    };
    Ok(Value::Str(hash))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, ok, s};

    #[test]
    fn digests() {
        assert_eq!(
            ok("md5", vec![s("hello")]),
            s("5d41402abc4b2a76b9719d911017c592")
        );
        assert_eq!(
            ok("sha", vec![s("abc")]),
            s("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            ok("sha256", vec![s("abc")]),
            s("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            ok("hash", vec![s("md5"), s("hello")]),
            s("5d41402abc4b2a76b9719d911017c592")
        );
        assert!(call("hash", vec![s("crc"), s("x")]).is_err());
        assert!(call("md5", vec![crate::value::Value::Int(1)]).is_err());
    }
}
