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
    use serde_json::json;
    use test_servers::SftpServer;

    use super::*;
    use crate::adaptor::files::FileClient;

    #[test]
    fn fingerprints_compare_without_prefix_and_padding() {
        assert_eq!(bare_fingerprint(" SHA256:abc+/= "), "abc+/");
        assert_eq!(bare_fingerprint("abc"), "abc");
    }

    // --- a real server: OpenSSH's sshd on loopback (test_servers::SftpServer) ---
    //
    // Each test starts its own sshd (as root), logging in a throwaway system user whose files
    // live in a temp dir. Without sshd or ssh-keygen, or when not root, the tests are skipped
    // with the reason printed, except in CI (`CI` set) where they fail.

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
        let Some(sshd) = SftpServer::start() else {
            return;
        };
        sshd.mkdir("in");
        sshd.mkdir("in/sub");
        sshd.mkdir("archive");
        std::fs::write(sshd.root().join("in/a.csv"), "id\n1\n").expect("a");
        std::fs::write(sshd.root().join("in/b.json"), "[]").expect("b");
        std::os::unix::fs::symlink("b.json", sshd.root().join("in/link.csv")).expect("ln");
        std::os::unix::fs::symlink("sub", sshd.root().join("in/dirlink")).expect("ln");

        let connection = json!({
            "type": "ftp",
            "ftp": sshd.block_with(json!({"privateKey": sshd.private_key()})),
        });
        let mut client = FileClient::connect(&connection).await.expect("connect");
        client.ping().await.expect("ping");

        let files = client.list(&sshd.remote("in")).await.expect("list");
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
        let remote = sshd.remote("in/big.bin");
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
            .download(&sshd.remote("in/gone.csv"), &local.path().join("gone"))
            .await
            .expect_err("missing");
        assert_eq!(missing.code, "file_not_found", "{missing:?}");
        assert!(!local.path().join("gone").exists());

        client
            .rename(&sshd.remote("in/a.csv"), &sshd.remote("archive/a.csv"))
            .await
            .expect("rename");
        assert!(sshd.root().join("archive/a.csv").exists());
        assert!(!sshd.root().join("in/a.csv").exists());
        // Moving a file over one of the same name replaces it.
        std::fs::write(sshd.root().join("in/a.csv"), "new").expect("a again");
        client
            .rename(&sshd.remote("in/a.csv"), &sshd.remote("archive/a.csv"))
            .await
            .expect("rename over");
        assert_eq!(
            std::fs::read_to_string(sshd.root().join("archive/a.csv")).expect("moved"),
            "new"
        );

        client
            .delete(&sshd.remote("in/b.json"))
            .await
            .expect("delete");
        assert!(!sshd.root().join("in/b.json").exists());
        assert_eq!(
            client
                .delete(&sshd.remote("in/b.json"))
                .await
                .expect_err("twice")
                .code,
            "file_not_found"
        );
        let names: Vec<_> = client
            .list(&sshd.remote("in"))
            .await
            .expect("list")
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, vec!["big.bin"]);
    }

    #[tokio::test]
    async fn sftp_logs_in_with_a_password_or_an_encrypted_rsa_key() {
        let Some(sshd) = SftpServer::start() else {
            return;
        };
        std::fs::write(sshd.root().join("x.txt"), "xyz").expect("x");
        let mut client =
            SftpClient::connect(&sshd.block_with(json!({"password": sshd.password()})))
                .await
                .expect("password");
        client.ping().await.expect("ping");
        assert_eq!(
            client.list(&sshd.remote("")).await.expect("list"),
            vec![FileEntry {
                name: "x.txt".into(),
                size: Some(3)
            }]
        );

        let rsa = sshd.block_with(
            json!({"privateKey": sshd.encrypted_rsa_key(), "passphrase": sshd.passphrase()}),
        );
        SftpClient::connect(&rsa)
            .await
            .expect("rsa key")
            .ping()
            .await
            .expect("ping");

        // A refused key falls back to the password.
        let both =
            sshd.block_with(json!({"privateKey": sshd.host_key(), "password": sshd.password()}));
        SftpClient::connect(&both).await.expect("key then password");
    }

    #[tokio::test]
    async fn a_wrong_sftp_password_key_or_passphrase_is_an_auth_error() {
        let Some(sshd) = SftpServer::start() else {
            return;
        };
        for auth in [
            json!({"password": "wrong-password"}),
            json!({"privateKey": sshd.host_key()}),
            json!({"privateKey": sshd.encrypted_rsa_key(), "passphrase": "wrong-password"}),
            json!({"privateKey": sshd.encrypted_rsa_key()}),
            json!({"privateKey": "not a key", "password": "wrong-password"}),
        ] {
            let error = SftpClient::connect(&sshd.block_with(auth.clone()))
                .await
                .err()
                .expect("refused");
            assert!(error.auth, "{auth}: {error:?}");
            assert_eq!(error.code, "auth_failed");
            assert!(!error.message.contains("wrong-password"), "{error:?}");
        }
        let error = SftpClient::connect(&sshd.block_with(json!({"password": "wrong-password"})))
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
        let Some(sshd) = SftpServer::start() else {
            return;
        };
        let fingerprint = &sshd.host_key_fingerprint();
        let good = sshd
            .block_with(json!({"password": sshd.password(), "hostKeyFingerprint": fingerprint}));
        SftpClient::connect(&good)
            .await
            .expect("pinned key matches");

        let bad = sshd.block_with(json!({"password": sshd.password(), "hostKeyFingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}));
        let error = SftpClient::connect(&bad).await.err().expect("mismatch");
        assert_eq!(error.code, "host_key_mismatch");
        assert!(error.message.contains(fingerprint), "{error:?}");
    }

    #[tokio::test]
    async fn a_dropped_sftp_connection_is_opened_again() {
        let Some(sshd) = SftpServer::start() else {
            return;
        };
        std::fs::write(sshd.root().join("x.txt"), "x").expect("x");
        let mut client =
            SftpClient::connect(&sshd.block_with(json!({"password": sshd.password()})))
                .await
                .expect("connect");
        if let Some(live) = client.live.as_ref() {
            let _ = live.sftp.close().await;
        }
        client.last_used = Instant::now() - CHECK_AFTER * 2;
        assert_eq!(client.list(&sshd.remote("")).await.expect("list").len(), 1);
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
