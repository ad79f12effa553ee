#!/usr/bin/env bash
# File flow benchmark (`make bench-files`): a CSV export -> import of 1,000,000 rows (~100 MB)
# from SFTP (OpenSSH's sshd) to S3 (moto) through the release binary, and of 100,000 rows
# (~10 MB) to show that peak RSS does not grow with the file; rows/s, MB/s, the server's peak
# RSS (VmHWM) and CPU time; then the network path alone (the product's SFTP download + S3
# upload of the same bytes) and the CSV format alone (parse, serialize, both; in memory). The
# driver is tests/benches/files.rs; it prints a table and writes bench-results/files.json.
#
# Needs root (sshd logs a test user in), sshd, python3 with moto[server] — installed here when
# missing — and a release build (built here; the first one takes several minutes).
# Knobs: BENCH_FILES_ROWS [1000000], BENCH_FILES_SMALL_ROWS [100000], BENCH_FILES_PAGE_SIZE
# [1000], BENCH_FILES_OUT [bench-results/files.json], INTEGRATOR_BIN [target/release/integrator].
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/install-test-deps.sh # sshd, moto, the wasm32-wasip2 target (the tests crate's build)

"${CARGO:-cargo}" build --release -p integrator --bin integrator
exec "${CARGO:-cargo}" bench -p integrator-tests --bench files
