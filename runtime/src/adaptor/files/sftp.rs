//! SFTP client (SSH through russh with ring crypto, the SFTP subsystem through russh-sftp).
//!
//! The connection's `ftp` block with `type: sftp`: `hostURI` (a host name or IP, optionally
//! `host:port`), `port` (used when `hostURI` has none; 22 by default), `username`, and
//! `password` and/or `privateKey` (OpenSSH, PKCS#1/PKCS#8 PEM or PuTTY key text) with its
//! `passphrase` when the key is encrypted. With both, the key is tried first.
//!
//! Host keys: any host key is accepted, as integrator.io's SFTP connections do not pin host
//! keys either. `ftp.hostKeyFingerprint` (the `SHA256:…` form `ssh-keygen -lf` prints) pins
//! it: a server showing another key is refused with `host_key_mismatch`.
//!
//! Transfers stream between the remote file and a local file in 256 KiB chunks (the SFTP
//! layer keeps up to 16 requests in flight), so a file's size never shows in memory. One SSH
//! connection and SFTP session are kept for the client's life; when idle for a while they are
//! checked first and opened again if the server dropped them.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::StatusCode;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::FileEntry;
use super::ftp::{Address, CONNECT_TIMEOUT, CopyError, IDLE_TIMEOUT, copy, local_io, unreachable};
use crate::adaptor::AdaptorError;

/// A connection unused for longer than this is checked before it is used again.
const CHECK_AFTER: Duration = Duration::from_secs(30);

/// How the client proves who it is.
struct Credentials {
    username: String,
    password: Option<String>,
    key: Option<Arc<PrivateKey>>,
}

/// The settings of a connection's `ftp` block.
struct Settings {
    address: Address,
    credentials: Credentials,
    /// `ftp.hostKeyFingerprint`, without its `SHA256:` prefix and padding.
    fingerprint: Option<String>,
}

/// A live SSH connection with its SFTP session.
struct Live {
    sftp: SftpSession,
    ssh: Handle<HostKey>,
}

/// A connection to a SFTP server.
pub struct SftpClient {
    settings: Settings,
    live: Option<Live>,
    last_used: Instant,
}

/// Checks the server's host key (see the module's documentation) and remembers it.
struct HostKey {
    pinned: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256)
            }
        }
        .to_string();
        let matches = self
            .pinned
            .as_ref()
            .is_none_or(|pinned| *pinned == bare_fingerprint(&fingerprint));
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(fingerprint);
        Ok(matches)
    }
}

/// `SHA256:abc=` → `abc`.
fn bare_fingerprint(fingerprint: &str) -> String {
    let fingerprint = fingerprint.trim();
    let fingerprint = fingerprint
        .strip_prefix("SHA256:")
        .or_else(|| fingerprint.strip_prefix("sha256:"))
        .unwrap_or(fingerprint);
    fingerprint.trim_end_matches('=').to_owned()
}

fn auth_error(message: String) -> AdaptorError {
    AdaptorError {
        code: "auth_failed".into(),
        message,
        status: None,
        auth: true,
    }
}

