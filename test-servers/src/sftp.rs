//! OpenSSH's sshd on loopback, SFTP only.
//!
//! `/usr/sbin/sshd -D` runs as root on a free loopback port with a throwaway host key, two
//! throwaway user keys (ed25519, and RSA in PEM with a passphrase) listed in an
//! `AuthorizedKeysFile` in a temp dir (`StrictModes no`), password logins on without PAM and
//! `internal-sftp` forced. It logs in the system user `integrator-sftp-test` (no home, no
//! shell), created once with `useradd` and a throwaway password (`chpasswd`); its files live in
//! a temp dir it owns, so SFTP paths are absolute ([`SftpServer::root`]).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{HOST, file_names, free_port, run, skip, under};

/// The system user the server logs in (created once, as root).
const USER: &str = "integrator-sftp-test";
/// Its password.
const PASSWORD: &str = "Throwaway-sftp-pass-1";
/// The passphrase of the RSA user key.
const PASSPHRASE: &str = "key passphrase";
const SSHD: &str = "/usr/sbin/sshd";

/// Creates the test user once (and sets its password); its uid and gid.
fn test_user() -> Result<(u32, u32), String> {
    static USER_IDS: OnceLock<Result<(u32, u32), String>> = OnceLock::new();
    USER_IDS
        .get_or_init(|| {
            let id = |flag: &str| {
                Command::new("id")
                    .args([flag, USER])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            };
            if id("-u").is_none()
                && !run(Command::new("useradd").args([
                    "--system",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    USER,
                ]))
                // Another process may have created it meanwhile.
                && id("-u").is_none()
            {
                return Err(format!("useradd {USER} failed"));
            }
            let mut chpasswd = Command::new("chpasswd")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("chpasswd: {e}"))?;
            chpasswd
                .stdin
                .take()
                .ok_or("chpasswd stdin")?
                .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
                .map_err(|e| format!("chpasswd: {e}"))?;
            if !chpasswd.wait().is_ok_and(|s| s.success()) {
                return Err("chpasswd failed".into());
            }
            Ok((id("-u").ok_or("no uid")?, id("-g").ok_or("no gid")?))
        })
        .clone()
}

