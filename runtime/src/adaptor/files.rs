//! File connections (FTP, FTPS, SFTP, S3): one client interface over the four, used by file
//! exports (list, download, parse, then leave/delete/move each file) and file imports (write
//! records as files, one per page or one per run).
//!
//! Paths are `/`-separated. For S3 the first segment of a path is the bucket
//! (`bucket/prefix/key.csv`). Downloads and uploads go through local temporary files, so a
//! file's size never shows in memory.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use super::AdaptorError;
use super::debug::ConnectionLog;

pub mod ftp;
pub mod s3;
pub mod sftp;

/// One file of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    /// The file's name (no directory).
    pub name: String,
    /// Its size in bytes, when the server says.
    pub size: Option<u64>,
}

/// A live connection to a file server or object store; every operation is recorded in the
/// connection's debug log.
pub struct FileClient {
    server: Server,
    log: ConnectionLog,
}

enum Server {
    /// FTP or FTPS (explicit TLS).
    Ftp(ftp::FtpClient),
    /// SFTP over SSH.
    Sftp(sftp::SftpClient),
    /// S3 or an S3-compatible store.
    S3(s3::S3Client),
}

/// Run `$call` on whichever client `$server` holds.
macro_rules! on_server {
    ($server:expr, $c:ident => $call:expr) => {
        match $server {
            Server::Ftp($c) => $call,
            Server::Sftp($c) => $call,
            Server::S3($c) => $call,
        }
    };
}

impl FileClient {
    /// Connect with `connection` (secrets open): type `ftp` with `ftp.type` `ftp` / `ftps` /
    /// `sftp`, or type `s3`. Wrong credentials, unknown hosts and refused connections are
    /// errors saying so (auth failures have `auth` set).
    pub async fn connect(connection: &Value) -> Result<FileClient, AdaptorError> {
        Self::connect_logged(connection, ConnectionLog::default()).await
    }

    /// [`FileClient::connect`], recording the connection and every operation in `log`.
    pub async fn connect_logged(
        connection: &Value,
        log: ConnectionLog,
    ) -> Result<FileClient, AdaptorError> {
        let started = Instant::now();
        let server = async {
            match connection["type"].as_str() {
                Some("ftp") => match connection["ftp"]["type"].as_str().unwrap_or("ftp") {
                    "sftp" => Ok(Server::Sftp(
                        sftp::SftpClient::connect(&connection["ftp"]).await?,
                    )),
                    _ => Ok(Server::Ftp(
                        ftp::FtpClient::connect(&connection["ftp"]).await?,
                    )),
                },
                Some("s3") => Ok(Server::S3(s3::S3Client::connect(&connection["s3"]).await?)),
                other => Err(AdaptorError::new(
                    "unsupported_connection_type",
                    format!("'{}' is not a file connection", other.unwrap_or_default()),
                )),
            }
        }
        .await;
        let host = match connection["type"].as_str() {
            Some("s3") => connection["s3"]["endpoint"]
                .as_str()
                .or(connection["s3"]["region"].as_str())
                .unwrap_or("aws"),
            _ => connection["ftp"]["hostURI"].as_str().unwrap_or_default(),
        };
        record(
            &log,
            "connect",
            host,
            started,
            &server.as_ref().map(|_| None),
        );
        Ok(FileClient {
            server: server?,
            log,
        })
    }

    /// Check that the server answers and accepts the credentials.
    pub async fn ping(&mut self) -> Result<(), AdaptorError> {
        let started = Instant::now();
        let result = on_server!(&mut self.server, c => c.ping().await);
        record(
            &self.log,
            "ping",
            "",
            started,
            &result.as_ref().map(|_| None),
        );
        result
    }

    /// The files (not directories) directly in `directory`.
    pub async fn list(&mut self, directory: &str) -> Result<Vec<FileEntry>, AdaptorError> {
        let started = Instant::now();
        let result = on_server!(&mut self.server, c => c.list(directory).await);
        let files = result
            .as_ref()
            .map(|files| Some(json!({"files": files.len()})));
        record(&self.log, "list", directory, started, &files);
        result
    }

