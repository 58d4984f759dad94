//! Resource ids in paths: `<type>:<name>`.

use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// Splits and checks an id; the type must be one of `T`'s (e.g. a connector type).
pub fn parse<T: DeserializeOwned>(id: &str) -> ApiResult<(T, String)> {
    let bad = || {
        ApiError::invalid(
            "id",
            format!(
                "`{id}` is not a resource id: write `<type>:<name>`, e.g. `kafka_producer:my_kafka`"
            ),
        )
    };
    let (kind, name) = id.split_once(':').ok_or_else(bad)?;
    let kind = serde_json::from_value(serde_json::Value::String(kind.to_owned()))
        .map_err(|_| ApiError::invalid("id", format!("`{kind}` in `{id}` is not a known type")))?;
    if name.is_empty() {
        return Err(bad());
    }
    Ok((kind, name.to_owned()))
}
