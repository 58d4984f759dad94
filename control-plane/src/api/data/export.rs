//! `GET /data/export`: every connector, action, source and rule as one document.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;

use super::document::{self, FORMAT_VERSION, FlowDocument, SecretsOut};
use super::sealing::{self, Sealer};
use crate::api::actions::KafkaProducerAction;
use crate::api::bridges::BridgeKind;
use crate::api::sources::KafkaConsumerSource;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::{bridges, connectors, rules};

/// Unknown keys are refused (400 naming them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Include connector secrets in clear instead of `******`.
    #[serde(default)]
    pub include_secrets: bool,
}

#[utoipa::path(
    operation_id = "export_data",
    tag = "data",
    params(
        ("include_secrets" = Option<bool>, Query, description = "SENSITIVE: `true` writes connector secrets (passwords, private keys) in clear. By default they are `******`, which an import reads as \"keep the stored secret\"."),
        ("tributary-secrets-passphrase" = Option<String>, Header, description = "Seal connector secrets with this passphrase (at least 12 characters) instead of masking them: each is written `enc:v1:...` (AES-256-GCM, key from PBKDF2-HMAC-SHA256) and the document gets `secrets_encryption`; an import with the same passphrase restores them. Not with `include_secrets`."),
    ),
    responses(
        (status = 200, description = "Every connector, action, source and rule, each in its create body", body = FlowDocument),
        (status = 400, body = ErrorBody),
    )
)]
#[get("/data/export")]
pub async fn export(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let sealing = match sealing::passphrase(&request)? {
        Some(_) if query.include_secrets => {
            return Err(ApiError::invalid(
                "include_secrets",
                format!(
                    "secrets are either in clear or sealed with the `{}` passphrase, not both",
                    sealing::PASSPHRASE_HEADER
                ),
            ));
        }
        Some(passphrase) => Some(Sealer::for_export(&passphrase)?),
        None => None,
    };
    let secrets = match (&sealing, query.include_secrets) {
        (Some((sealer, _)), _) => SecretsOut::Sealed(sealer),
        (None, true) => SecretsOut::Clear,
        (None, false) => SecretsOut::Masked,
    };
    // One snapshot, so the document is consistent even while others change things.
    let mut tx = state.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let connectors = connectors::list_in(&mut tx)
        .await?
        .iter()
        .map(|row| document::stored_connector(row, secrets))
        .collect::<ApiResult<_>>()?;
    let actions = bridges::list_in(&mut tx, KafkaProducerAction::TABLE)
        .await?
        .iter()
        .map(document::stored_bridge::<KafkaProducerAction>)
        .collect::<ApiResult<_>>()?;
    let sources = bridges::list_in(&mut tx, KafkaConsumerSource::TABLE)
        .await?
        .iter()
        .map(document::stored_bridge::<KafkaConsumerSource>)
        .collect::<ApiResult<_>>()?;
    let rules = rules::list_in(&mut tx)
        .await?
        .iter()
        .map(document::stored_rule)
        .collect();
    tx.commit().await?;
    tracing::info!(
        include_secrets = query.include_secrets,
        sealed_secrets = sealing.is_some(),
        "configuration exported"
    );
    Ok(HttpResponse::Ok().json(FlowDocument {
        format_version: FORMAT_VERSION,
        secrets_encryption: sealing.map(|(_, encryption)| encryption),
        connectors,
        actions,
        sources,
        rules,
    }))
}
