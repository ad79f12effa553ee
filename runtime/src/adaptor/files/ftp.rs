//! FTP and FTPS client (suppaftp over tokio, TLS through rustls with ring).
//!
//! The connection's `ftp` block: `hostURI` (a host name or IP, optionally `host:port`; a
//! `ftp://` prefix or a trailing path is ignored), `port` (used when `hostURI` has none; 21 by
//! default), `username` (default `anonymous`), `password` and `type` (`ftp`, or `ftps` for
//! explicit TLS: `AUTH TLS`, then `PBSZ 0` + `PROT P` so the data connections are encrypted
//! too). `ftp.tls.insecureSkipVerify: true` accepts any server certificate (self-signed ones,
//! test servers): the connection is still encrypted but no longer authenticated, so use it only
//! where the network path is trusted. Without it the certificate must chain to a public root
//! (the Mozilla roots of `webpki-roots`) and match the host name.
//!
//! Transfers are binary (`TYPE I`) over passive data connections (`PASV`, with the address
//! the server gives replaced by the control connection's, which is what works behind NAT;
//! `EPSV` for IPv6 hosts), streamed between the data connection and a local file in 256 KiB
//! chunks. Listings use `MLSD` and fall back to `LIST` (unix and DOS formats) and then to
//! `NLST` + `SIZE` for servers without it.
//!
//! One control connection is kept for the client's life; when it was idle for a while it is
//! checked with `NOOP` first and opened again (with a new login) if the server dropped it.

use std::fmt::Display;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use suppaftp::list::ListParser;
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
use suppaftp::tokio_rustls::TlsConnector;
use suppaftp::tokio_rustls::rustls;
use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::FileEntry;
use crate::adaptor::AdaptorError;

/// How long opening the TCP connection, the TLS handshake and the login may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one command (not a transfer) may take.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a transfer may go without moving a byte.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Transfers move data in chunks of this size.
pub(crate) const CHUNK: usize = 256 * 1024;
/// A connection unused for longer than this is checked before it is used again.
const CHECK_AFTER: Duration = Duration::from_secs(30);

/// Where a connection's block points: host and port, and how to print them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Address {
    /// The host name or IP (no brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Address {
    /// `hostURI` (with an optional `:port`, `scheme://` and path) and `port` of `block`; the
    /// port in `hostURI` wins, then `port`, then `default_port`.
    pub(crate) fn of(block: &Value, default_port: u16) -> Result<Address, AdaptorError> {
        let raw = block["hostURI"].as_str().unwrap_or_default().trim();
        let raw = raw.split_once("://").map_or(raw, |(_, rest)| rest);
        let raw = raw.split('/').next().unwrap_or_default();
        let raw = raw.rsplit_once('@').map_or(raw, |(_, host)| host);
        let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
            let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
            (host, after.strip_prefix(':'))
        } else if raw.matches(':').count() == 1 {
            let (host, port) = raw.split_once(':').unwrap_or((raw, ""));
            (host, Some(port))
        } else {
            (raw, None)
        };
        if host.is_empty() {
            return Err(AdaptorError::new(
                "missing_field",
                "the connection needs ftp.hostURI (the server's host name or IP)",
            ));
        }
        let invalid = |port: &dyn Display| {
            AdaptorError::new("invalid_field", format!("'{port}' is not a valid port"))
        };
        let port = match port.filter(|p| !p.is_empty()) {
            Some(p) => p.parse::<u16>().map_err(|_| invalid(&p))?,
            None => match &block["port"] {
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| invalid(n))?,
                Value::String(s) if !s.trim().is_empty() => {
                    s.trim().parse::<u16>().map_err(|_| invalid(s))?
                }
                _ => default_port,
            },
        };
        if port == 0 {
            return Err(invalid(&port));
        }
        Ok(Address {
            host: host.to_owned(),
            port,
        })
    }

    /// Whether the host is an IPv6 address.
    fn is_ipv6(&self) -> bool {
        matches!(self.host.parse::<IpAddr>(), Ok(IpAddr::V6(_)))
    }

    /// Open a TCP connection, or an `unreachable` error naming `what` and the address.
    pub(crate) async fn connect(&self, what: &str) -> Result<tokio::net::TcpStream, AdaptorError> {
        match tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(e)) => Err(unreachable(what, self, e)),
            Err(_) => Err(unreachable(what, self, "no answer (timed out)")),
        }
    }
}

