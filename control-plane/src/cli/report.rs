//! The import report as a person reads it: one line per item, then the totals.

use std::fmt::Write;

use crate::api::data::import::{Change, ImportReport};

/// One line per item (`update  action  kafka_producer:a  parameters.topic`), unchanged items
/// only when `verbose`, then a summary line.
pub fn render(report: &ImportReport, verbose: bool) -> String {
    let mut out = String::new();
    for item in &report.items {
        let word = match item.change {
            Change::Create => "create",
            Change::Update => "update",
            Change::Delete => "delete",
            Change::Unchanged if verbose => "unchanged",
            Change::Unchanged => continue,
        };
        let _ = write!(out, "{word:<9} {:<9} {}", item.kind, item.id);
        if !item.fields.is_empty() {
            let _ = write!(out, "  ({})", item.fields.join(", "));
        }
        out.push('\n');
    }
    let tense = if report.dry_run { "would be " } else { "" };
    let _ = writeln!(
        out,
        "{} {tense}created, {} {tense}updated, {} {tense}deleted, {} unchanged{}",
        report.created,
        report.updated,
        report.deleted,
        report.unchanged,
        if report.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    out
}