    /// Download `path` into the local file `to` (created or truncated); returns the bytes
    /// written. A file that vanished is an error with code `file_not_found`.
    pub async fn download(&mut self, path: &str, to: &Path) -> Result<u64, AdaptorError> {
        let started = Instant::now();
        let result = on_server!(&mut self.server, c => c.download(path, to).await);
        let bytes = result.as_ref().map(|bytes| Some(json!({"bytes": bytes})));
        record(&self.log, "download", path, started, &bytes);
        result
    }

    /// Upload the local file `from` to `path` (replacing what is there).
    pub async fn upload(&mut self, from: &Path, path: &str) -> Result<(), AdaptorError> {
        let started = Instant::now();
        let result = on_server!(&mut self.server, c => c.upload(from, path).await);
        let bytes = std::fs::metadata(from).map(|m| m.len()).ok();
        let detail = result.as_ref().map(|_| bytes.map(|b| json!({"bytes": b})));
        record(&self.log, "upload", path, started, &detail);
        result
    }

    /// Delete `path`.
    pub async fn delete(&mut self, path: &str) -> Result<(), AdaptorError> {
        let started = Instant::now();
        let result = on_server!(&mut self.server, c => c.delete(path).await);
        record(
            &self.log,
            "delete",
            path,
            started,
            &result.as_ref().map(|_| None),
        );
        result
    }

    /// Move `from` to `to` (the target directory exists).
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), AdaptorError> {
        let started = Instant::now();
        let result = on_server!(&mut self.server, c => c.rename(from, to).await);
        let detail = result.as_ref().map(|_| Some(json!({"to": to})));
        record(&self.log, "rename", from, started, &detail);
        result
    }
}

/// One debug-log entry for a file operation on `path`: how long it took, and what came of it
/// (`detail` fields on success, the error's message otherwise).
fn record<E: std::fmt::Display>(
    log: &ConnectionLog,
    operation: &str,
    path: &str,
    started: Instant,
    outcome: &Result<Option<Value>, E>,
) {
    if !log.is_on() {
        return;
    }
    let mut entry = serde_json::Map::new();
    entry.insert("operation".into(), operation.into());
    if !path.is_empty() {
        entry.insert("path".into(), path.into());
    }
    entry.insert(
        "durationMs".into(),
        (started.elapsed().as_millis() as u64).into(),
    );
    match outcome {
        Ok(Some(Value::Object(detail))) => entry.extend(detail.clone()),
        Ok(_) => {}
        Err(e) => {
            entry.insert("error".into(), e.to_string().into());
        }
    }
    log.record(entry);
}

/// `directory` and `name` joined with one `/`.
pub fn join(directory: &str, name: &str) -> String {
    let directory = directory.trim_end_matches('/');
    if directory.is_empty() {
        name.to_owned()
    } else {
        format!("{directory}/{name}")
    }
}

/// Where file exports read and file imports write, from the resource's block of its
/// connection's type: `ftp.directoryPath`, or `s3.bucket` (+ `s3.prefix`).
fn directory_of(connection: &Value, resource: &Value) -> Result<String, AdaptorError> {
    match connection["type"].as_str() {
        Some("s3") => {
            let Some(bucket) = resource["s3"]["bucket"].as_str().filter(|b| !b.is_empty()) else {
                return Err(AdaptorError::new(
                    "missing_field",
                    "an S3 export or import needs s3.bucket",
                ));
            };
            let prefix = resource["s3"]["prefix"].as_str().unwrap_or_default();
            Ok(join(bucket, prefix.trim_matches('/')))
        }
        _ => Ok(resource["ftp"]["directoryPath"]
            .as_str()
            .unwrap_or_default()
            .to_owned()),
    }
}

