//! End-to-end tests of the Integrator runtime live in `tests/e2e/`: they start the real
//! `integrator` binary on a free loopback port with a temporary data directory and talk HTTP.
