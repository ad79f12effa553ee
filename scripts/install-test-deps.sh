#!/usr/bin/env bash
# Installs what `make test` needs when it is missing. Safe to run again.
set -euo pipefail

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
  fi
fi

# --- FTP, FTPS and SFTP test servers (runtime/src/adaptor/files/ftp.rs and sftp.rs) ---------
# The tests start pyftpdlib (FTP, and FTPS with pyOpenSSL) and OpenSSH's sshd (SFTP, run as
# root; the tests create the system user `integrator-sftp-test` with a throwaway password).
# `openssl` makes the FTPS test certificate, `ssh-keygen` the SSH host and user keys.
ftp_sftp_sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then ftp_sftp_sudo="sudo"; fi
ftp_sftp_python_ok() {
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import pyftpdlib, OpenSSL' >/dev/null 2>&1; then
      return 0
    fi
  done
  return 1
}
ftp_sftp_apt=()
[ -x /usr/sbin/sshd ] || ftp_sftp_apt+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || ftp_sftp_apt+=(openssh-client)
command -v openssl >/dev/null 2>&1 || ftp_sftp_apt+=(openssl)
command -v useradd >/dev/null 2>&1 || ftp_sftp_apt+=(passwd)
ftp_sftp_need_python=false
ftp_sftp_python_ok || ftp_sftp_need_python=true
if { [ ${#ftp_sftp_apt[@]} -gt 0 ] || $ftp_sftp_need_python; } && command -v apt-get >/dev/null 2>&1; then
  $ftp_sftp_sudo apt-get update -qq
  if $ftp_sftp_need_python; then
    # Debian's packages install them for /usr/bin/python3 (the tests use it when the first
    # python3 on PATH lacks them).
    for pkg in python3-pyftpdlib python3-openssl; do
      if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        ftp_sftp_apt+=("$pkg")
      fi
    done
  fi
  if [ ${#ftp_sftp_apt[@]} -gt 0 ]; then
    echo "installing ${ftp_sftp_apt[*]}"
    $ftp_sftp_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${ftp_sftp_apt[@]}"
  fi
fi
if ! ftp_sftp_python_ok; then
  echo "installing pyftpdlib and pyOpenSSL with pip"
  python3 -m pip install --quiet --break-system-packages pyftpdlib pyOpenSSL \
    || python3 -m pip install --quiet pyftpdlib pyOpenSSL
fi

# --- S3 test server (runtime/src/adaptor/files/s3.rs) -----------------------------------------
# The tests start moto's S3 server mode (`python3 -m moto.server`): moto[server] (moto, flask,
# flask-cors) for the first python3 on PATH.
s3_sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then s3_sudo="sudo"; fi
if ! python3 -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "installing python3 and python3-pip"
    $s3_sudo apt-get update -qq
    $s3_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip
  fi
  echo "installing moto[server] with pip"
  # A pyenv or venv python takes it as is; Debian's own python3 needs --break-system-packages.
  python3 -m pip install --quiet 'moto[server]' \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]'
fi

# --- NetSuite stand-in (test-servers/src/netsuite.rs) -----------------------------------------
# The tests start a Python http.server that checks OAuth 1.0a signatures with oauthlib. Debian's
# python3-oauthlib installs it for /usr/bin/python3 (the tests use it when the first python3 on
# PATH lacks it); pip otherwise.
netsuite_sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then netsuite_sudo="sudo"; fi
netsuite_python_ok() {
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import oauthlib.oauth1.rfc5849.signature' >/dev/null 2>&1; then
      return 0
    fi
  done
  return 1
}
if ! netsuite_python_ok && command -v apt-get >/dev/null 2>&1; then
  $netsuite_sudo apt-get update -qq
  if apt-cache policy python3-oauthlib 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "installing python3-oauthlib"
    $netsuite_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-oauthlib
  fi
fi
if ! netsuite_python_ok; then
  echo "installing oauthlib with pip"
  python3 -m pip install --quiet oauthlib \
    || python3 -m pip install --quiet --break-system-packages oauthlib
fi