/// The file-name filters of an export: `ftp.fileNameStartsWith` / `fileNameEndsWith`, or
/// `s3.keyStartsWith` / `keyEndsWith`.
fn name_filters(connection: &Value, export: &Value) -> (String, String) {
    let (block, starts, ends) = match connection["type"].as_str() {
        Some("s3") => ("s3", "keyStartsWith", "keyEndsWith"),
        _ => ("ftp", "fileNameStartsWith", "fileNameEndsWith"),
    };
    let get = |f: &str| export[block][f].as_str().unwrap_or_default().to_owned();
    (get(starts), get(ends))
}

/// What happens to an exported file once the page with its last records went through:
/// `file.afterExport` `delete` (the default), `leave`, or `move` (to `file.moveToDirectory`).
/// The integrator.io spellings work too: `file.skipDelete: true` leaves the file,
/// `ftp.backupDirectoryPath` / `s3.backupDirectory` move it there.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterExport {
    /// Remove the file.
    Delete,
    /// Keep it where it is.
    Leave,
    /// Move it into this directory.
    Move(String),
}

impl AfterExport {
    /// The policy of `export` read through `connection`. For S3 a move directory without a
    /// `/` is a prefix in the export's own bucket (`archive` → `bucket/archive`); with one, it
    /// names `bucket/prefix`.
    pub fn of(connection: &Value, export: &Value) -> AfterExport {
        let policy = Self::of_fields(connection, export);
        match (
            policy,
            connection["type"].as_str(),
            export["s3"]["bucket"].as_str(),
        ) {
            (AfterExport::Move(dir), Some("s3"), Some(bucket)) if !dir.contains('/') => {
                AfterExport::Move(join(bucket, &dir))
            }
            (policy, _, _) => policy,
        }
    }

    fn of_fields(connection: &Value, export: &Value) -> AfterExport {
        let backup = match connection["type"].as_str() {
            Some("s3") => export["s3"]["backupDirectory"].as_str(),
            _ => export["ftp"]["backupDirectoryPath"].as_str(),
        };
        match export["file"]["afterExport"].as_str() {
            Some("leave") => AfterExport::Leave,
            Some("move") => AfterExport::Move(
                export["file"]["moveToDirectory"]
                    .as_str()
                    .or(backup)
                    .unwrap_or("archive")
                    .to_owned(),
            ),
            Some(_) => AfterExport::Delete,
            None if backup.is_some() => AfterExport::Move(backup.unwrap_or_default().to_owned()),
            None if export["file"]["skipDelete"].as_bool() == Some(true) => AfterExport::Leave,
            None => AfterExport::Delete,
        }
    }

    /// Apply the policy to `path`.
    pub async fn apply(&self, client: &mut FileClient, path: &str) -> Result<(), AdaptorError> {
        match self {
            AfterExport::Leave => Ok(()),
            AfterExport::Delete => client.delete(path).await,
            AfterExport::Move(directory) => {
                let name = path.rsplit('/').next().unwrap_or(path);
                client.rename(path, &join(directory, name)).await
            }
        }
    }
}

/// A local temporary file (under the adaptors' temp directory) for downloads and uploads.
pub fn temp_file(dir: &Path) -> Result<tempfile::NamedTempFile, AdaptorError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| tempfile::NamedTempFile::new_in(dir))
        .map_err(|e| AdaptorError::new("local_io", format!("cannot create a temporary file: {e}")))
}

/// An export reading every matching file of a directory, file after file, record by record.
pub struct FileExport {
    client: Option<FileClient>,
    connection: Value,
    log: ConnectionLog,
    directory: String,
    filters: (String, String),
    format: super::format::FileFormat,
    temp_dir: std::path::PathBuf,
    pending: Option<std::collections::VecDeque<String>>,
    current: Option<OpenFile>,
    errors: Vec<super::ErrorItem>,
    completed: Vec<String>,
}

struct OpenFile {
    path: String,
    reader: super::format::RecordReader<std::io::BufReader<std::fs::File>>,
    // Deleted when dropped, once the file has been read.
    _local: tempfile::NamedTempFile,
}

/// Records a file export yields per call.
const RECORDS_PER_READ: usize = 1000;

