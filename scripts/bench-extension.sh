#!/usr/bin/env bash
# Extension runtime benchmark (`make bench-extension`): our Wasm runtime side by side with the
# same hook as a native Rust function and behind a Node express extension server built on the
# published `integrator-extension` package (benches/node-peer), in one run. The driver is
# runtime/benches/extension.rs; it builds the guest component (benches/components) from source,
# starts and kills the Node server (127.0.0.1 only), prints a table and writes
# bench-results/extension.json.
#
# Needs: node and npm (Node 20+; `npm ci` runs here when benches/node-peer/node_modules is
# missing), the wasm32-wasip2 target (installed here when missing), a release build (cargo
# builds it; the first release build of wasmtime takes several minutes).
# Knobs: BENCH_EXTENSION_SECONDS [3], BENCH_EXTENSION_ROUNDS [5], BENCH_EXTENSION_WARMUP [1]
# (see the driver's header), NODE [node].
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { echo "bench-extension: $*" >&2; exit 1; }
node=${NODE:-node}
command -v "$node" >/dev/null 2>&1 || die "node is missing (Node.js 20 or later)"
command -v npm >/dev/null 2>&1 || die "npm is missing"
major=$("$node" -p 'process.versions.node.split(".")[0]')
((major >= 20)) || die "node $("$node" --version) is too old: Node.js 20 or later"

peer="$root/benches/node-peer"
if [[ ! -d $peer/node_modules/integrator-extension || ! -d $peer/node_modules/express ]]; then
  echo "bench-extension: installing the Node peer's packages (npm ci in benches/node-peer)"
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
fi

scripts/install-test-deps.sh # the wasm32-wasip2 target

exec "${CARGO:-cargo}" bench -p integrator --bench extension
