#!/usr/bin/env bash
# Installs the load generator `make bench` uses when it is missing.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (load generator)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
