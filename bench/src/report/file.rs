//! Writing the results into BENCHMARKS.md between two markers, so the hand-written analysis
//! around them survives every run.

use std::path::Path;

use crate::error::{BenchError, Result};

pub const BEGIN: &str =
    "<!-- bench:results:begin (written by scripts/bench.sh; edit outside these markers) -->";
pub const END: &str = "<!-- bench:results:end -->";

const NEW_FILE_HEAD: &str = "# Benchmarks\n\nRun `scripts/bench.sh`; it replaces the section between the markers below.\n\n";

/// `document` with the marked section replaced by `results` (appended when there is none).
pub fn splice(document: &str, results: &str) -> String {
    let section = format!("{BEGIN}\n{}\n{END}", results.trim_end());
    match (document.find(BEGIN), document.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            format!(
                "{}{section}{}",
                &document[..begin],
                &document[end + END.len()..]
            )
        }
        _ if document.trim().is_empty() => format!("{NEW_FILE_HEAD}{section}\n"),
        _ => format!("{}\n\n{section}\n", document.trim_end()),
    }
}

pub fn write(path: &Path, results: &str) -> Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(BenchError::io(format!("reading {}", path.display()), err)),
    };
    std::fs::write(path, splice(&existing, results))
        .map_err(|e| BenchError::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_marked_section() {
        let doc = format!("# Title\nintro\n{BEGIN}\nold table\n{END}\n## Analysis\nkept\n");
        let out = splice(&doc, "new table\n");
        assert_eq!(
            out,
            format!("# Title\nintro\n{BEGIN}\nnew table\n{END}\n## Analysis\nkept\n")
        );
        assert_eq!(splice(&out, "new table"), out, "idempotent");
    }

    #[test]
    fn creates_or_appends_when_there_are_no_markers() {
        assert!(splice("", "t").starts_with("# Benchmarks"));
        let appended = splice("# Mine\ntext\n", "t");
        assert!(appended.starts_with("# Mine\ntext\n\n"));
        assert!(appended.contains(&format!("{BEGIN}\nt\n{END}")));
    }
}
