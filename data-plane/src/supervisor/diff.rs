//! An assignment snapshot against the running flows: what to start, stop and restart.

use std::collections::{BTreeMap, HashMap};

use tributary_protocol::worker::v1::Flow;

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub start: Vec<Flow>,
    /// Changed version: stop the old incarnation, then start this one.
    pub restart: Vec<Flow>,
    pub stop: Vec<String>,
}

/// `running` maps flow id to version. Flows with an unchanged id and version are left alone.
pub fn plan(running: &HashMap<String, String>, desired: &[Flow]) -> Plan {
    let desired_by_id: BTreeMap<&str, &Flow> = desired.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut plan = Plan::default();
    for (id, flow) in &desired_by_id {
        match running.get(*id) {
            None => plan.start.push((*flow).clone()),
            Some(version) if *version != flow.version => plan.restart.push((*flow).clone()),
            Some(_) => {}
        }
    }
    let mut stop: Vec<String> = running
        .keys()
        .filter(|id| !desired_by_id.contains_key(id.as_str()))
        .cloned()
        .collect();
    stop.sort();
    plan.stop = stop;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: &str, version: &str) -> Flow {
        Flow {
            id: id.into(),
            version: version.into(),
            spec_json: String::new(),
        }
    }

    #[test]
    fn starts_new_restarts_changed_stops_removed_keeps_unchanged() {
        let running: HashMap<String, String> = [("rule:a", "1"), ("rule:b", "1"), ("rule:c", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let plan = plan(
            &running,
            &[
                flow("rule:a", "1"),
                flow("rule:b", "2"),
                flow("rule:d", "1"),
            ],
        );
        assert_eq!(plan.start, vec![flow("rule:d", "1")]);
        assert_eq!(plan.restart, vec![flow("rule:b", "2")]);
        assert_eq!(plan.stop, vec!["rule:c".to_owned()]);
    }

    #[test]
    fn an_identical_snapshot_changes_nothing() {
        let running: HashMap<String, String> = [("rule:a".to_owned(), "7".to_owned())].into();
        assert_eq!(plan(&running, &[flow("rule:a", "7")]), Plan::default());
    }
}
