#!/usr/bin/env bash
# Flow benchmark (`make bench-flow`): records per second and peak RSS of one flow run over
# 1,000,000 records — local HTTP source -> preSavePage hook -> mapping -> local HTTP sink — with
# the hook in our Wasm runtime and the same hook as a native Rust function (the floor), then
# 10,000,000 records with the Wasm hook (flat memory). The driver is runtime/benches/flow.rs:
# source, sink and platform run in its process (127.0.0.1 only, a temporary data dir); it builds
# the guest component (benches/components) from source, prints a table and writes
# bench-results/flow.json.
#
# Needs: the wasm32-wasip2 target (installed here when missing), a release build (cargo builds
# it; the first release build of wasmtime takes several minutes). The 10,000,000-record run
# takes about 10 minutes on a 2-core machine: BENCH_FLOW_BIG=0 skips it.
# Knobs: BENCH_FLOW_RECORDS [1000000], BENCH_FLOW_BIG [10000000], BENCH_FLOW_PAGE_SIZE [20],
# BENCH_FLOW_SOURCE_PAGE [1000], BENCH_FLOW_OUT [bench-results/flow.json], BENCH_FLOW_ONLY
# [wasm|native] (see the driver's header).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/install-test-deps.sh # the wasm32-wasip2 target

exec "${CARGO:-cargo}" bench -p integrator --bench flow
