//! Real servers on loopback for tests and benchmarks (dev-only, never published):
//!
//! - [`FtpServer`]: pyftpdlib, plain FTP or FTPS (explicit TLS, a throwaway self-signed
//!   certificate made with `openssl`);
//! - [`SftpServer`]: OpenSSH's `sshd` run as root with throwaway host and user keys, logging in
//!   as the system user `integrator-sftp-test` (created once with `useradd`);
//! - [`S3Server`]: moto's S3 server mode (`python3 -m moto.server`), driven through the S3 API
//!   with SigV4-signed requests;
//! - [`NetSuiteServer`]: a NetSuite stand-in (Python's `http.server`) serving SuiteQL, the record
//!   API and a RESTlet, checking OAuth 1.0a HMAC-SHA256 signatures with oauthlib.
//!
//! Each server runs on a free loopback port with its files in a temporary directory, and is
//! stopped (and its files removed) when dropped. `start` returns `None` after printing why when
//! a server program is missing and `CI` is unset; with `CI` set a missing program fails the
//! test. `scripts/install-test-deps.sh` installs everything.
//!
//! FTP and SFTP files are read and written directly on disk ([`FtpServer::root`],
//! [`SftpServer::root`]); S3 objects through [`S3Server::put`], [`S3Server::get`] and friends.
//! Everything here is blocking (std only), so it works from sync and async tests alike.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod ftp;
mod netsuite;
mod s3;
mod sftp;

pub use ftp::FtpServer;
pub use netsuite::NetSuiteServer;
pub use s3::S3Server;
pub use sftp::SftpServer;

/// The address every server listens on.
pub const HOST: &str = "127.0.0.1";

/// Skip outside CI (printing why), fail in CI.
fn skip<T>(reason: &str) -> Option<T> {
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason} (CI is set, so a missing test server fails the test)"
    );
    // Straight to stderr: libtest captures eprintln! of passing tests.
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
    None
}

/// Whether `command` ran and succeeded (its output discarded).
fn run(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A free loopback port (free when asked; the server binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((HOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A loopback port where nothing listens (bound, then closed).
pub fn closed_port() -> u16 {
    free_port()
}

/// The first of `candidates` for which `python -c import_check` succeeds.
fn python_with(import_check: &str) -> Option<String> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| run(Command::new(python).args(["-c", import_check])))
        .map(str::to_owned)
}

/// The names of the files (not directories) directly in `dir`, sorted; empty when `dir` does
/// not exist.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `root` joined with the `/`-separated relative path `rel` (a leading `/` is ignored).
fn under(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}
