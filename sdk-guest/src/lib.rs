//! `integrator-sdk`: write Integrator extension functions (hooks, wrappers, installers,
//! settings functions) in Rust and build them with `cargo build --target wasm32-wasip2`.
//!
//! The typed API arrives with the WIT contract (`wit/`); this crate is the place it will live.
