//! Reading a worker's `/metrics`: one family per quantity (`tributary_rule_matched_total`,
//! `tributary_action_queuing`), the resource in a label (`rule`, `action`, `source`,
//! `connector`). Tests name metrics as the flows and the API do (`rule:r1`, `actions.success`);
//! the family is `tributary_<kind>_<metric with dots as underscores>`, counters ending in
//! `_total` once (data-plane's `telemetry::families` test holds its table to this rule).

use std::collections::BTreeMap;

/// The resource kinds: id prefix, family kind, label.
const KINDS: [(&str, &str, &str); 4] = [
    ("rule:", "rule", "rule"),
    ("action:", "action", "action"),
    ("source:", "source", "source"),
    ("mqtt:", "connector", "connector"),
];

/// `(family kind, label, label value)` of a resource id.
fn kind_of(resource: &str) -> Option<(&'static str, &'static str, &str)> {
    KINDS.iter().find_map(|(prefix, kind, label)| {
        let rest = resource.strip_prefix(prefix)?;
        // A connector's id keeps its type (`mqtt:default`).
        let value = if *kind == "connector" { resource } else { rest };
        Some((*kind, *label, value))
    })
}

/// The counter family of `metric` of `resource`, with the label selecting the resource.
pub fn counter_family(resource: &str, metric: &str) -> Option<(String, &'static str, String)> {
    let (kind, label, value) = kind_of(resource)?;
    let mut name = format!("tributary_{kind}_{}", metric.replace('.', "_"));
    if !name.ends_with("_total") {
        name.push_str("_total");
    }
    Some((name, label, value.to_owned()))
}

/// The gauge family of `metric` of `resource`, with the label selecting the resource.
pub fn gauge_family(resource: &str, metric: &str) -> Option<(String, &'static str, String)> {
    let (kind, label, value) = kind_of(resource)?;
    let name = format!("tributary_{kind}_{}", metric.replace('.', "_"));
    Some((name, label, value.to_owned()))
}

/// One sample line: family name, labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample of a Prometheus or OpenMetrics text (`#` lines skipped).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines().filter_map(sample).collect()
}

fn sample(line: &str) -> Option<Sample> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.trim().parse::<f64>().ok()?;
    let Some((name, labels)) = series.split_once('{') else {
        return Some(Sample {
            name: series.to_owned(),
            labels: BTreeMap::new(),
            value,
        });
    };
    Some(Sample {
        name: name.to_owned(),
        labels: labels_of(labels.strip_suffix('}')?),
        value,
    })
}

/// `a="x",b="y\"z"` into a map (with `\"`, `\\` and `\n` unescaped).
fn labels_of(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        labels.insert(name.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    labels
}

/// The value of the series of `family` whose `label` is `value`, summed over its other labels
/// (a worker has one series per resource, so the sum is that series).
pub fn value(text: &str, (family, label, value): &(String, &'static str, String)) -> Option<f64> {
    let matching: Vec<f64> = samples(text)
        .into_iter()
        .filter(|s| s.name == *family && s.labels.get(*label) == Some(value))
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// Every counter sample as resource id -> metric -> value, the metric as its family names it
/// (`tributary_rule_actions_success_total` of `rule="r1"` is `rule:r1` -> `actions_success`).
pub fn counters(text: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for sample in samples(text) {
        let Some(base) = sample.name.strip_suffix("_total") else {
            continue;
        };
        for (prefix, kind, label) in KINDS {
            let Some(metric) = base.strip_prefix(&format!("tributary_{kind}_")) else {
                continue;
            };
            let Some(id) = sample.labels.get(label) else {
                continue;
            };
            let resource = if kind == "connector" {
                id.clone()
            } else {
                format!("{prefix}{id}")
            };
            // Counters are integers; the text writes them as such.
            out.entry(resource)
                .or_default()
                .insert(metric.to_owned(), sample.value as u64);
        }
    }
    out
}

/// Counters of `text` that are not zero, one `family{labels} value` a line, for failure
/// messages.
pub fn nonzero_counters(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| {
            line.starts_with("tributary_")
                && sample(line).is_some_and(|s| s.name.ends_with("_total") && s.value != 0.0)
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP tributary_rule_matched Messages.\n\
        # TYPE tributary_rule_matched counter\n\
        tributary_rule_matched_total{worker=\"w0\",rule=\"r1\"} 12\n\
        tributary_rule_actions_success_total{worker=\"w0\",rule=\"r1\"} 10\n\
        tributary_rule_actions_total{worker=\"w0\",rule=\"r1\"} 11\n\
        tributary_connector_unrouted_total{worker=\"w0\",connector=\"mqtt:default\"} 2\n\
        tributary_action_queuing{worker=\"w0\",action=\"kafka_producer:a \\\"b\\\"\"} 3.0\n\
        tributary_live_workers 1\n\
        # EOF\n";

    #[test]
    fn reads_families_by_resource_and_internal_name() {
        let matched = counter_family("rule:r1", "matched").unwrap();
        assert_eq!(matched.0, "tributary_rule_matched_total");
        assert_eq!(value(TEXT, &matched), Some(12.0));
        let total = counter_family("rule:r1", "actions.total").unwrap();
        assert_eq!(total.0, "tributary_rule_actions_total");
        assert_eq!(value(TEXT, &total), Some(11.0));
        let unrouted = counter_family("mqtt:default", "unrouted").unwrap();
        assert_eq!(value(TEXT, &unrouted), Some(2.0));
        let queuing = gauge_family("action:kafka_producer:a \"b\"", "queuing").unwrap();
        assert_eq!(value(TEXT, &queuing), Some(3.0));
        assert_eq!(
            value(TEXT, &counter_family("rule:r2", "matched").unwrap()),
            None
        );
        assert_eq!(counter_family("other:x", "matched"), None);
    }

    #[test]
    fn collects_counters_per_resource() {
        let parsed = counters(TEXT);
        assert_eq!(parsed["rule:r1"]["matched"], 12);
        assert_eq!(parsed["rule:r1"]["actions_success"], 10);
        assert_eq!(parsed["mqtt:default"]["unrouted"], 2);
        assert_eq!(parsed.len(), 2);
        assert_eq!(nonzero_counters(TEXT).len(), 4);
    }
}
