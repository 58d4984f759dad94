//! `POST /data/import`: applies a configuration document in one transaction, idempotently.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError};
use utoipa::ToSchema;

use super::document::{FORMAT_VERSION, FlowDocument};
use super::import_items;
use super::sealing::{self, Sealer};
use crate::api::actions::KafkaProducerAction;
use crate::api::bridges::BridgeKind;
use crate::api::envelope;
use crate::api::sources::KafkaConsumerSource;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::{self, bridges, connectors, rules};

/// Unknown keys are refused (400 naming them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Also delete what the document does not name.
    #[serde(default)]
    pub prune: bool,
    /// Compute the changes in a transaction that is rolled back.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Create,
    Update,
    Unchanged,
    Delete,
}

/// What the import did (or, on a dry run, would do) to one item.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemChange {
    /// `connector`, `action`, `source` or `rule`.
    pub kind: String,
    /// `<type>:<name>`, or a rule's id.
    pub id: String,
    pub change: Change,
    /// On an update, the dotted paths of the fields that change (names only, never values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl ItemChange {
    pub fn new(kind: &str, id: String, change: Change, fields: Vec<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            id,
            change,
            fields,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// `true` when nothing was saved.
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    /// Every item named by the document, then every pruned one, in the order applied.
    pub items: Vec<ItemChange>,
}

impl ImportReport {
    fn push(&mut self, item: ItemChange) {
        match item.change {
            Change::Create => self.created += 1,
            Change::Update => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
            Change::Delete => self.deleted += 1,
        }
        self.items.push(item);
    }
}

#[utoipa::path(
    operation_id = "import_data",
    tag = "data",
    params(
        ("prune" = Option<bool>, Query, description = "Also delete every connector, action, source and rule the document does not name"),
        ("dry_run" = Option<bool>, Query, description = "Report what would change and change nothing"),
        ("tributary-secrets-passphrase" = Option<String>, Header, description = "The passphrase the document's secrets were sealed with (required when it has `secrets_encryption`)"),
    ),
    request_body(content = FlowDocument, description = "A document as `GET /data/export` writes it. Connectors are created first, then actions and sources, then rules. `******` secrets keep the stored ones."),
    responses(
        (status = 200, description = "Applied in one transaction (or, with `dry_run`, rolled back): what was created, updated, left unchanged and deleted", body = ImportReport),
        (status = 400, description = "An invalid item (the field says which: `connectors[0].bootstrap_hosts`), an unknown `format_version`, a name given twice, or a pruned resource still used. Nothing is applied.", body = ErrorBody),
    )
)]
#[post("/data/import")]
pub async fn import(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<ImportQuery>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let mut document: FlowDocument = envelope::decode(body.into_inner())?;
    open_sealed_secrets(&request, &mut document)?;
    if document.format_version != FORMAT_VERSION {
        return Err(ApiError::invalid(
            "format_version",
            format!(
                "`{}` is not a format this server reads: use {FORMAT_VERSION}",
                document.format_version
            ),
        ));
    }
    let mut tx = state.pool.begin().await?;
    store::lock_for_import(&mut tx).await?;
    let mut report = ImportReport {
        dry_run: query.dry_run,
        ..ImportReport::default()
    };
    let disabled_rules = apply(&mut tx, document, query.prune, &mut report).await?;
    if query.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
        // EMQX clears a rule's metrics when it is disabled, as `PUT /rules/{id}` does here.
        for id in disabled_rules {
            store::metric_resets::reset(&state.pool, &format!("rule:{id}")).await?;
        }
    }
    tracing::info!(
        dry_run = report.dry_run,
        prune = query.prune,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        deleted = report.deleted,
        "configuration imported"
    );
    Ok(HttpResponse::Ok().json(report))
}

/// Applies every item, then prunes; returns the ids of the rules it disabled.
/// Opens the connectors' sealed secrets with the passphrase header (see `sealing`).
fn open_sealed_secrets(request: &HttpRequest, document: &mut FlowDocument) -> ApiResult<()> {
    let sealer = match (&document.secrets_encryption, sealing::passphrase(request)?) {
        (Some(encryption), Some(passphrase)) => Some(Sealer::for_import(&passphrase, encryption)?),
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "secrets_encryption",
                format!(
                    "the document's secrets are sealed: send its passphrase in the `{}` header",
                    sealing::PASSPHRASE_HEADER
                ),
            ));
        }
        (None, _) => None,
    };
    for (i, item) in document.connectors.iter_mut().enumerate() {
        sealing::open_connector(item, sealer.as_ref(), &format!("connectors[{i}]"))?;
    }
    Ok(())
}

async fn apply(
    conn: &mut PgConnection,
    document: FlowDocument,
    prune: bool,
    report: &mut ImportReport,
) -> ApiResult<Vec<String>> {
    let mut named = Named::default();
    for (i, item) in document.connectors.into_iter().enumerate() {
        let hint = hint(&item, "connector");
        let change = import_items::connector(conn, item)
            .await
            .map_err(|e| at("connectors", i, &hint, e))?;
        named.check("connectors", i, &change.id)?;
        report.push(change);
    }
    for (i, item) in document.actions.into_iter().enumerate() {
        let hint = hint(&item, "action");
        let change = import_items::bridge::<KafkaProducerAction>(conn, item)
            .await
            .map_err(|e| at("actions", i, &hint, e))?;
        named.check("actions", i, &change.id)?;
        report.push(change);
    }
    for (i, item) in document.sources.into_iter().enumerate() {
        let hint = hint(&item, "source");
        let change = import_items::bridge::<KafkaConsumerSource>(conn, item)
            .await
            .map_err(|e| at("sources", i, &hint, e))?;
        named.check("sources", i, &change.id)?;
        report.push(change);
    }
    let mut disabled = Vec::new();
    for (i, item) in document.rules.into_iter().enumerate() {
        let hint = hint(&item, "rule");
        let (change, was_disabled) = import_items::rule(conn, item)
            .await
            .map_err(|e| at("rules", i, &hint, e))?;
        named.check("rules", i, &change.id)?;
        if was_disabled {
            disabled.push(change.id.clone());
        }
        report.push(change);
    }
    if prune {
        prune_unnamed(conn, &named, report).await?;
    }
    Ok(disabled)
}