impl SftpClient {
    /// Connect with the connection's block.
    pub async fn connect(block: &Value) -> Result<Self, AdaptorError> {
        let text = |field: &str| {
            block[field]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let address = Address::of(block, 22)?;
        let Some(username) = text("username") else {
            return Err(AdaptorError::new(
                "missing_field",
                "a SFTP connection needs ftp.username",
            ));
        };
        let key = match text("privateKey") {
            Some(pem) => {
                let passphrase = text("passphrase");
                let key =
                    russh::keys::decode_secret_key(&pem, passphrase.as_deref()).map_err(|e| {
                        auth_error(match (e, &passphrase) {
                            (russh::keys::Error::KeyIsEncrypted, None) => {
                                "the private key is encrypted: ftp.passphrase is needed".into()
                            }
                            (_, Some(_)) => "the private key cannot be read (a wrong \
                                             ftp.passphrase, or not a private key)"
                                .into(),
                            (e, None) => format!("the private key cannot be read: {e}"),
                        })
                    })?;
                Some(Arc::new(key))
            }
            None => None,
        };
        let password = text("password");
        if key.is_none() && password.is_none() {
            return Err(AdaptorError::new(
                "missing_field",
                "a SFTP connection needs ftp.password or ftp.privateKey",
            ));
        }
        let settings = Settings {
            address,
            credentials: Credentials {
                username,
                password,
                key,
            },
            fingerprint: text("hostKeyFingerprint").map(|f| bare_fingerprint(&f)),
        };
        let live = open(&settings).await?;
        Ok(SftpClient {
            settings,
            live: Some(live),
            last_used: Instant::now(),
        })
    }

    /// The SFTP session: the current one when it still answers, else a new one.
    async fn sftp(&mut self) -> Result<&SftpSession, AdaptorError> {
        let stale = match &self.live {
            Some(live) if live.ssh.is_closed() => true,
            Some(live) if self.last_used.elapsed() > CHECK_AFTER => !matches!(
                tokio::time::timeout(Duration::from_secs(10), live.sftp.canonicalize(".")).await,
                Ok(Ok(_))
            ),
            Some(_) => false,
            None => true,
        };
        if stale {
            self.live = None;
            self.live = Some(open(&self.settings).await?);
        }
        self.last_used = Instant::now();
        Ok(&self.live.as_ref().expect("opened just above").sftp)
    }

    /// The error for `e` while doing `what`; drops the connection when it broke.
    fn failed(&mut self, what: &str, e: SftpError) -> AdaptorError {
        if !matches!(e, SftpError::Status(_)) {
            self.live = None;
        }
        error(what, e)
    }

    /// Check the server answers.
    pub async fn ping(&mut self) -> Result<(), AdaptorError> {
        let result = self.sftp().await?.canonicalize(".").await;
        result.map(|_| ()).map_err(|e| self.failed("ping", e))
    }

    /// Files in a directory.
    pub async fn list(&mut self, directory: &str) -> Result<Vec<FileEntry>, AdaptorError> {
        let directory = if directory.is_empty() { "." } else { directory };
        let what = format!("listing '{directory}'");
        let sftp = self.sftp().await?;
        let entries = match sftp.read_dir(directory).await {
            Ok(entries) => entries,
            Err(e) => return Err(self.failed(&what, e)),
        };
        let mut files = Vec::new();
        let mut links = Vec::new();
        for entry in entries {
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let metadata = entry.metadata();
            match kind(&metadata) {
                Kind::File => files.push(FileEntry {
                    name,
                    size: metadata.size,
                }),
                Kind::Link => links.push(name),
                Kind::Other => {}
            }
        }
        // A link counts when it leads to a file.
        for name in links {
            let path = super::join(directory, &name);
            let sftp = self.sftp().await?;
            match sftp.metadata(path).await {
                Ok(metadata) if kind(&metadata) == Kind::File => files.push(FileEntry {
                    name,
                    size: metadata.size,
                }),
                Ok(_) | Err(SftpError::Status(_)) => {}
                Err(e) => return Err(self.failed(&what, e)),
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Download to a local file.
    pub async fn download(&mut self, path: &str, to: &Path) -> Result<u64, AdaptorError> {
        let what = format!("downloading '{path}'");
        let sftp = self.sftp().await?;
        let mut remote = match sftp.open(path).await {
            Ok(remote) => remote,
            Err(e) => return Err(self.failed(&what, e)),
        };
        // Only once the server has the file, so a missing one leaves no local file behind.
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| local_io(to, e))?;
        let bytes = match copy(&mut remote, &mut file).await {
            Ok(bytes) => bytes,
            Err(CopyError::Read(e)) => {
                drop(remote);
                return Err(self.failed(&what, e.into()));
            }
            Err(CopyError::Write(e)) => return Err(local_io(to, e)),
        };
        if let Err(e) = closed(remote.close()).await {
            return Err(self.failed(&what, e.into()));
        }
        file.sync_all().await.map_err(|e| local_io(to, e))?;
        Ok(bytes)
    }

    /// Upload a local file.
    pub async fn upload(&mut self, from: &Path, path: &str) -> Result<(), AdaptorError> {
        let what = format!("uploading '{path}'");
        let mut file = tokio::fs::File::open(from)
            .await
            .map_err(|e| local_io(from, e))?;
        let sftp = self.sftp().await?;
        let mut remote = match sftp.create(path).await {
            Ok(remote) => remote,
            Err(e) => return Err(self.failed(&what, e)),
        };
        match copy(&mut file, &mut remote).await {
            Ok(_) => {}
            Err(CopyError::Read(e)) => {
                let _ = closed(remote.shutdown()).await;
                return Err(local_io(from, e));
            }
            Err(CopyError::Write(e)) => {
                drop(remote);
                return Err(self.failed(&what, e.into()));
            }
        }
        closed(remote.close())
            .await
            .map_err(|e| self.failed(&what, e.into()))
    }

    /// Delete a file.
    pub async fn delete(&mut self, path: &str) -> Result<(), AdaptorError> {
        let result = self.sftp().await?.remove_file(path).await;
        result.map_err(|e| self.failed(&format!("deleting '{path}'"), e))
    }

    /// Move a file.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), AdaptorError> {
        let what = format!("moving '{from}' to '{to}'");
        let sftp = self.sftp().await?;
        let result = match sftp.rename(from, to).await {
            // SFTP v3 does not replace an existing file: replace it like FTP and S3 do.
            Err(SftpError::Status(status))
                if status.status_code == StatusCode::Failure
                    && sftp
                        .metadata(from)
                        .await
                        .is_ok_and(|m| kind(&m) == Kind::File)
                    && sftp
                        .metadata(to)
                        .await
                        .is_ok_and(|m| kind(&m) == Kind::File) =>
            {
                match sftp.remove_file(to).await {
                    Ok(()) => sftp.rename(from, to).await,
                    Err(e) => Err(e),
                }
            }
            result => result,
        };
        result.map_err(|e| self.failed(&what, e))
    }
}

/// What a directory entry is.
#[derive(Debug, PartialEq)]
enum Kind {
    File,
    Link,
    Other,
}

/// The type bits of `metadata`'s mode (`S_IFMT`; russh-sftp's `is_regular` also says yes for
/// links, whose type bits include the regular file's). Without a mode, a file.
fn kind(metadata: &russh_sftp::client::fs::Metadata) -> Kind {
    match metadata.permissions.map(|mode| mode & 0o170000) {
        None | Some(0o100000) => Kind::File,
        Some(0o120000) => Kind::Link,
        Some(_) => Kind::Other,
    }
}

/// Closing a remote file, within [`IDLE_TIMEOUT`].
async fn closed(
    close: impl std::future::Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    tokio::time::timeout(IDLE_TIMEOUT, close)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the server did not confirm the file was closed (timed out)",
            ))
        })
}