/// The server, with throwaway host and user keys; stopped when dropped.
pub struct SftpServer {
    child: Child,
    port: u16,
    uid: u32,
    gid: u32,
    /// Host key, user keys, authorized_keys, the configuration and the log.
    keys: tempfile::TempDir,
    /// The test user's files.
    files: tempfile::TempDir,
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SftpServer {
    /// Start sshd, or `None` (after saying why) when sshd or ssh-keygen is missing or the
    /// tests do not run as root, outside CI.
    pub fn start() -> Option<SftpServer> {
        let on_path = |name: &str| {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        };
        if !Path::new(SSHD).exists() || !on_path("ssh-keygen") {
            return skip(
                "OpenSSH's sshd or ssh-keygen is missing \
                 (scripts/install-test-deps.sh installs openssh-server)",
            );
        }
        // Only root's sshd can log another user in (with a password).
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !root {
            return skip("the SFTP test server runs sshd as root to log in a test user");
        }
        let (uid, gid) = test_user().unwrap_or_else(|e| panic!("the SFTP test user: {e}"));
        let _ = std::fs::create_dir_all("/run/sshd");

        let keys = tempfile::tempdir().expect("a directory for the keys");
        let dir = keys.path();
        let keygen = |args: &[&str], file: &str| {
            assert!(
                run(Command::new("ssh-keygen")
                    .args(["-q", "-C", "integrator-test"])
                    .args(args)
                    .arg("-f")
                    .arg(dir.join(file))),
                "ssh-keygen {file}"
            );
        };
        keygen(&["-t", "ed25519", "-N", ""], "host_ed25519");
        keygen(&["-t", "ed25519", "-N", ""], "user_ed25519");
        keygen(
            &["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", PASSPHRASE],
            "user_rsa",
        );
        let mut authorized =
            std::fs::read_to_string(dir.join("user_ed25519.pub")).expect("a public key");
        authorized
            .push_str(&std::fs::read_to_string(dir.join("user_rsa.pub")).expect("a public key"));
        std::fs::write(dir.join("authorized_keys"), authorized).expect("authorized_keys");
        // sshd reads authorized_keys as the user.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(
            dir.join("authorized_keys"),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");

        let files = tempfile::tempdir().expect("the test user's files");
        std::os::unix::fs::chown(files.path(), Some(uid), Some(gid)).expect("chown");

        let port = free_port();
        let config = format!(
            "ListenAddress {HOST}\nPort {port}\nHostKey {dir}/host_ed25519\nPidFile none\n\
             UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nAuthorizedKeysFile {dir}/authorized_keys\n\
             StrictModes no\nPermitRootLogin no\nAllowUsers {USER}\nMaxStartups 100\n\
             MaxSessions 100\nMaxAuthTries 10\nSubsystem sftp internal-sftp\n\
             ForceCommand internal-sftp\nLogLevel ERROR\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("sshd_config"), config).expect("sshd_config");
        let log = std::fs::File::create(dir.join("sshd.log")).expect("sshd's log");
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting sshd");
        let started = Instant::now();
        while std::net::TcpStream::connect((HOST, port)).is_err() {
            if started.elapsed() > Duration::from_secs(10)
                || child.try_wait().ok().flatten().is_some()
            {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "sshd did not start: {}",
                    std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(SftpServer {
            child,
            port,
            uid,
            gid,
            keys,
            files,
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

    /// The user name.
    pub fn username(&self) -> &'static str {
        USER
    }

    /// The user's password.
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// The user's ed25519 private key (OpenSSH format, no passphrase).
    pub fn private_key(&self) -> String {
        self.key("user_ed25519")
    }

    /// The user's RSA private key (PEM), encrypted with [`SftpServer::passphrase`].
    pub fn encrypted_rsa_key(&self) -> String {
        self.key("user_rsa")
    }

    /// The passphrase of [`SftpServer::encrypted_rsa_key`].
    pub fn passphrase(&self) -> &'static str {
        PASSPHRASE
    }

    /// The server's host key (a private key the server does not accept for the user).
    pub fn host_key(&self) -> String {
        self.key("host_ed25519")
    }

    /// The SHA-256 fingerprint of the server's host key, as `ssh-keygen -l` shows it
    /// (`SHA256:…`).
    pub fn host_key_fingerprint(&self) -> String {
        let output = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.keys.path().join("host_ed25519.pub"))
            .output()
            .expect("ssh-keygen -l");
        let listed = String::from_utf8_lossy(&output.stdout);
        listed
            .split_whitespace()
            .nth(1)
            .expect("a host key fingerprint")
            .to_owned()
    }

    fn key(&self, name: &str) -> String {
        std::fs::read_to_string(self.keys.path().join(name)).expect("a key")
    }

    /// The directory of the user's files: an absolute path, the same over SFTP and on disk.
    pub fn root(&self) -> &Path {
        self.files.path()
    }

    /// The absolute SFTP path of `rel` (relative to [`SftpServer::root`]).
    pub fn remote(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    /// The `ftp` block of a connection logging in with the password.
    pub fn block(&self) -> Value {
        self.block_with(json!({"password": PASSWORD}))
    }

    /// The `ftp` block of a connection logging in with `auth` (`password`, `privateKey`,
    /// `passphrase`).
    pub fn block_with(&self, auth: Value) -> Value {
        let mut block = json!({
            "type": "sftp",
            "hostURI": HOST,
            "port": self.port,
            "username": USER,
        });
        if let Value::Object(auth) = auth {
            for (k, v) in auth {
                block[k] = v;
            }
        }
        block
    }

    /// A connection document (`{"type": "ftp", "ftp": {"type": "sftp", …}}`) logging in with
    /// the password.
    pub fn connection(&self) -> Value {
        json!({"type": "ftp", "name": "Test SFTP server", "ftp": self.block()})
    }

    /// The path on disk of `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        under(self.root(), rel)
    }

    /// Make the directory `rel` and its parents, owned by the user.
    pub fn mkdir(&self, rel: &str) {
        let mut at = self.root().to_owned();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            at.push(part);
            if !at.is_dir() {
                std::fs::create_dir(&at).expect("making a directory");
                self.own(&at);
            }
        }
    }

    /// Write the file `rel` (making its directory), owned by the user.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        if let Some((dir, _)) = rel.rsplit_once('/') {
            self.mkdir(dir);
        }
        let path = self.path(rel);
        std::fs::write(&path, bytes).expect("writing a file");
        self.own(&path);
    }

    /// Hand `path` to the user.
    pub fn own(&self, path: &Path) {
        let meta = std::fs::metadata(path).expect("a file's metadata");
        if meta.uid() != self.uid || meta.gid() != self.gid {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).expect("chown");
        }
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

    /// What sshd logged (errors only).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.keys.path().join("sshd.log")).unwrap_or_default()
    }
}
