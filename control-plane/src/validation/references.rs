//! References between stored resources: an action's connector, a source's connectors, a rule's
//! actions, sources and MQTT connector. Each check locks the referenced row (`FOR SHARE`) for the
//! rest of the transaction, so a concurrent delete on any replica waits and then sees the new
//! dependent instead of orphaning it.

use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError};

use crate::error::{ApiError, ApiResult};
use crate::store::bridges::{self, BridgeTable};
use crate::store::connectors;

pub async fn connector(
    conn: &mut PgConnection,
    field: &str,
    kind: ConnectorType,
    name: &str,
) -> ApiResult<connectors::ConnectorRow> {
    connectors::lock_shared(conn, kind.as_str(), name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                format!("there is no {} connector named `{name}`", kind.as_str()),
            )
        })
}

/// A rule's stored action, written `<type>:<name>`. One that does not exist (yet) is accepted,
/// as EMQX accepts it: the rule skips it until it is created, and shows it as `not_found`.
pub async fn action(conn: &mut PgConnection, field: &str, action_id: &str) -> ApiResult<()> {
    let Some(("kafka_producer", name)) = action_id.split_once(':') else {
        return Err(ApiError::invalid(
            field,
            format!("`{action_id}` is not an action reference: write `kafka_producer:<name>`"),
        ));
    };
    bridges::lock_shared(conn, BridgeTable::Actions, "kafka_producer", name).await?;
    Ok(())
}

/// A Kafka source named in a rule's FROM.
pub async fn source(conn: &mut PgConnection, field: &str, name: &str) -> ApiResult<()> {
    bridges::lock_shared(conn, BridgeTable::Sources, "kafka_consumer", name)
        .await?
        .map(|_| ())
        .ok_or_else(|| {
            ApiError::Invalid(vec![FieldError::new(
                field,
                format!("FROM names source `kafka_consumer:{name}`, which does not exist"),
            )])
        })
}