/// The ids the document names, per section; each may be named once.
#[derive(Debug, Default)]
struct Named {
    ids: HashSet<(&'static str, String)>,
}

impl Named {
    fn check(&mut self, section: &'static str, index: usize, id: &str) -> ApiResult<()> {
        if self.ids.insert((section, id.to_owned())) {
            Ok(())
        } else {
            Err(ApiError::invalid(
                format!("{section}[{index}]"),
                format!("`{id}` is named twice in the document"),
            ))
        }
    }

    fn has(&self, section: &'static str, id: &str) -> bool {
        self.ids.contains(&(section, id.to_owned()))
    }
}

/// Deletes what the document does not name: rules first, then what they used, so that only
/// references from named items can stop a delete (reported as `IN_USE`-style 400s).
async fn prune_unnamed(
    conn: &mut PgConnection,
    named: &Named,
    report: &mut ImportReport,
) -> ApiResult<()> {
    for row in rules::list_in(conn).await? {
        if !named.has("rules", &row.id) {
            rules::delete(&mut *conn, &row.id).await?;
            report.push(ItemChange::new("rule", row.id, Change::Delete, Vec::new()));
        }
    }
    prune_bridges::<KafkaProducerAction>(conn, named, "actions", report).await?;
    prune_bridges::<KafkaConsumerSource>(conn, named, "sources", report).await?;
    for row in connectors::list_in(conn).await? {
        let id = format!("{}:{}", row.kind, row.name);
        if named.has("connectors", &id) {
            continue;
        }
        let dependents = connector_dependents(conn, &row.kind, &row.name).await?;
        if !dependents.is_empty() {
            return Err(ApiError::InUse {
                kind: "connector",
                id,
                dependents,
            });
        }
        connectors::delete(conn, &row.kind, &row.name).await?;
        report.push(ItemChange::new("connector", id, Change::Delete, Vec::new()));
    }
    Ok(())
}

async fn prune_bridges<K: BridgeKind>(
    conn: &mut PgConnection,
    named: &Named,
    section: &'static str,
    report: &mut ImportReport,
) -> ApiResult<()> {
    for row in bridges::list_in(conn, K::TABLE).await? {
        let id = format!("{}:{}", row.kind, row.name);
        if named.has(section, &id) {
            continue;
        }
        let dependents = K::dependents(conn, &row.name).await?;
        if !dependents.is_empty() {
            return Err(ApiError::InUse {
                kind: K::NOUN,
                id,
                dependents,
            });
        }
        bridges::delete(conn, K::TABLE, &row.kind, &row.name).await?;
        report.push(ItemChange::new(K::NOUN, id, Change::Delete, Vec::new()));
    }
    Ok(())
}

/// What still uses a connector, as `DELETE /connectors/{id}` checks.
async fn connector_dependents(
    conn: &mut PgConnection,
    kind: &str,
    name: &str,
) -> ApiResult<Vec<String>> {
    let kind = super::document::connector_type(kind)?;
    Ok(match kind {
        ConnectorType::KafkaProducer => {
            bridges::using_connector(conn, KafkaProducerAction::TABLE, kind.as_str(), name).await?
        }
        ConnectorType::KafkaConsumer => {
            bridges::using_connector(conn, KafkaConsumerSource::TABLE, kind.as_str(), name).await?
        }
        ConnectorType::Mqtt => {
            let mut users: Vec<String> = rules::using_mqtt_connector(conn, name)
                .await?
                .into_iter()
                .map(|id| format!("rule:{id}"))
                .collect();
            users.extend(bridges::sources_publishing_through(conn, name).await?);
            users
        }
    })
}

/// How an item names itself in error messages, read before it is validated.
fn hint(item: &Value, noun: &str) -> String {
    let text = |key: &str| item.get(key).and_then(Value::as_str);
    match (text("type"), text("name"), text("id")) {
        (_, _, Some(id)) if noun == "rule" => format!("rule `{id}`"),
        (Some(kind), Some(name), _) => format!("{noun} `{kind}:{name}`"),
        _ => format!("this {noun}"),
    }
}

/// Places an item's error at its position in the document (`connectors[2].bootstrap_hosts`) and
/// names the item in the reason. Errors of ours pass through unchanged.
fn at(section: &str, index: usize, item: &str, err: ApiError) -> ApiError {
    let place = format!("{section}[{index}]");
    match err {
        ApiError::Invalid(errors) => ApiError::Invalid(
            errors
                .into_iter()
                .map(|e| {
                    let field = if e.field == "body" {
                        place.clone()
                    } else {
                        format!("{place}.{}", e.field)
                    };
                    FieldError::new(field, format!("{item}: {}", e.reason))
                })
                .collect(),
        ),
        ApiError::Database(_) | ApiError::Internal(_) => err,
        other => ApiError::invalid(place, format!("{item}: {other}")),
    }
}
