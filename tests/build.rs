//! Builds the guest components the end-to-end tests upload — the example components of
//! `examples/` and the test fixtures of `tests/components/` — from source, for wasm32-wasip2.
//! Each `<crate>.wasm` is exposed to the tests as the compile-time env var
//! `WASM_<CRATE_NAME_UPPERCASE>` (e.g. `WASM_EXAMPLE_HOOKS`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in [
        "wit",
        "sdk-guest/src",
        "sdk-guest/Cargo.toml",
        "examples",
        "tests/components",
    ] {
        rerun_if_changed(&root.join(watched));
    }
    build_workspace(&root.join("examples"), &out.join("examples-target"));
    build_workspace(
        &root.join("tests/components"),
        &out.join("components-target"),
    );
}

fn rerun_if_changed(path: &Path) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rerun_if_changed(&p);
        }
    } else {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn build_workspace(workspace: &Path, target_dir: &Path) {
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
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's settings are for the host, not for the guests.
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
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("running cargo for {}: {e}", workspace.display()));
    assert!(
        status.success(),
        "building the guest components of {} failed (is the wasm32-wasip2 target installed? `make test` installs it)",
        workspace.display()
    );
    let release = target_dir.join("wasm32-wasip2/release");
    for entry in std::fs::read_dir(&release).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            println!(
                "cargo:rustc-env=WASM_{}={}",
                stem.to_uppercase().replace('-', "_"),
                path.display()
            );
        }
    }
}
