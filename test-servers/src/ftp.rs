//! pyftpdlib on loopback: plain FTP, or FTPS with TLS required on the control and data
//! connections.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{HOST, file_names, python_with, skip, under};

/// The FTP user.
const USER: &str = "flows";
/// Its password.
const PASSWORD: &str = "s3cret-ftp-pass";

/// The server: one user whose home (`/` over FTP) is a temp dir; stopped when dropped.
pub struct FtpServer {
    child: Child,
    port: u16,
    tls: bool,
    home: tempfile::TempDir,
    _certs: tempfile::TempDir,
}

impl Drop for FtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERVER: &str = r#"
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer
home, user, password, cert = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, home, perm="elradfmwMT")
if cert:
    handler = TLS_FTPHandler
    handler.certfile = cert
    handler.tls_control_required = True
    handler.tls_data_required = True
else:
    handler = FTPHandler
handler.authorizer = authorizer
handler.auth_failed_timeout = 0
handler.banner = "test server ready"
server = FTPServer(("127.0.0.1", 0), handler)
print(server.socket.getsockname()[1], flush=True)
server.serve_forever()
"#;

impl FtpServer {
    /// Start pyftpdlib (with TLS when `tls`), or `None` (after saying why) when pyftpdlib,
    /// pyOpenSSL or openssl is missing outside CI.
    pub fn start(tls: bool) -> Option<FtpServer> {
        let Some(python) = python_with("import pyftpdlib, OpenSSL") else {
            return skip(
                "python3 with pyftpdlib and pyOpenSSL is missing \
                 (scripts/install-test-deps.sh installs them)",
            );
        };
        let home = tempfile::tempdir().expect("the FTP user's home");
        let certs = tempfile::tempdir().expect("a directory for the certificate");
        let cert = certs.path().join("server.pem");
        if tls {
            let key = certs.path().join("key.pem");
            let crt = certs.path().join("cert.pem");
            let made = crate::run(
                Command::new("openssl")
                    .args([
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    ])
                    .args(["-subj", "/CN=localhost", "-keyout"])
                    .arg(&key)
                    .arg("-out")
                    .arg(&crt),
            );
            if !made {
                return skip("openssl cannot make a test certificate (is openssl installed?)");
            }
            let mut pem = std::fs::read(&crt).expect("the certificate");
            pem.extend(std::fs::read(&key).expect("the key"));
            std::fs::write(&cert, pem).expect("the certificate file");
        }
        let mut child = Command::new(python)
            .args(["-c", SERVER])
            .arg(home.path())
            .args([USER, PASSWORD])
            .arg(if tls { cert.as_os_str() } else { "".as_ref() })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pyftpdlib");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("pyftpdlib's stdout"))
            .read_line(&mut line)
            .expect("pyftpdlib's port");
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pyftpdlib did not start: {line:?}");
        };
        Some(FtpServer {
            child,
            port,
            tls,
            home,
            _certs: certs,
        })
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it speaks FTPS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The user name.
    pub fn username(&self) -> &'static str {
        USER
    }

    /// The user's password.
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// The user's home on disk: `/` over FTP.
    pub fn root(&self) -> &Path {
        self.home.path()
    }

    /// The `ftp` block of a connection to this server (`type` `ftp` or `ftps`, TLS certificate
    /// checks off: the certificate is self-signed).
    pub fn block(&self) -> Value {
        json!({
            "type": if self.tls { "ftps" } else { "ftp" },
            "hostURI": HOST,
            "port": self.port,
            "username": USER,
            "password": PASSWORD,
            "tls": {"insecureSkipVerify": true},
        })
    }

    /// A connection document (`{"type": "ftp", "ftp": …}`) for this server.
    pub fn connection(&self) -> Value {
        json!({"type": "ftp", "name": "Test FTP server", "ftp": self.block()})
    }

    /// The path on disk of `rel` (relative to the FTP root).
    pub fn path(&self, rel: &str) -> PathBuf {
        under(self.root(), rel)
    }

    /// Make the directory `rel` (and its parents).
    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).expect("making a directory");
    }

    /// Write the file `rel` (making its directory).
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("making a directory");
        }
        std::fs::write(&path, bytes).expect("writing a file");
    }

    /// The bytes of the file `rel`, if it exists.
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(rel)).ok()
    }

    /// Remove the file `rel`.
    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path(rel)).expect("removing a file");
    }

    /// The files directly in the directory `rel`, sorted by name.
    pub fn names(&self, rel: &str) -> Vec<String> {
        file_names(&self.path(rel))
    }
}