/// The error for `e` while doing `what`.
fn error(what: &str, e: SftpError) -> AdaptorError {
    match e {
        SftpError::Status(status) => {
            let text = if status.error_message.trim().is_empty() {
                status.status_code.to_string()
            } else {
                status.error_message.trim().to_owned()
            };
            let code = match status.status_code {
                StatusCode::NoSuchFile => "file_not_found",
                StatusCode::PermissionDenied => "permission_denied",
                _ => "sftp_error",
            };
            AdaptorError::new(code, format!("{what}: {text}"))
        }
        SftpError::IO(message) => AdaptorError::new(
            "connection",
            format!("{what}: the connection to the SFTP server failed: {message}"),
        ),
        SftpError::Timeout => AdaptorError::new(
            "connection",
            format!("{what}: no answer from the SFTP server (timed out)"),
        ),
        e => AdaptorError::new("sftp_error", format!("{what}: {e}")),
    }
}

/// Connect, check the host key, log in and start the SFTP subsystem.
async fn open(settings: &Settings) -> Result<Live, AdaptorError> {
    let address = &settings.address;
    let tcp = address.connect("SFTP").await?;
    let config = Arc::new(client::Config {
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        nodelay: true,
        ..client::Config::default()
    });
    let seen = Arc::new(Mutex::new(None));
    let handler = HostKey {
        pinned: settings.fingerprint.clone(),
        seen: seen.clone(),
    };
    let run = async {
        let mut ssh = client::connect_stream(config, tcp, handler)
            .await
            .map_err(|e| match e {
                russh::Error::UnknownKey => AdaptorError::new(
                    "host_key_mismatch",
                    format!(
                        "the SFTP server at {address} shows the host key {}, not the one of \
                         ftp.hostKeyFingerprint",
                        seen.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .as_deref()
                            .unwrap_or("(unknown)")
                    ),
                ),
                russh::Error::IO(e) => unreachable("SFTP", address, e),
                e => AdaptorError::new(
                    "ssh",
                    format!("the SSH handshake with {address} failed: {e}"),
                ),
            })?;
        let ssh_failed = |e: russh::Error| {
            AdaptorError::new("ssh", format!("the SSH session with {address} failed: {e}"))
        };
        let credentials = &settings.credentials;
        let mut accepted = false;
        if let Some(key) = &credentials.key {
            let hash = if key.algorithm().is_rsa() {
                ssh.best_supported_rsa_hash()
                    .await
                    .map_err(ssh_failed)?
                    .flatten()
            } else {
                None
            };
            accepted = ssh
                .authenticate_publickey(
                    credentials.username.as_str(),
                    PrivateKeyWithHashAlg::new(key.clone(), hash),
                )
                .await
                .map_err(ssh_failed)?
                .success();
        }
        if !accepted && let Some(password) = &credentials.password {
            accepted = ssh
                .authenticate_password(credentials.username.as_str(), password.as_str())
                .await
                .map_err(ssh_failed)?
                .success();
        }
        if !accepted {
            if ssh.is_closed() {
                return Err(AdaptorError::new(
                    "ssh",
                    format!("the SFTP server at {address} closed the connection during login"),
                ));
            }
            return Err(auth_error(format!(
                "the SFTP server refused the user or {}",
                match (&credentials.key, &credentials.password) {
                    (Some(_), Some(_)) => "the private key and the password",
                    (Some(_), None) => "the private key",
                    _ => "password",
                }
            )));
        }
        let channel = ssh.channel_open_session().await.map_err(ssh_failed)?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(ssh_failed)?;
        let sftp = SftpSession::new_with_config(
            channel.into_stream(),
            russh_sftp::client::Config {
                request_timeout_secs: IDLE_TIMEOUT.as_secs(),
                ..russh_sftp::client::Config::default()
            },
        )
        .await
        .map_err(|e| {
            AdaptorError::new(
                "ssh",
                format!("the SFTP subsystem of {address} does not answer: {e}"),
            )
        })?;
        Ok(Live { sftp, ssh })
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, run).await {
        Ok(result) => result,
        Err(_) => Err(unreachable(
            "SFTP",
            address,
            "no answer to the SSH handshake or login (timed out)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Child, Command, Stdio};
    use std::sync::OnceLock;

    use serde_json::json;

    use super::*;
    use crate::adaptor::files::FileClient;

    #[test]
    fn fingerprints_compare_without_prefix_and_padding() {
        assert_eq!(bare_fingerprint(" SHA256:abc+/= "), "abc+/");
        assert_eq!(bare_fingerprint("abc"), "abc");
    }

    // --- a real server: OpenSSH's sshd on loopback ---
    //
    // Each test starts `/usr/sbin/sshd -D` as root on a free loopback port with a throwaway
    // host key, two throwaway user keys (ed25519, and RSA in PEM with a passphrase) listed in
    // an `AuthorizedKeysFile` in a temp dir (`StrictModes no`), password logins on without PAM
    // and `internal-sftp` forced. It logs in as the system user `integrator-sftp-test` (no
    // home, no shell), which the first test creates with `useradd` and a throwaway password
    // (`chpasswd`); its files live in a temp dir it owns. Without sshd or ssh-keygen, or when
    // not root, the tests are skipped with the reason printed, except in CI (`CI` set) where
    // they fail.

    /// The system user the tests log in as (created once, as root).
    const USER: &str = "integrator-sftp-test";
    const PASSWORD: &str = "Throwaway-sftp-pass-1";
    const PASSPHRASE: &str = "key passphrase";
    const SSHD: &str = "/usr/sbin/sshd";

    /// Skip (printing why) outside CI; fail in CI.
    fn skip(reason: &str) -> Option<Sshd> {
        assert!(std::env::var_os("CI").is_none(), "{reason}");
        eprintln!("skipped: {reason}");
        None
    }

    fn run(command: &mut Command) -> bool {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

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

    /// A sshd for the test user, with throwaway host and user keys; stopped when dropped.
    struct Sshd {
        child: Child,
        port: u16,
        /// Host key, user keys, authorized_keys and the configuration.
        keys: tempfile::TempDir,
        /// The test user's files.
        files: tempfile::TempDir,
    }

    impl Drop for Sshd {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Sshd {
        fn start() -> Option<Sshd> {
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
                return skip("the SFTP tests run sshd as root to log in as a test user");
            }
            let (uid, gid) = test_user().unwrap_or_else(|e| panic!("test user: {e}"));
            let _ = std::fs::create_dir_all("/run/sshd");

            let keys = tempfile::tempdir().expect("keys");
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
                std::fs::read_to_string(dir.join("user_ed25519.pub")).expect("pub");
            authorized.push_str(&std::fs::read_to_string(dir.join("user_rsa.pub")).expect("pub"));
            std::fs::write(dir.join("authorized_keys"), authorized).expect("authorized_keys");
            // sshd reads authorized_keys as the user.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            std::fs::set_permissions(
                dir.join("authorized_keys"),
                std::fs::Permissions::from_mode(0o644),
            )
            .expect("chmod");

            let files = tempfile::tempdir().expect("files");
            std::os::unix::fs::chown(files.path(), Some(uid), Some(gid)).expect("chown");

            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let config = format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {dir}/host_ed25519\nPidFile none\n\
                 UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nAuthorizedKeysFile {dir}/authorized_keys\n\
                 StrictModes no\nPermitRootLogin no\nAllowUsers {USER}\nMaxStartups 100\n\
                 MaxAuthTries 10\nSubsystem sftp internal-sftp\nForceCommand internal-sftp\n\
                 LogLevel ERROR\n",
                dir = dir.display()
            );
            std::fs::write(dir.join("sshd_config"), config).expect("config");
            let log = std::fs::File::create(dir.join("sshd.log")).expect("log");
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(dir.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if started.elapsed() > Duration::from_secs(10)
                    || child.try_wait().ok().flatten().is_some()
                {
                    let _ = child.kill();
                    panic!(
                        "sshd did not start: {}",
                        std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Some(Sshd {
                child,
                port,
                keys,
                files,
            })
        }

        fn key(&self, name: &str) -> String {
            std::fs::read_to_string(self.keys.path().join(name)).expect("key")
        }

        fn block(&self, auth: Value) -> Value {
            let mut block = json!({
                "type": "sftp",
                "hostURI": format!("127.0.0.1:{}", self.port),
                "username": USER,
            });
            for (k, v) in auth.as_object().expect("auth").clone() {
                block[k] = v;
            }
            block
        }

        /// A path of the test user's files.
        fn path(&self, name: &str) -> String {
            format!("{}/{name}", self.files.path().display())
        }

        /// A directory of the test user's files, made (as root) with the user as owner.
        fn mkdir(&self, name: &str) {
            let path = self.files.path().join(name);
            std::fs::create_dir(&path).expect("mkdir");
            let meta = std::fs::metadata(self.files.path()).expect("meta");
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::chown(&path, Some(meta.uid()), Some(meta.gid())).expect("chown");
        }
    }

    fn payload(len: usize) -> Vec<u8> {
        let mut state = 0x9e37_79b9_u32;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 7) as u8
            })
            .collect()
    }

    #[tokio::test]
    async fn sftp_with_a_private_key_lists_uploads_downloads_moves_and_deletes_files() {
        let Some(sshd) = Sshd::start() else {
            return;
        };
        sshd.mkdir("in");
        sshd.mkdir("in/sub");
        sshd.mkdir("archive");
        std::fs::write(sshd.files.path().join("in/a.csv"), "id\n1\n").expect("a");
        std::fs::write(sshd.files.path().join("in/b.json"), "[]").expect("b");
        std::os::unix::fs::symlink("b.json", sshd.files.path().join("in/link.csv")).expect("ln");
        std::os::unix::fs::symlink("sub", sshd.files.path().join("in/dirlink")).expect("ln");

        let connection = json!({
            "type": "ftp",
            "ftp": sshd.block(json!({"privateKey": sshd.key("user_ed25519")})),
        });
        let mut client = FileClient::connect(&connection).await.expect("connect");
        client.ping().await.expect("ping");

        let files = client.list(&sshd.path("in")).await.expect("list");
        assert_eq!(
            files,
            vec![
                FileEntry {
                    name: "a.csv".into(),
                    size: Some(5)
                },
                FileEntry {
                    name: "b.json".into(),
                    size: Some(2)
                },
                FileEntry {
                    name: "link.csv".into(),
                    size: Some(2)
                },
            ]
        );

        let local = tempfile::tempdir().expect("local");
        let big = payload(10 * 1024 * 1024 + 13);
        let source = local.path().join("big.bin");
        std::fs::write(&source, &big).expect("write");
        let remote = sshd.path("in/big.bin");
        client.upload(&source, &remote).await.expect("upload");
        assert!(std::fs::read(&remote).expect("uploaded") == big);
        let back = local.path().join("back.bin");
        assert_eq!(
            client.download(&remote, &back).await.expect("download"),
            big.len() as u64
        );
        assert!(std::fs::read(&back).expect("downloaded") == big);
        // Uploading again replaces the file.
        std::fs::write(&source, b"small").expect("write");
        client.upload(&source, &remote).await.expect("upload again");
        assert_eq!(std::fs::read(&remote).expect("replaced"), b"small");

        let missing = client
            .download(&sshd.path("in/gone.csv"), &local.path().join("gone"))
            .await
            .expect_err("missing");
        assert_eq!(missing.code, "file_not_found", "{missing:?}");
        assert!(!local.path().join("gone").exists());

        client
            .rename(&sshd.path("in/a.csv"), &sshd.path("archive/a.csv"))
            .await
            .expect("rename");
        assert!(sshd.files.path().join("archive/a.csv").exists());
        assert!(!sshd.files.path().join("in/a.csv").exists());
        // Moving a file over one of the same name replaces it.
        std::fs::write(sshd.files.path().join("in/a.csv"), "new").expect("a again");
        client
            .rename(&sshd.path("in/a.csv"), &sshd.path("archive/a.csv"))
            .await
            .expect("rename over");
        assert_eq!(
            std::fs::read_to_string(sshd.files.path().join("archive/a.csv")).expect("moved"),
            "new"
        );

        client
            .delete(&sshd.path("in/b.json"))
            .await
            .expect("delete");
        assert!(!sshd.files.path().join("in/b.json").exists());
        assert_eq!(
            client
                .delete(&sshd.path("in/b.json"))
                .await
                .expect_err("twice")
                .code,
            "file_not_found"
        );
        let names: Vec<_> = client
            .list(&sshd.path("in"))
            .await
            .expect("list")
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, vec!["big.bin"]);
    }

    #[tokio::test]
    async fn sftp_logs_in_with_a_password_or_an_encrypted_rsa_key() {
        let Some(sshd) = Sshd::start() else {
            return;
        };
        std::fs::write(sshd.files.path().join("x.txt"), "xyz").expect("x");
        let mut client = SftpClient::connect(&sshd.block(json!({"password": PASSWORD})))
            .await
            .expect("password");
        client.ping().await.expect("ping");
        assert_eq!(
            client.list(&sshd.path("")).await.expect("list"),
            vec![FileEntry {
                name: "x.txt".into(),
                size: Some(3)
            }]
        );

        let rsa = sshd.block(json!({"privateKey": sshd.key("user_rsa"), "passphrase": PASSPHRASE}));
        SftpClient::connect(&rsa)
            .await
            .expect("rsa key")
            .ping()
            .await
            .expect("ping");

        // A refused key falls back to the password.
        let both =
            sshd.block(json!({"privateKey": sshd.key("host_ed25519"), "password": PASSWORD}));
        SftpClient::connect(&both).await.expect("key then password");
    }

    #[tokio::test]
    async fn a_wrong_sftp_password_key_or_passphrase_is_an_auth_error() {
        let Some(sshd) = Sshd::start() else {
            return;
        };
        for auth in [
            json!({"password": "wrong-password"}),
            json!({"privateKey": sshd.key("host_ed25519")}),
            json!({"privateKey": sshd.key("user_rsa"), "passphrase": "wrong-password"}),
            json!({"privateKey": sshd.key("user_rsa")}),
            json!({"privateKey": "not a key", "password": "wrong-password"}),
        ] {
            let error = SftpClient::connect(&sshd.block(auth.clone()))
                .await
                .err()
                .expect("refused");
            assert!(error.auth, "{auth}: {error:?}");
            assert_eq!(error.code, "auth_failed");
            assert!(!error.message.contains("wrong-password"), "{error:?}");
        }
        let error = SftpClient::connect(&sshd.block(json!({"password": "wrong-password"})))
            .await
            .err()
            .expect("refused");
        assert!(
            error.message.contains("refused the user or password"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_sftp_port_or_unknown_host_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let block = json!({"type": "sftp", "hostURI": "127.0.0.1", "port": port, "username": "u", "password": "p4ssw0rd"});
        let error = SftpClient::connect(&block).await.err().expect("refused");
        assert_eq!(error.code, "unreachable");
        assert!(
            error.message.contains(&format!("127.0.0.1:{port}")),
            "{error:?}"
        );
        assert!(!error.message.contains("p4ssw0rd") && !error.auth);

        let block = json!({"type": "sftp", "hostURI": "no-such-host.invalid", "username": "u", "password": "p4ssw0rd"});
        let error = SftpClient::connect(&block)
            .await
            .err()
            .expect("unknown host");
        assert_eq!(error.code, "unreachable");
        assert!(
            error.message.contains("no-such-host.invalid:22"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_pinned_host_key_fingerprint_must_match() {
        let Some(sshd) = Sshd::start() else {
            return;
        };
        let output = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(sshd.keys.path().join("host_ed25519.pub"))
            .output()
            .expect("ssh-keygen -l");
        let listed = String::from_utf8_lossy(&output.stdout).to_string();
        let fingerprint = listed.split_whitespace().nth(1).expect("fingerprint");
        let good = sshd.block(json!({"password": PASSWORD, "hostKeyFingerprint": fingerprint}));
        SftpClient::connect(&good)
            .await
            .expect("pinned key matches");

        let bad = sshd.block(json!({"password": PASSWORD, "hostKeyFingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}));
        let error = SftpClient::connect(&bad).await.err().expect("mismatch");
        assert_eq!(error.code, "host_key_mismatch");
        assert!(error.message.contains(fingerprint), "{error:?}");
    }

    #[tokio::test]
    async fn a_dropped_sftp_connection_is_opened_again() {
        let Some(sshd) = Sshd::start() else {
            return;
        };
        std::fs::write(sshd.files.path().join("x.txt"), "x").expect("x");
        let mut client = SftpClient::connect(&sshd.block(json!({"password": PASSWORD})))
            .await
            .expect("connect");
        if let Some(live) = client.live.as_ref() {
            let _ = live.sftp.close().await;
        }
        client.last_used = Instant::now() - CHECK_AFTER * 2;
        assert_eq!(client.list(&sshd.path("")).await.expect("list").len(), 1);
    }

    #[test]
    fn the_client_futures_can_move_between_threads() {
        fn send<T: Send>(_: T) {}
        let path = Path::new("x");
        send(SftpClient::connect(&Value::Null));
        send(super::super::ftp::FtpClient::connect(&Value::Null));
        send(async {
            let mut client = FileClient::connect(&Value::Null).await.expect("never run");
            let _ = client.list("d").await;
            let _ = client.download("a", path).await;
            let _ = client.upload(path, "a").await;
            let _ = client.rename("a", "b").await;
            let _ = client.delete("a").await;
            let _ = client.ping().await;
        });
    }
}