impl FileExport {
    /// An export of `export` through the file connection `connection` (secrets open).
    pub fn new(
        connection: &Value,
        export: &Value,
        temp_dir: &Path,
    ) -> Result<FileExport, AdaptorError> {
        let format = super::format::FileFormat::from_block(&export["file"])?;
        Ok(FileExport {
            client: None,
            connection: connection.clone(),
            log: ConnectionLog::default(),
            directory: directory_of(connection, export)?,
            filters: name_filters(connection, export),
            format,
            temp_dir: temp_dir.to_owned(),
            pending: None,
            current: None,
            errors: Vec::new(),
            completed: Vec::new(),
        })
    }

    /// The same export, recording its file operations in `log`.
    pub fn with_log(mut self, log: ConnectionLog) -> Self {
        self.log = log;
        self
    }

    async fn client(&mut self) -> Result<&mut FileClient, AdaptorError> {
        if self.client.is_none() {
            self.client =
                Some(FileClient::connect_logged(&self.connection, self.log.clone()).await?);
        }
        Ok(self.client.as_mut().expect("connected just above"))
    }

    /// The next records (up to a thousand), or None once every file was read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, AdaptorError> {
        if self.pending.is_none() {
            let directory = self.directory.clone();
            let (starts, ends) = self.filters.clone();
            let mut names: Vec<String> = self
                .client()
                .await?
                .list(&directory)
                .await?
                .into_iter()
                .map(|f| f.name)
                .filter(|n| n.starts_with(&starts) && n.ends_with(&ends))
                .collect();
            names.sort();
            self.pending = Some(names.into_iter().map(|n| join(&directory, &n)).collect());
        }
        let mut records = Vec::new();
        loop {
            if self.current.is_none() {
                let Some(path) = self.pending.as_mut().and_then(|p| p.pop_front()) else {
                    break;
                };
                let local = temp_file(&self.temp_dir)?;
                match self.client().await?.download(&path, local.path()).await {
                    Ok(_) => {}
                    Err(e) if e.code == "file_not_found" => {
                        // Removed between the listing and the download: nothing to read.
                        self.errors.push(super::ErrorItem {
                            code: e.code,
                            message: format!("{path}: removed before it could be read"),
                            source: Some("file".into()),
                        });
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                let file = local
                    .reopen()
                    .map_err(|e| AdaptorError::new("local_io", e.to_string()))?;
                let reader = self.format.reader(std::io::BufReader::new(file));
                self.current = Some(OpenFile {
                    path,
                    reader,
                    _local: local,
                });
            }
            let open = self.current.as_mut().expect("opened just above");
            let mut finished = false;
            while records.len() < RECORDS_PER_READ {
                match open.reader.next() {
                    Some(Ok(record)) => records.push(record),
                    Some(Err(e)) => {
                        self.errors.push(super::ErrorItem {
                            code: if e.fatal {
                                "invalid_file"
                            } else {
                                "invalid_record"
                            }
                            .into(),
                            message: format!("{}: {e}", open.path),
                            source: Some("file".into()),
                        });
                        if e.fatal {
                            // A file that cannot be read stays where it is.
                            self.current = None;
                            break;
                        }
                    }
                    None => {
                        finished = true;
                        break;
                    }
                }
            }
            if finished && let Some(open) = self.current.take() {
                self.completed.push(open.path);
            }
            if records.len() >= RECORDS_PER_READ {
                break;
            }
        }
        if records.is_empty() && self.current.is_none() && self.pending_is_empty() {
            return Ok(if self.errors.is_empty() && self.completed.is_empty() {
                None
            } else {
                Some(Vec::new())
            });
        }
        Ok(Some(records))
    }

    fn pending_is_empty(&self) -> bool {
        self.pending.as_ref().is_none_or(|p| p.is_empty())
    }

    /// Record errors found since the last call (malformed lines, vanished files).
    pub fn take_errors(&mut self) -> Vec<super::ErrorItem> {
        std::mem::take(&mut self.errors)
    }

    /// Files read to their end since the last call.
    pub fn take_completed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.completed)
    }
}

