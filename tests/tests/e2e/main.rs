//! End-to-end tests of the Integrator runtime: each test starts the real `integrator` binary on a
//! free loopback port with its own temporary data directory and talks HTTP to it, asserting what
//! a user observes (status, body, headers, stored state).
//!
//! Build the binary first (`make test` does): `cargo build -p integrator --bin integrator`, or
//! point `INTEGRATOR_BIN` at a build.

mod harness;

mod accounts;
mod durability;
mod errors;
mod examples;
mod extensions;
mod files;
mod flows;
mod isolation;
mod jobs;
mod marketplace;
mod netsuite;
mod openapi;
mod rate_limit;
mod remote;
mod resources;
mod secrets;
mod state;
mod validation;
