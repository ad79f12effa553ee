//! The Integrator runtime: the Integrator REST API over an embedded store, and (later) the
//! sandboxed WebAssembly extension runtime.
//!
//! The binary `integrator` wraps this library; tests and benchmarks build the same [`api::app`].

pub mod adaptor;
pub mod api;
pub mod auth;
pub mod extension;
pub mod flow;
pub mod marketplace;
pub mod model;
pub mod secrets;
pub mod server;
pub mod store;
pub mod util;

pub use api::{AppState, app};
