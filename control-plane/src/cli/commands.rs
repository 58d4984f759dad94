//! `export` writes the control plane's configuration as YAML; `apply` sends a YAML (or JSON)
//! document to it and prints what changed.

use std::io::{Read, Write};

use anyhow::Context;
use serde_json::Value;

use super::client::Client;
use super::report;
use crate::api::data::import::ImportReport;
use crate::config::{ApplyArgs, ExportArgs};

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let document = Client::new(&args.api)?
        .export(args.include_secrets, args.secrets_passphrase.as_deref())
        .await?;
    let yaml = serde_yaml_ng::to_string(&document).context("writing the document as YAML")?;
    match &args.output {
        Some(path) => std::fs::write(path, yaml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(yaml.as_bytes())?,
    }
    Ok(())
}

pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?
    };
    // JSON is YAML too, so either is accepted.
    let document: Value = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{} is not a YAML document", args.file.display()))?;
    let answer = Client::new(&args.api)?
        .import(
            &document,
            args.dry_run,
            args.prune,
            args.secrets_passphrase.as_deref(),
        )
        .await?;
    let report: ImportReport =
        serde_json::from_value(answer).context("the control plane's report does not decode")?;
    std::io::stdout()
        .lock()
        .write_all(report::render(&report, args.verbose).as_bytes())?;
    Ok(())
}
