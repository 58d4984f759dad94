//! The `republish` action: a rule output row back to MQTT through a connector. Its templates
//! (`tributary_connect::republish`) render the PUBLISH; this sends it. Used by MQTT rules here
//! and by rules over Kafka records in `source/`.

use std::sync::Arc;

use tributary_connect::republish::{RepublishError, RepublishTemplates};
use tributary_protocol::resources::RepublishArgs;
use tributary_rules::RowRef;

use crate::mqtt::{ClientError, MqttConnection};

/// Why one row was not republished.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RepublishFailed {
    /// The row rendered to something that cannot be published (user data).
    #[error(transparent)]
    Render(#[from] RepublishError),
    /// The connection is gone (internal: the flow is stopping).
    #[error(transparent)]
    Connection(#[from] ClientError),
}

/// A compiled `republish` action bound to a connection.
#[derive(Debug, Clone)]
pub struct Republisher {
    templates: RepublishTemplates,
    connection: Arc<MqttConnection>,
}

impl Republisher {
    pub fn new(
        args: &RepublishArgs,
        connection: Arc<MqttConnection>,
    ) -> Result<Self, RepublishError> {
        Ok(Self {
            templates: RepublishTemplates::compile(args)?,
            connection,
        })
    }

    /// Renders `row` and queues the PUBLISH on the connection.
    pub async fn publish<'r>(&self, row: impl Into<RowRef<'r>>) -> Result<(), RepublishFailed> {
        let message = self.templates.render(row)?;
        self.connection.publish(message).await?;
        Ok(())
    }
}
