//! Embeds the built web console (`console/dist`, written by `scripts/console.sh build`) in
//! `tributary-control`, so the binary serves it at `/` by itself. Without a build the list is
//! empty and the control plane still runs; its `/` then says how to build the console.
//! `TRIBUTARY_CONSOLE_DIST` names another directory to embed (for builds outside this tree).

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-env-changed=TRIBUTARY_CONSOLE_DIST");
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let dist = std::env::var_os("TRIBUTARY_CONSOLE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../console/dist"));
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        // A directory is scanned as a whole: any file added, removed or rebuilt reruns this.
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files)?;
        files.sort();
    } else if let Some(parent) = dist.parent().filter(|p| p.is_dir()) {
        // Watching the missing directory itself would rerun this (and rebuild the crate) on every
        // build; its parent changes when the directory appears.
        println!("cargo:rerun-if-changed={}", parent.display());
    }
    let mut out = String::from(
        "/// The built console's files: path relative to `console/dist`, contents.\n\
         pub static EMBEDDED: &[(&str, &[u8])] = &[\n",
    );
    for (relative, absolute) in &files {
        writeln!(out, "    ({relative:?}, include_bytes!({absolute:?})),")?;
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?);
    std::fs::write(out_dir.join("console_assets.rs"), out)?;
    Ok(())
}

/// Every file under `dir`: its path relative to `root` with `/` separators, its absolute path.
fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, String)>,
) -> Result<(), Box<dyn Error>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            let relative: Vec<String> = path
                .strip_prefix(root)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let absolute = path.canonicalize()?;
            files.push((relative.join("/"), absolute.to_string_lossy().into_owned()));
        }
    }
    Ok(())
}