impl Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The server at `address` cannot be reached.
pub(crate) fn unreachable(what: &str, address: &Address, why: impl Display) -> AdaptorError {
    AdaptorError::new(
        "unreachable",
        format!("cannot reach the {what} server at {address}: {why}"),
    )
}

/// A problem with a local file.
pub(crate) fn local_io(path: &Path, e: impl Display) -> AdaptorError {
    AdaptorError::new("local_io", format!("{}: {e}", path.display()))
}

/// Why [`copy`] stopped.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading the source failed (or stalled).
    Read(std::io::Error),
    /// Writing the target failed (or stalled).
    Write(std::io::Error),
}

/// Copy `from` into `to` in [`CHUNK`]s until the end of `from`, failing when either side stays
/// stuck for [`IDLE_TIMEOUT`]; returns the bytes copied.
pub(crate) async fn copy<R, W>(from: &mut R, to: &mut W) -> Result<u64, CopyError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let stalled = || std::io::Error::new(std::io::ErrorKind::TimedOut, "the transfer stalled");
    let mut buffer = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match tokio::time::timeout(IDLE_TIMEOUT, from.read(&mut buffer)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(CopyError::Read(e)),
            Err(_) => return Err(CopyError::Read(stalled())),
        };
        match tokio::time::timeout(IDLE_TIMEOUT, to.write_all(&buffer[..n])).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(CopyError::Write(e)),
            Err(_) => return Err(CopyError::Write(stalled())),
        }
        total += n as u64;
    }
    match tokio::time::timeout(IDLE_TIMEOUT, to.flush()).await {
        Ok(Ok(())) => Ok(total),
        Ok(Err(e)) => Err(CopyError::Write(e)),
        Err(_) => Err(CopyError::Write(stalled())),
    }
}

/// The settings of a connection's `ftp` block.
struct Settings {
    address: Address,
    username: String,
    password: String,
    tls: Option<Tls>,
}

/// FTPS settings.
struct Tls {
    insecure_skip_verify: bool,
}

/// A connection to a FTP and FTPS server.
pub struct FtpClient {
    settings: Settings,
    /// The logged-in control connection; None after a failure that may have broken it.
    stream: Option<AsyncRustlsFtpStream>,
    last_used: Instant,
}

impl FtpClient {
    /// Connect with the connection's block.
    pub async fn connect(block: &Value) -> Result<Self, AdaptorError> {
        let secure = match block["type"].as_str().unwrap_or("ftp") {
            "ftp" => false,
            "ftps" => true,
            other => {
                return Err(AdaptorError::new(
                    "invalid_field",
                    format!("ftp.type '{other}' is not ftp or ftps"),
                ));
            }
        };
        let settings = Settings {
            address: Address::of(block, 21)?,
            username: block["username"]
                .as_str()
                .filter(|u| !u.is_empty())
                .unwrap_or("anonymous")
                .to_owned(),
            password: block["password"].as_str().unwrap_or_default().to_owned(),
            tls: secure.then(|| Tls {
                insecure_skip_verify: block["tls"]["insecureSkipVerify"].as_bool() == Some(true),
            }),
        };
        let stream = open(&settings).await?;
        Ok(FtpClient {
            settings,
            stream: Some(stream),
            last_used: Instant::now(),
        })
    }

    /// The logged-in control connection: the current one when it still answers, else a new one.
    async fn stream(&mut self) -> Result<&mut AsyncRustlsFtpStream, AdaptorError> {
        if self.last_used.elapsed() > CHECK_AFTER
            && let Some(stream) = self.stream.as_mut()
            && !matches!(
                tokio::time::timeout(Duration::from_secs(10), stream.noop()).await,
                Ok(Ok(()))
            )
        {
            self.stream = None;
        }
        if self.stream.is_none() {
            self.stream = Some(open(&self.settings).await?);
        }
        self.last_used = Instant::now();
        Ok(self.stream.as_mut().expect("opened just above"))
    }

