//! A rule as requests write it, and its validation: id, SQL, actions and the resources they name.

use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use tributary_protocol::resources::{
    ConnectorType, FieldError, InlineAction, RuleActionRef, Validate,
};
use tributary_rules::{Rule, RuleInput};
use utoipa::ToSchema;

use super::envelope;
use crate::error::{ApiError, ApiResult};
use crate::validation::{names, references, rule_sql, templates};

/// Every field is optional so that `PUT` can change just some (`{"enable": false}`); `POST`
/// requires `sql`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// Generated (`rule_<random>`) when absent on create.
    pub id: Option<String>,
    pub name: Option<String>,
    /// e.g. `SELECT payload.temp AS temp FROM "t/#" WHERE payload.temp > 30`.
    pub sql: Option<String>,
    /// `"kafka_producer:<name>"` or `{"function": "republish", "args": {...}}`.
    pub actions: Option<Vec<RuleActionRef>>,
    pub enable: Option<bool>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// The `mqtt` connector FROM topics are subscribed on and `republish` publishes through;
    /// `default` when absent.
    pub mqtt_connector: Option<String>,
}

/// A complete rule, validated without the database.
#[derive(Debug, Clone)]
pub struct RuleInputs {
    pub id: String,
    pub name: String,
    pub sql: String,
    pub actions: Vec<RuleActionRef>,
    pub enable: bool,
    pub description: String,
    pub metadata: Map<String, Value>,
    pub mqtt_connector: Option<String>,
    pub parsed: Rule,
}

pub fn decode(body: Value) -> ApiResult<RuleBody> {
    envelope::decode(Value::Object(envelope::without_read_only(body)?))
}

impl RuleBody {
    /// A new rule named `id` from this body (create and import): `sql` is required, every other
    /// field takes its default, and the whole is checked as [`RuleInputs::check`] does.
    pub fn into_new_rule(self, id: String) -> ApiResult<RuleInputs> {
        let sql = self
            .sql
            .ok_or_else(|| ApiError::invalid("sql", "is required"))?;
        let parsed = parse_sql(&sql)?;
        RuleInputs {
            id,
            name: self.name.unwrap_or_default(),
            sql,
            actions: self.actions.unwrap_or_default(),
            enable: self.enable.unwrap_or(true),
            description: self.description.unwrap_or_default(),
            metadata: self.metadata.unwrap_or_default(),
            // `default` is what an absent connector means; storing it as absent keeps one spelling.
            mqtt_connector: self.mqtt_connector.filter(|m| m != "default"),
            parsed,
        }
        .check()
    }
}

impl RuleInputs {
    /// Checks a complete rule: what does not need the database.
    pub fn check(self) -> ApiResult<Self> {
        let mut errors = Vec::new();
        if let Err(e) = names::check("id", &self.id) {
            errors.push(e);
        }
        if let Some(Err(e)) = self
            .mqtt_connector
            .as_deref()
            .map(|m| names::check("mqtt_connector", m))
        {
            errors.push(e);
        }
        for (i, action) in self.actions.iter().enumerate() {
            if let RuleActionRef::Inline(InlineAction::Republish(args)) = action {
                let parent = format!("actions[{i}].args");
                errors.extend(envelope::within(
                    &parent,
                    args.validate().err().unwrap_or_default(),
                ));
                errors.extend(envelope::within(&parent, templates::republish(args)));
            }
        }
        envelope::reject_if_any(errors)?;
        Ok(self)
    }

    /// Checks (and locks, see `validation::references`) what the rule names: stored actions,
    /// Kafka sources in FROM and its MQTT connector.
    pub async fn check_references(&self, conn: &mut PgConnection) -> ApiResult<()> {
        for (i, action) in self.actions.iter().enumerate() {
            if let RuleActionRef::Stored(id) = action {
                references::action(conn, &format!("actions[{i}]"), id).await?;
            }
        }
        for input in self.parsed.inputs() {
            if let RuleInput::KafkaSource(name) = input {
                references::source(conn, "sql", name).await?;
            }
        }
        if let Some(mqtt) = &self.mqtt_connector {
            references::connector(conn, "mqtt_connector", ConnectorType::Mqtt, mqtt).await?;
        }
        Ok(())
    }
}

/// Parses the SQL, naming the position of a syntax error.
pub fn parse_sql(sql: &str) -> ApiResult<Rule> {
    rule_sql::parse(sql).map_err(|e| ApiError::Invalid(vec![e]))
}

/// `from` as shown to users: topic filters as written, sources as `$bridges/kafka_consumer:<name>`.
pub fn from_list(rule: &Rule) -> Vec<String> {
    rule.inputs()
        .iter()
        .map(|input| match input {
            RuleInput::TopicFilter(filter) => filter.clone(),
            RuleInput::KafkaSource(name) => format!("$bridges/kafka_consumer:{name}"),
            RuleInput::Event(event) => event.clone(),
        })
        .collect()
}

/// A fresh rule id in EMQX's style.
pub fn generate_id() -> String {
    format!(
        "rule_{}",
        crate::auth::api_keys::generate(8).to_ascii_lowercase()
    )
}

/// Reports an id clash as EMQX does.
pub fn already_exists(id: &str) -> ApiError {
    ApiError::AlreadyExists {
        kind: "rule",
        id: id.to_owned(),
    }
}

/// A field error for `field`, for callers building their own.
pub fn field_error(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Invalid(vec![FieldError::new(field, reason)])
}
