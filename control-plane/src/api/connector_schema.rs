//! The OpenAPI schemas of connector bodies and views. A connector's type fields sit beside the
//! envelope (`type`, `name`, ...) in one object, and those field sets are closed
//! (`additionalProperties: false`), so an `allOf` of the envelope and the fields would admit no
//! object at all. Here each connector kind is one object holding both, and the schema is the
//! `oneOf` of the kinds.

use std::borrow::Cow;

use tributary_protocol::resources::{KafkaConnectorConfig, MqttConnectorConfig};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

use crate::worker_reports::{NodeStatus, ResourceStatus};

/// The kinds: their `type` values and their fields.
fn kinds() -> [(&'static [&'static str], RefOr<Schema>); 2] {
    [
        (
            &["kafka_producer", "kafka_consumer"],
            KafkaConnectorConfig::schema(),
        ),
        (&["mqtt"], MqttConnectorConfig::schema()),
    ]
}

fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn strings() -> RefOr<Schema> {
    ArrayBuilder::new().items(string()).into()
}

fn date_time() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .into()
}

/// One `oneOf` branch per kind: its fields plus `extra` properties, `required` added.
fn one_of_kinds(
    extra: &dyn Fn(&'static [&'static str]) -> Vec<(&'static str, RefOr<Schema>)>,
    required: &[&str],
    description: &str,
) -> RefOr<Schema> {
    let mut one_of = OneOfBuilder::new().description(Some(description));
    for (types, fields) in kinds() {
        let RefOr::T(Schema::Object(mut object)) = fields else {
            continue;
        };
        for (name, schema) in extra(types) {
            object.properties.insert(name.to_owned(), schema);
        }
        object
            .required
            .extend(required.iter().map(|r| (*r).to_owned()));
        one_of = one_of.item(Schema::Object(object));
    }
    one_of.into()
}

fn type_enum(types: &'static [&'static str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(types.iter().copied()))
        .into()
}

fn envelope(types: &'static [&'static str]) -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        ("type", type_enum(types)),
        (
            "name",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "Letters, digits, `_`, `.` and `-`, starting with a letter or digit",
                ))
                .pattern(Some("^[A-Za-z0-9][A-Za-z0-9_.-]*$"))
                .max_length(Some(128))
                .into(),
        ),
        ("enable", bool::schema()),
        ("description", string()),
    ]
}

/// Registers what the kinds' fields refer to.
fn referenced(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    <KafkaConnectorConfig as ToSchema>::schemas(schemas);
    <MqttConnectorConfig as ToSchema>::schemas(schemas);
}

/// A connector request body: `type`, `name`, optional `enable` and `description`, and the type's
/// fields.
#[derive(Debug)]
pub struct ConnectorBody;

impl PartialSchema for ConnectorBody {
    fn schema() -> RefOr<Schema> {
        one_of_kinds(
            &envelope,
            &["type", "name"],
            "`type`, `name` and the type's fields: Kafka's for `kafka_producer` and \
             `kafka_consumer`, MQTT's for `mqtt`. Read-only fields of a read (`status`, \
             `created_at`, ...) are ignored.",
        )
    }
}

impl ToSchema for ConnectorBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ConnectorBody")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        referenced(schemas);
    }
}

/// A connector update body: as [`ConnectorBody`], `type` and `name` optional (they must match
/// the path when given).
#[derive(Debug)]
pub struct ConnectorUpdateBody;

impl PartialSchema for ConnectorUpdateBody {
    fn schema() -> RefOr<Schema> {
        one_of_kinds(
            &envelope,
            &[],
            "The type's fields; `type` and `name` may be omitted and must match the path when \
             given. Secrets sent as `******` keep their stored value.",
        )
    }
}

impl ToSchema for ConnectorUpdateBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ConnectorUpdateBody")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        referenced(schemas);
    }
}

/// The schema of [`super::connectors::ConnectorView`].
pub fn view_schema() -> RefOr<Schema> {
    let view = |types| {
        let mut properties = envelope(types);
        properties.extend([
            ("status", ResourceStatus::schema()),
            ("status_reason", string()),
            (
                "node_status",
                ArrayBuilder::new()
                    .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        NodeStatus::name(),
                    )))
                    .into(),
            ),
            ("actions", strings()),
            ("sources", strings()),
            ("created_at", date_time()),
            ("updated_at", date_time()),
        ]);
        properties
    };
    one_of_kinds(
        &view,
        &[
            "type",
            "name",
            "enable",
            "description",
            "status",
            "node_status",
            "actions",
            "sources",
            "created_at",
            "updated_at",
        ],
        "A connector as the API shows it: the envelope, its type's fields (secrets masked), its \
         status as the live workers report it, or when none runs it as the control plane's own \
         health check finds it (`connecting` until the first check ends; `stopped` when \
         disabled), and the names of the \
         actions and sources on it (for an `mqtt` connector, of the sources publishing through \
         it).",
    )
}

/// Registers what [`view_schema`] refers to.
pub fn view_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    referenced(schemas);
    schemas.push((NodeStatus::name().into_owned(), NodeStatus::schema()));
    <NodeStatus as ToSchema>::schemas(schemas);
}
