//! What the benchmarks share: building the benchmark guest (`benches/components`) from
//! source. Included by each bench target with `#[path]`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

/// Build `benches/components` for wasm32-wasip2 (from source, every run; cargo makes it a no-op
/// when nothing changed) and read the benchmark guest. `bench` names the caller in the log line.
pub fn build_guest(root: &Path, bench: &str) -> Result<Vec<u8>> {
    let manifest = root.join("benches/components/Cargo.toml");
    let target_dir = root.join("benches/components/target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's settings are for the host, not for the guest.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    println!("{bench}: building the guest component (benches/components, wasm32-wasip2, release)");
    let status = command
        .status()
        .context("running cargo for the guest component")?;
    ensure!(
        status.success(),
        "building {} failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`)",
        manifest.display()
    );
    let wasm = target_dir.join("wasm32-wasip2/release/bench_presave.wasm");
    std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))
}
