//! A rule's hold on its connection between "about to start" and "subscribed".

use std::sync::Arc;

use super::ClientError;
use super::connection::MqttConnection;
use super::inbox::InboxSender;

/// Taken by the supervisor before a rule flow starts (and before the connection receives
/// anything), so copies for the rule wait for it instead of being acknowledged unseen. Ends in
/// [`RuleClaim::attach`]; dropped without attaching, it gives the rule's share up.
#[derive(Debug)]
pub struct RuleClaim {
    connection: Arc<MqttConnection>,
    rule_id: String,
    attached: bool,
}

impl RuleClaim {
    pub(super) fn new(connection: Arc<MqttConnection>, rule_id: &str) -> Self {
        connection.claim(rule_id);
        Self {
            connection,
            rule_id: rule_id.to_owned(),
            attached: false,
        }
    }

    /// The connection the rule subscribes on (and its `republish` actions publish through).
    pub fn connection(&self) -> &Arc<MqttConnection> {
        &self.connection
    }

    /// Routes the rule's `filters` to `sender`, which first receives the copies that waited.
    pub async fn attach(
        mut self,
        filters: &[String],
        sender: InboxSender,
    ) -> Result<Arc<MqttConnection>, ClientError> {
        // Attached as far as the routing goes even if subscribing fails (the connection is
        // closing): the route exists, so there is no claim left to give up.
        self.attached = true;
        self.connection
            .attach_rule(&self.rule_id, filters, sender)
            .await?;
        Ok(Arc::clone(&self.connection))
    }
}

impl Drop for RuleClaim {
    fn drop(&mut self) {
        if !self.attached {
            self.connection.abandon_claim(&self.rule_id);
        }
    }
}
