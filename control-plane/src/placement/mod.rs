//! Placement: turns the desired state stored in PostgreSQL into the flows workers run.
//!
//! Every live worker runs every placed flow; MQTT shared subscriptions and Kafka consumer groups
//! split the load between them, so placement does not depend on which workers exist. A resource
//! that cannot be placed (bad SQL, missing connector) is left out and its reason recorded, so the
//! REST API can say why a rule is not running instead of failing silently.
//!
//! `desired_state` loads the rows, `place` is a pure function over them.

mod catalog;
mod desired_state;
mod place;
mod rule_flows;
mod source_flows;
mod topology;
mod version;

pub use catalog::not_started;
pub use desired_state::{
    ActionRow, ConnectorRow, DesiredState, LoadError, RuleRow, SourceRow, load_desired_state,
};
pub use place::{PlacedFlow, Placement, PlacementProblem, place};
pub use topology::{EdgeKind, NodeKind, Topology, TopologyEdge, TopologyNode, topology};
pub use version::flow_version;
