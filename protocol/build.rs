//! Generates the gRPC client and server from `proto/worker.proto`.
//! protoc comes from the `protoc-bin-vendored` crate, so a build needs nothing installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/worker.proto");
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().compile_with_config(
        config,
        &["proto/worker.proto"],
        &["proto"],
    )?;
    Ok(())
}
