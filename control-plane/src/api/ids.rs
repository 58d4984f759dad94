//! Resource ids in paths: `<type>:<name>`. An id that cannot name anything answers 404, as EMQX
//! answers it ("Invalid bridge ID, ..."), with `field: "id"` and the reason.

use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// Splits and checks an id; the type must be one of `T`'s (e.g. a connector type). `noun` names
/// the kind of resource in the message (`connector`, `action`, `source`).
pub fn parse<T: DeserializeOwned>(noun: &'static str, id: &str) -> ApiResult<(T, String)> {
    let bad = |reason: String| ApiError::BadId {
        kind: noun,
        id: id.to_owned(),
        reason,
    };
    let shape = || bad("write `<type>:<name>`, e.g. `kafka_producer:my_kafka`".to_owned());
    let (kind, name) = id.split_once(':').ok_or_else(shape)?;
    let kind = serde_json::from_value(serde_json::Value::String(kind.to_owned()))
        .map_err(|_| bad(format!("`{kind}` is not a known {noun} type")))?;
    if name.is_empty() {
        return Err(shape());
    }
    Ok((kind, name.to_owned()))
}
