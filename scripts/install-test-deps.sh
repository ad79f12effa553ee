#!/usr/bin/env bash
# Installs what `make test` needs when it is missing. Safe to run again.
set -euo pipefail

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
  fi
fi