    /// Run one command with [`COMMAND_TIMEOUT`]; a failure that may have left the control
    /// connection out of step drops it (the next call opens a new one).
    async fn command<T>(
        &mut self,
        what: &str,
        run: impl AsyncFnOnce(&mut AsyncRustlsFtpStream) -> Result<T, FtpError>,
    ) -> Result<T, AdaptorError> {
        let stream = self.stream().await?;
        let result = match tokio::time::timeout(COMMAND_TIMEOUT, run(stream)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(FtpError::ConnectionError(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer from the server (timed out)",
            ))),
        };
        result.map_err(|e| self.failed(what, e))
    }

    /// The error for `e` while doing `what`; drops the control connection unless the server
    /// simply answered no.
    fn failed(&mut self, what: &str, e: FtpError) -> AdaptorError {
        if !matches!(e, FtpError::UnexpectedResponse(_)) {
            self.stream = None;
        }
        error(what, e)
    }

    /// Check the server answers.
    pub async fn ping(&mut self) -> Result<(), AdaptorError> {
        self.command("ping", async |s| {
            s.noop().await?;
            s.pwd().await.map(|_| ())
        })
        .await
    }

    /// Files in a directory.
    pub async fn list(&mut self, directory: &str) -> Result<Vec<FileEntry>, AdaptorError> {
        let dir = (!directory.is_empty()).then_some(directory);
        let what = format!("listing '{}'", dir.unwrap_or("."));
        match self.command(&what, async |s| s.mlsd(dir).await).await {
            Ok(lines) => return Ok(parse_mlsd(&lines)),
            Err(e) if !not_implemented(&e) => return Err(e),
            Err(_) => {}
        }
        let lines = self.command(&what, async |s| s.list(dir).await).await?;
        if let Some(entries) = parse_list(&lines) {
            return Ok(entries);
        }
        // An unknown LIST format: names, then the size of each (directories have none).
        let names = self.command(&what, async |s| s.nlst(dir).await).await?;
        let mut entries = Vec::new();
        for name in names {
            let name = name.rsplit('/').next().unwrap_or_default().to_owned();
            if name.is_empty() || name == "." || name == ".." {
                continue;
            }
            let path = super::join(directory, &name);
            match self.command(&what, async |s| s.size(&path).await).await {
                Ok(size) => entries.push(FileEntry {
                    name,
                    size: Some(size as u64),
                }),
                Err(e) if e.code == "file_not_found" || e.code == "ftp_550" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(entries)
    }

    /// Download to a local file.
    pub async fn download(&mut self, path: &str, to: &Path) -> Result<u64, AdaptorError> {
        let what = format!("downloading '{path}'");
        let mut data = self
            .command(&what, async |s| s.retr_as_stream(path).await)
            .await
            .map_err(missing_on_550)?;
        // Only once the server has the file, so a missing one leaves no local file behind. (A
        // transfer dropped unfinished has its reply read by the next command.)
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| local_io(to, e))?;
        let copied = copy(&mut data, &mut file).await;
        let bytes = match copied {
            Ok(bytes) => bytes,
            Err(e) => {
                // The transfer's state is unknown: start over with a new connection next time.
                drop(data);
                self.stream = None;
                return Err(match e {
                    CopyError::Read(remote) => error(&what, FtpError::ConnectionError(remote)),
                    CopyError::Write(local) => local_io(to, local),
                });
            }
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, data.finish()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(self.failed(&what, e)),
            Err(_) => return Err(self.failed(&what, timed_out())),
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
        let mut data = self
            .command(&what, async |s| s.put_with_stream(path).await)
            .await?;
        if let Err(e) = copy(&mut file, &mut data).await {
            drop(data);
            self.stream = None;
            return Err(match e {
                CopyError::Read(local) => local_io(from, local),
                CopyError::Write(remote) => error(&what, FtpError::ConnectionError(remote)),
            });
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, data.finish()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.failed(&what, e)),
            Err(_) => Err(self.failed(&what, timed_out())),
        }
    }

    /// Delete a file.
    pub async fn delete(&mut self, path: &str) -> Result<(), AdaptorError> {
        self.command(&format!("deleting '{path}'"), async |s| s.rm(path).await)
            .await
            .map_err(missing_on_550)
    }

    /// Move a file.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), AdaptorError> {
        self.command(&format!("moving '{from}' to '{to}'"), async |s| {
            s.rename(from, to).await
        })
        .await
        .map_err(missing_on_550)
    }
}