/// The name of a file an import writes: `ftp.fileName` / `s3.fileKey` / `file.fileName`
/// rendered with `context`, defaulting to `records-{{timestamp}}.<ext>`.
pub fn file_name(
    connection: &Value,
    import: &Value,
    format: &super::format::FileFormat,
    context: &Value,
) -> Result<String, AdaptorError> {
    let template = match connection["type"].as_str() {
        Some("s3") => import["s3"]["fileKey"].as_str(),
        _ => import["ftp"]["fileName"].as_str(),
    }
    .or(import["file"]["fileName"].as_str())
    .map(str::to_owned)
    .unwrap_or_else(|| {
        format!(
            "records-{{{{timestamp \"YYYYMMDDTHHmmssSSS\"}}}}.{}",
            format.extension()
        )
    });
    crate::flow::template::render(&template, context)
        .map_err(|e| AdaptorError::new("invalid_template", format!("file name: {e}")))
}

/// Records written into one local file, uploaded as one remote file at the end: a file
/// import's page (`skipAggregation: true`) or a whole run (aggregation, the default).
pub struct FileWriter {
    connection: Value,
    log: ConnectionLog,
    import: Value,
    format: super::format::FileFormat,
    state: std::sync::Mutex<Option<WriterState>>,
    temp_dir: std::path::PathBuf,
}

struct WriterState {
    writer: super::format::RecordWriter<std::io::BufWriter<std::fs::File>>,
    local: tempfile::NamedTempFile,
    records: u64,
}

/// The fields `import`'s mapping generates, in its order (none when it has no valid mapping:
/// a broken one fails each record with its own error).
fn mapped_order(import: &Value) -> Vec<String> {
    crate::flow::mapping::Mapping::compile(&import["mapping"])
        .map(|m| m.generated_order())
        .unwrap_or_default()
}

impl FileWriter {
    /// A writer for `import` through the file connection `connection`.
    pub fn new(connection: &Value, import: &Value, temp_dir: &Path) -> Result<Self, AdaptorError> {
        Ok(Self {
            connection: connection.clone(),
            log: ConnectionLog::default(),
            import: import.clone(),
            format: super::format::FileFormat::from_block(&import["file"])?
                .with_field_order(mapped_order(import)),
            state: std::sync::Mutex::new(None),
            temp_dir: temp_dir.to_owned(),
        })
    }

    /// The same writer, recording its uploads in `log`.
    pub fn with_log(mut self, log: ConnectionLog) -> Self {
        self.log = log;
        self
    }

    /// Append `records` to the local file.
    pub fn write(&self, records: &[Value]) -> Result<(), AdaptorError> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let local = temp_file(&self.temp_dir)?;
            let file = local
                .reopen()
                .map_err(|e| AdaptorError::new("local_io", e.to_string()))?;
            *guard = Some(WriterState {
                writer: self.format.writer(std::io::BufWriter::new(file)),
                local,
                records: 0,
            });
        }
        let state = guard.as_mut().expect("created just above");
        for record in records {
            state.writer.write(record)?;
            state.records += 1;
        }
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |s| s.records)
    }

    /// Close the local file and upload it under its templated name; returns the remote path
    /// (None when nothing was written).
    pub async fn upload(&self, context: &Value) -> Result<Option<String>, AdaptorError> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(state) = state else {
            return Ok(None);
        };
        let mut file = state.writer.finish()?;
        std::io::Write::flush(&mut file)
            .map_err(|e| AdaptorError::new("local_io", e.to_string()))?;
        drop(file);
        let name = file_name(&self.connection, &self.import, &self.format, context)?;
        let path = join(&directory_of(&self.connection, &self.import)?, &name);
        let mut client = FileClient::connect_logged(&self.connection, self.log.clone()).await?;
        client.upload(state.local.path(), &path).await?;
        Ok(Some(path))
    }
}