fn timed_out() -> FtpError {
    FtpError::ConnectionError(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer from the server (timed out)",
    ))
}

/// Connect, switch to TLS for FTPS, log in and select binary transfers.
async fn open(settings: &Settings) -> Result<AsyncRustlsFtpStream, AdaptorError> {
    let address = &settings.address;
    let tcp = address.connect("FTP").await?;
    let run = async {
        let mut stream = AsyncRustlsFtpStream::connect_with_stream(tcp)
            .await
            .map_err(|e| match e {
                FtpError::ConnectionError(e) => unreachable("FTP", address, e),
                e => AdaptorError::new(
                    "invalid_response",
                    format!("{address} does not answer like a FTP server: {e}"),
                ),
            })?;
        if let Some(tls) = &settings.tls {
            let connector = AsyncRustlsConnector::from(TlsConnector::from(tls_config(tls)?));
            stream = stream
                .into_secure(connector, &address.host)
                .await
                .map_err(|e| match e {
                    FtpError::UnexpectedResponse(r) => AdaptorError::new(
                        "tls",
                        format!(
                            "the FTP server at {address} does not offer TLS (AUTH TLS): {}",
                            reply(&r)
                        ),
                    ),
                    e => AdaptorError::new(
                        "tls",
                        format!("TLS with the FTP server at {address} failed: {e}"),
                    ),
                })?;
        }
        stream
            .login(settings.username.as_str(), settings.password.as_str())
            .await
            .map_err(|e| match e {
                FtpError::UnexpectedResponse(r) if matches!(r.status.code(), 530 | 430) => {
                    AdaptorError {
                        code: "auth_failed".into(),
                        message: format!(
                            "the FTP server refused the user or password ({})",
                            reply(&r)
                        ),
                        status: None,
                        auth: true,
                    }
                }
                e => error("logging in", e),
            })?;
        stream
            .transfer_type(FileType::Binary)
            .await
            .map_err(|e| error("selecting binary transfers", e))?;
        stream.set_mode(if address.is_ipv6() {
            Mode::ExtendedPassive
        } else {
            Mode::Passive
        });
        stream.set_passive_nat_workaround(true);
        Ok(stream)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, run).await {
        Ok(result) => result,
        Err(_) => Err(unreachable(
            "FTP",
            address,
            "no answer to the greeting, TLS or login (timed out)",
        )),
    }
}

/// The rustls configuration for FTPS.
fn tls_config(tls: &Tls) -> Result<Arc<rustls::ClientConfig>, AdaptorError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| AdaptorError::new("tls", e.to_string()))?;
    let config = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `ftp.tls.insecureSkipVerify`: any certificate is accepted (the handshake signatures are
/// still checked, so the session key belongs to whoever holds the certificate's key).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The server's reply as text.
fn reply(r: &suppaftp::types::Response) -> String {
    let text = String::from_utf8_lossy(&r.body);
    let text = text.trim();
    if text.is_empty() {
        r.status.code().to_string()
    } else {
        text.to_owned()
    }
}

/// The error for `e` while doing `what`: `file_not_found` for a missing file (550/450 on a
/// file command), `auth_failed` for 530, `connection` when the control connection broke,
/// `ftp_<code>` for other refusals.
fn error(what: &str, e: FtpError) -> AdaptorError {
    match e {
        FtpError::UnexpectedResponse(r) => {
            let code = r.status.code();
            let text = reply(&r);
            let missing = matches!(code, 550 | 450)
                && [
                    "no such",
                    "not found",
                    "not exist",
                    "doesn't exist",
                    "cannot find",
                    "can't find",
                    "no files",
                ]
                .iter()
                .any(|m| text.to_ascii_lowercase().contains(m));
            if missing {
                AdaptorError::new("file_not_found", format!("{what}: {text}"))
            } else if code == 530 {
                AdaptorError {
                    code: "auth_failed".into(),
                    message: format!("{what}: the FTP server refused the user ({text})"),
                    status: None,
                    auth: true,
                }
            } else {
                AdaptorError::new(format!("ftp_{code}"), format!("{what}: {text}"))
            }
        }
        FtpError::ConnectionError(e) => AdaptorError::new(
            "connection",
            format!("{what}: the connection to the FTP server failed: {e}"),
        ),
        e => AdaptorError::new("ftp_error", format!("{what}: {e}")),
    }
}

/// For a command on one file: a 550 ("file unavailable") that is not about permissions means
/// the file is not there.
fn missing_on_550(e: AdaptorError) -> AdaptorError {
    let text = e.message.to_ascii_lowercase();
    if e.code == "ftp_550"
        && !["permission", "denied", "access"]
            .iter()
            .any(|m| text.contains(m))
    {
        AdaptorError::new("file_not_found", e.message)
    } else {
        e
    }
}

/// Whether the server does not know a command (so another one should be tried).
fn not_implemented(e: &AdaptorError) -> bool {
    matches!(
        e.code.as_str(),
        "ftp_500" | "ftp_501" | "ftp_502" | "ftp_504"
    )
}

/// The files of a `MLSD` answer (`fact=value;...; name` lines).
fn parse_mlsd(lines: &[String]) -> Vec<FileEntry> {
    let mut entries = Vec::new();
    for line in lines {
        let line = line.trim_end_matches(['\r', '\n']);
        let Some((facts, name)) = line.split_once(' ') else {
            continue;
        };
        let mut is_file = false;
        let mut size = None;
        for fact in facts.split(';') {
            let Some((key, value)) = fact.split_once('=') else {
                continue;
            };
            match key.to_ascii_lowercase().as_str() {
                "type" => is_file = value.eq_ignore_ascii_case("file"),
                "size" => size = value.parse::<u64>().ok(),
                _ => {}
            }
        }
        let name = name.rsplit('/').next().unwrap_or_default();
        if is_file && !name.is_empty() {
            entries.push(FileEntry {
                name: name.to_owned(),
                size,
            });
        }
    }
    entries
}

/// The files of a `LIST` answer in the unix (`-rw-r--r-- 1 user group 12 Jan 1 10:00 a.csv`)
/// or DOS (`01-01-24 10:00AM 12 a.csv`) format; None when no line is in either.
fn parse_list(lines: &[String]) -> Option<Vec<FileEntry>> {
    let mut entries = Vec::new();
    let mut understood = false;
    for line in lines {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() || line.starts_with("total ") {
            continue;
        }
        let Ok(file) = ListParser::parse_posix(line).or_else(|_| ListParser::parse_dos(line))
        else {
            continue;
        };
        understood = true;
        let name = file.name().rsplit('/').next().unwrap_or_default();
        if file.is_file() && !name.is_empty() {
            entries.push(FileEntry {
                name: name.to_owned(),
                size: Some(file.size() as u64),
            });
        }
    }
    (understood || lines.iter().all(|l| l.trim().is_empty())).then_some(entries)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;
    use test_servers::FtpServer;

    use super::*;
    use crate::adaptor::files::FileClient;

    #[test]
    fn the_address_comes_from_host_uri_then_port_then_the_default() {
        let of = |block: Value| Address::of(&block, 21).expect("valid");
        assert_eq!(
            of(json!({"hostURI": "ftp.example.com"})).to_string(),
            "ftp.example.com:21"
        );
        assert_eq!(
            of(json!({"hostURI": "ftp.example.com", "port": 2121})).port,
            2121
        );
        assert_eq!(
            of(json!({"hostURI": "ftp.example.com", "port": "990"})).port,
            990
        );
        assert_eq!(of(json!({"hostURI": "h:2222", "port": 21})).port, 2222);
        assert_eq!(
            of(json!({"hostURI": "ftp://user@h:10/dir"})).to_string(),
            "h:10"
        );
        assert_eq!(
            of(json!({"hostURI": "[::1]:2121"})).to_string(),
            "[::1]:2121"
        );
        assert_eq!(of(json!({"hostURI": "::1"})).to_string(), "[::1]:21");
        assert_eq!(
            Address::of(&json!({}), 21).expect_err("no host").code,
            "missing_field"
        );
        assert_eq!(
            Address::of(&json!({"hostURI": "h:99999"}), 21)
                .expect_err("bad")
                .code,
            "invalid_field"
        );
    }

    #[test]
    fn listings_in_mlsd_unix_and_dos_formats_give_the_files_only() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_mlsd(&lines(&[
                "type=cdir;modify=20240101000000; .",
                "type=dir;modify=20240101000000; sub",
                "type=file;size=12;modify=20240101000000; a b.csv",
                "Type=File;Size=3; c.json",
                "type=OS.unix=symlink;size=3; link",
            ])),
            vec![
                FileEntry {
                    name: "a b.csv".into(),
                    size: Some(12)
                },
                FileEntry {
                    name: "c.json".into(),
                    size: Some(3)
                },
            ]
        );
        assert_eq!(
            parse_list(&lines(&[
                "total 8",
                "drwxr-xr-x 2 user group 4096 Jan  1 10:00 sub",
                "-rw-r--r-- 1 user group   12 Jan  1 10:00 a.csv",
                "lrwxrwxrwx 1 user group    5 Jan  1 10:00 l -> a.csv",
            ])),
            Some(vec![FileEntry {
                name: "a.csv".into(),
                size: Some(12)
            }])
        );
        assert_eq!(
            parse_list(&lines(&[
                "01-01-24  10:00AM       <DIR>          sub",
                "01-01-24  10:00AM                  345 b.csv",
            ])),
            Some(vec![FileEntry {
                name: "b.csv".into(),
                size: Some(345)
            }])
        );
        assert_eq!(parse_list(&lines(&["something else entirely"])), None);
        assert_eq!(parse_list(&[]), Some(vec![]));
    }

    // --- a real server: pyftpdlib on loopback (test_servers::FtpServer) ---
    //
    // Each test starts its own server; without pyftpdlib/pyOpenSSL (or openssl) the tests are
    // skipped with the reason printed, except in CI (`CI` set) where they fail.

    /// The `ftp` block of a connection to `server` with `type` `kind` and `password`.
    fn ftp_block(server: &FtpServer, kind: &str, password: &str) -> Value {
        let mut block = server.block();
        block["type"] = json!(kind);
        block["password"] = json!(password);
        block
    }

    fn connection(block: Value) -> Value {
        json!({"type": "ftp", "ftp": block})
    }

    /// Bytes that are not text, so a text-mode transfer would change them.
    fn payload(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if i % 97 == 0 { b'\n' } else { state as u8 }
            })
            .collect()
    }

    /// Everything a file export and import does, through `kind` (`ftp` or `ftps`).
    async fn round_trip(kind: &str) {
        let Some(server) = FtpServer::start(kind == "ftps") else {
            return;
        };
        let home = server.root();
        std::fs::create_dir(home.join("in")).expect("in");
        std::fs::create_dir(home.join("in/sub")).expect("sub");
        std::fs::create_dir(home.join("archive")).expect("archive");
        std::fs::write(home.join("in/a.csv"), "id\n1\n").expect("a");
        std::fs::write(home.join("in/b.json"), "[]").expect("b");

        let mut client =
            FileClient::connect(&connection(ftp_block(&server, kind, server.password())))
                .await
                .expect("connect");
        client.ping().await.expect("ping");

        let mut files = client.list("in").await.expect("list");
        files.sort_by(|a, b| a.name.cmp(&b.name));
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
            ]
        );
        assert_eq!(client.list("/in/").await.expect("absolute").len(), 2);

        let local = tempfile::tempdir().expect("local");
        let big = payload(10 * 1024 * 1024 + 7);
        let source = local.path().join("big.bin");
        std::fs::File::create(&source)
            .and_then(|mut f| f.write_all(&big))
            .expect("write");
        client.upload(&source, "in/big.bin").await.expect("upload");
        assert!(std::fs::read(home.join("in/big.bin")).expect("uploaded") == big);
        let back = local.path().join("back.bin");
        let bytes = client
            .download("in/big.bin", &back)
            .await
            .expect("download");
        assert_eq!(bytes, big.len() as u64);
        assert!(std::fs::read(&back).expect("downloaded") == big);

        let missing = client
            .download("in/gone.csv", &local.path().join("gone"))
            .await
            .expect_err("missing");
        assert_eq!(missing.code, "file_not_found", "{missing:?}");
        assert!(!local.path().join("gone").exists());
        // The connection goes on after a refusal.
        client
            .rename("in/a.csv", "archive/a.csv")
            .await
            .expect("rename");
        assert!(home.join("archive/a.csv").exists() && !home.join("in/a.csv").exists());
        client.delete("in/b.json").await.expect("delete");
        assert!(!home.join("in/b.json").exists());
        assert_eq!(
            client
                .delete("in/b.json")
                .await
                .expect_err("deleted twice")
                .code,
            "file_not_found"
        );
        let names: Vec<_> = client
            .list("in")
            .await
            .expect("list")
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, vec!["big.bin"]);
    }

    #[tokio::test]
    async fn ftp_lists_uploads_downloads_moves_and_deletes_files() {
        round_trip("ftp").await;
    }

    #[tokio::test]
    async fn ftps_does_the_same_through_tls() {
        round_trip("ftps").await;
    }

    #[tokio::test]
    async fn ftps_refuses_a_self_signed_certificate_unless_told_to_skip_verification() {
        let Some(server) = FtpServer::start(true) else {
            return;
        };
        let mut block = ftp_block(&server, "ftps", server.password());
        block["tls"] = json!({});
        let error = FtpClient::connect(&block)
            .await
            .err()
            .expect("untrusted certificate");
        assert_eq!(error.code, "tls", "{error:?}");
        // Plain FTP against a server that requires TLS is refused by the server.
        let error = FtpClient::connect(&ftp_block(&server, "ftp", server.password()))
            .await
            .err()
            .expect("plain");
        assert!(!error.message.contains(server.password()));
    }

    #[tokio::test]
    async fn a_wrong_password_is_an_auth_error() {
        let Some(server) = FtpServer::start(false) else {
            return;
        };
        let error = FileClient::connect(&connection(ftp_block(&server, "ftp", "wrong-password")))
            .await
            .err()
            .expect("refused");
        assert!(error.auth, "{error:?}");
        assert_eq!(error.code, "auth_failed");
        assert!(
            error.message.contains("refused the user or password"),
            "{error:?}"
        );
        assert!(!error.message.contains("wrong-password"));
    }

    #[tokio::test]
    async fn a_refused_port_or_unknown_host_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let block = json!({"type": "ftp", "hostURI": format!("127.0.0.1:{port}"), "username": "u", "password": "p4ssw0rd"});
        let error = FtpClient::connect(&block).await.err().expect("refused");
        assert_eq!(error.code, "unreachable");
        assert!(
            error.message.contains(&format!("127.0.0.1:{port}")),
            "{error:?}"
        );
        assert!(!error.message.contains("p4ssw0rd") && !error.auth);

        let block =
            json!({"type": "ftps", "hostURI": "no-such-host.invalid", "password": "p4ssw0rd"});
        let error = FtpClient::connect(&block)
            .await
            .err()
            .expect("unknown host");
        assert_eq!(error.code, "unreachable");
        assert!(
            error.message.contains("no-such-host.invalid:21"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_dropped_control_connection_is_opened_again() {
        let Some(server) = FtpServer::start(false) else {
            return;
        };
        std::fs::write(server.root().join("x.txt"), "x").expect("x");
        let mut client = FtpClient::connect(&ftp_block(&server, "ftp", server.password()))
            .await
            .expect("connect");
        // As if the server had closed it while idle.
        if let Some(stream) = client.stream.as_mut() {
            let _ = stream.quit().await;
        }
        client.last_used = Instant::now() - CHECK_AFTER * 2;
        let files = client.list("").await.expect("list after reconnect");
        assert_eq!(
            files,
            vec![FileEntry {
                name: "x.txt".into(),
                size: Some(1)
            }]
        );
    }
}
