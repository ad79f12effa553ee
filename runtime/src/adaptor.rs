//! Adaptors: one module per connection type, each exporting records page by page and importing
//! pages of records. The flow runner and the virtual-run routes drive them through the types
//! here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::secrets::{self, SecretBox};

pub mod debug;
pub mod files;
pub mod format;
pub mod http;
pub mod netsuite;
pub mod wrapper;

/// Who a piece of adaptor work runs for: the account, and the flow, integration and connector
/// whose code (wrappers) it may call.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The application state.
    pub state: &'a AppState,
    /// The account.
    pub account: &'a str,
    /// The flow being run, if any.
    pub flow: Option<&'a str>,
    /// The integration the flow belongs to, if any.
    pub integration: Option<&'a str>,
    /// The connector whose resources these are, if any (its code gets a connector token).
    pub connector: Option<&'a str>,
    /// The component versions of the job this work belongs to (see
    /// [`crate::extension::call::Pins`]).
    pub pins: Option<&'a crate::extension::call::Pins>,
}

/// Live connections by `_id`, with the version they were built from.
type Live<T> = Mutex<HashMap<String, (String, Arc<T>)>>;

/// Live HTTP and NetSuite connections, shared by every job that uses one connection document
/// (its concurrency limit and OAuth token live here). Replaced when the document (or a
/// NetSuite connection's iClient) changes.
#[derive(Default)]
pub struct Connections {
    http: Live<http::HttpConnection>,
    netsuite: Live<netsuite::NetSuiteConnection>,
    temp_dir: std::sync::OnceLock<std::path::PathBuf>,
    debug: debug::DebugLogs,
}

/// The live connection of `live` for document `id` at `version`, built by `build` when there is
/// none or it is older. Documents without `_id` (unsaved) are built every time.
fn live<T>(
    live: &Live<T>,
    id: &str,
    version: String,
    build: impl FnOnce() -> Result<T, AdaptorError>,
) -> Result<Arc<T>, AdaptorError> {
    let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
    if !id.is_empty()
        && let Some((v, conn)) = live.get(id)
        && *v == version
    {
        return Ok(conn.clone());
    }
    let conn = Arc::new(build()?);
    if !id.is_empty() {
        live.insert(id.to_owned(), (version, conn.clone()));
    }
    Ok(conn)
}

impl Connections {
    /// Keep downloaded and to-be-uploaded files under `dir` (the server uses its data
    /// directory, so large files never land in a memory-backed /tmp). Set once, at start.
    pub fn set_temp_dir(&self, dir: std::path::PathBuf) {
        let _ = self.temp_dir.set(dir);
    }

    /// The debug logs of every connection (`GET /v1/connections/{_id}/debug`).
    pub fn debug_logs(&self) -> &debug::DebugLogs {
        &self.debug
    }

    /// Where the adaptors of `connection` (secrets open) record their requests.
    pub fn log(&self, connection: &Value) -> debug::ConnectionLog {
        self.debug.for_connection(connection)
    }

    /// Where file adaptors keep local copies.
    pub fn temp_dir(&self) -> std::path::PathBuf {
        self.temp_dir
            .get()
            .cloned()
            .unwrap_or_else(|| std::env::temp_dir().join("integrator"))
    }

    /// The live HTTP connection for `connection` (secrets open).
    pub fn http(&self, connection: &Value) -> Result<Arc<http::HttpConnection>, AdaptorError> {
        live(
            &self.http,
            connection["_id"].as_str().unwrap_or_default(),
            connection["lastModified"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            || Ok(http::HttpConnection::from_doc(connection)?.with_log(self.log(connection))),
        )
    }

    /// The live NetSuite connection for `connection` (secrets open), with the consumer
    /// credentials of its iClient (`netsuite._iClientId`) when it has none of its own.
    pub fn netsuite(
        &self,
        ctx: &Call<'_>,
        connection: &Value,
    ) -> Result<Arc<netsuite::NetSuiteConnection>, AdaptorError> {
        let iclient = match netsuite::iclient_id(connection) {
            Some(id) => Some(load_iclient(ctx, id)?),
            None => None,
        };
        let version = format!(
            "{}|{}",
            connection["lastModified"].as_str().unwrap_or_default(),
            iclient
                .as_ref()
                .and_then(|i| i["lastModified"].as_str())
                .unwrap_or_default()
        );
        live(
            &self.netsuite,
            connection["_id"].as_str().unwrap_or_default(),
            version,
            || {
                Ok(
                    netsuite::NetSuiteConnection::from_doc(connection, iclient.as_ref())?
                        .with_log(self.log(connection)),
                )
            },
        )
    }
}

/// The iClient `id` of the account, with its secrets open.
fn load_iclient(ctx: &Call<'_>, id: &str) -> Result<Value, AdaptorError> {
    let doc = ctx
        .state
        .db
        .get(ctx.account, "iclients", id)
        .map_err(|e| AdaptorError::new("store", e.to_string()))?
        .ok_or_else(|| {
            AdaptorError::new(
                "invalid_connection",
                format!("the connection's iClient '{id}' does not exist"),
            )
        })?;
    open_secrets(&ctx.state.secrets, &doc, "iClient")
}

/// The connection `id` of `account`, with its secrets open.
pub fn load_connection(ctx: &Call<'_>, id: &str) -> Result<Value, AdaptorError> {
    let doc = ctx
        .state
        .db
        .get(ctx.account, "connections", id)
        .map_err(|e| AdaptorError::new("store", e.to_string()))?
        .ok_or_else(|| AdaptorError::new("not_found", format!("no connection with _id '{id}'")))?;
    open_connection(&ctx.state.secrets, &doc)
}

/// Flows fail fast on a connection the remote side refused (`offline`), with a clear error,
/// until a ping succeeds again.
pub fn ensure_online(connection: &Value) -> Result<(), AdaptorError> {
    if connection["offline"].as_bool() != Some(true) {
        return Ok(());
    }
    let id = connection["_id"].as_str().unwrap_or_default();
    let mut error = AdaptorError::new(
        "connection_offline",
        format!(
            "connection '{}' is offline since {} ({}): fix its credentials, then ping it (GET /v1/connections/{id}/ping)",
            connection["name"].as_str().unwrap_or(id),
            connection["offlineSince"]
                .as_str()
                .unwrap_or("an earlier run"),
            connection["offlineReason"]
                .as_str()
                .unwrap_or("the remote side refused its credentials"),
        ),
    );
    error.auth = true;
    Err(error)
}

/// Mark connection `id` of `account` offline (the remote side refused its credentials with
/// `reason`) or online again. Written only when it changes; flushed.
pub fn set_offline(
    state: &AppState,
    account: &str,
    id: &str,
    reason: Option<&str>,
) -> Result<(), crate::store::StoreError> {
    let db = &state.db;
    {
        let _guard = db.lock();
        let Some(mut doc) = db.get(account, "connections", id)? else {
            return Ok(());
        };
        let offline = doc["offline"].as_bool() == Some(true);
        match reason {
            Some(_) if offline => return Ok(()),
            None if !offline => return Ok(()),
            Some(reason) => {
                doc["offline"] = Value::Bool(true);
                doc["offlineSince"] = Value::String(crate::util::now());
                doc["offlineReason"] = Value::String(reason.to_owned());
            }
            None => {
                if let Some(map) = doc.as_object_mut() {
                    map.remove("offline");
                    map.remove("offlineSince");
                    map.remove("offlineReason");
                }
            }
        }
        let refs = (crate::model::CONNECTIONS.references)(&doc);
        let mut batch = crate::store::Batch::default();
        crate::store::Db::put_doc(&mut batch, account, "connections", id, &doc, &refs, &refs);
        db.write(batch)?;
    }
    db.flush()
}

/// The connection a resource (export or import) uses.
pub fn connection_of(ctx: &Call<'_>, resource: &Value) -> Result<Value, AdaptorError> {
    match resource["_connectionId"].as_str() {
        Some(id) => load_connection(ctx, id),
        None => Err(AdaptorError::new(
            "no_connection",
            format!(
                "'{}' has no _connectionId",
                resource["name"]
                    .as_str()
                    .or(resource["_id"].as_str())
                    .unwrap_or("the resource")
            ),
        )),
    }
}

fn connection_type(connection: &Value) -> &str {
    connection["type"].as_str().unwrap_or_default()
}

fn unsupported(connection: &Value, what: &str) -> AdaptorError {
    AdaptorError::new(
        "unsupported_connection_type",
        format!(
            "{what} through a '{}' connection is not supported yet",
            connection_type(connection)
        ),
    )
}

/// Pulls an export's records page by page through its connection.
pub enum Exporter {
    /// HTTP/REST.
    Http(http::HttpExport),
    /// A wrapper's `export` function.
    Wrapper(wrapper::WrapperExport),
    /// Files of an FTP/SFTP directory or S3 prefix.
    File(Box<files::FileExport>),
    /// NetSuite: SuiteQL or a RESTlet.
    Netsuite(netsuite::NetSuiteExport),
}

impl Exporter {
    /// An exporter for `export` through `connection` (secrets open). `context` is the template
    /// context and the extra options of wrapper calls (`_flowId`, delta times, `data`);
    /// `resume` a position from [`Exporter::state`].
    pub fn new(
        ctx: &Call<'_>,
        connection: &Value,
        export: &Value,
        context: Value,
        resume: Option<Value>,
    ) -> Result<Self, AdaptorError> {
        match connection_type(connection) {
            "http" | "rest" => {
                let conn = ctx.state.adaptors.http(connection)?;
                Ok(Self::Http(match resume {
                    Some(state) => http::HttpExport::resume(conn, export, context, state)?,
                    None => http::HttpExport::new(conn, export, context)?,
                }))
            }
            "wrapper" => {
                let mut exporter = wrapper::WrapperExport::new(connection, export, &context, None)?;
                if let Some(state) = resume {
                    exporter.resume_from(&state);
                }
                Ok(Self::Wrapper(exporter))
            }
            "ftp" | "s3" => Ok(Self::File(Box::new(
                files::FileExport::new(connection, export, &ctx.state.adaptors.temp_dir())?
                    .with_log(ctx.state.adaptors.log(connection)),
            ))),
            "netsuite" => Ok(Self::Netsuite(netsuite::NetSuiteExport::new(
                ctx.state.adaptors.netsuite(ctx, connection)?,
                export,
                &context,
                resume.as_ref(),
            )?)),
            _ => Err(unsupported(connection, "exporting")),
        }
    }

    /// Record errors the export found since the last call (a file export's malformed lines).
    pub fn take_errors(&mut self) -> Vec<ErrorItem> {
        match self {
            Self::File(e) => e.take_errors(),
            _ => Vec::new(),
        }
    }

    /// Files read to their end since the last call (to delete or move once their records
    /// went through).
    pub fn take_completed(&mut self) -> Vec<String> {
        match self {
            Self::File(e) => e.take_completed(),
            _ => Vec::new(),
        }
    }

    /// The next page of records, or None when the export is done.
    pub async fn next_page(&mut self, ctx: &Call<'_>) -> Result<Option<Vec<Value>>, AdaptorError> {
        match self {
            Self::Http(e) => e.next_page().await,
            Self::Wrapper(e) => e.next_page(ctx).await,
            Self::File(e) => e.next_page().await,
            Self::Netsuite(e) => e.next_page().await,
        }
    }

    /// Where the export stands, to continue later.
    pub fn state(&self) -> Value {
        match self {
            Self::Http(e) => e.state(),
            Self::Wrapper(e) => e.state(),
            Self::Netsuite(e) => e.state(),
            // A file export cannot be resumed halfway through a file.
            Self::File(_) => Value::Null,
        }
    }
}

/// Submit one page of mapped records (`post_map`, from `pre_map`) to `import`'s target: one
/// result per record. An `Err` fails the whole page.
pub async fn import(
    ctx: &Call<'_>,
    connection: &Value,
    import: &Value,
    pre_map: &[Value],
    post_map: &[Value],
    context: &Value,
) -> Result<Vec<RecordResult>, AdaptorError> {
    match connection_type(connection) {
        "http" | "rest" => {
            let conn = ctx.state.adaptors.http(connection)?;
            Ok(http::import(&conn, import, post_map, context).await)
        }
        "wrapper" => wrapper::import(ctx, connection, import, pre_map, post_map).await,
        "ftp" | "s3" => {
            // One file for these records (aggregated imports go through the runner's
            // `files::FileWriter` instead).
            let writer =
                files::FileWriter::new(connection, import, &ctx.state.adaptors.temp_dir())?
                    .with_log(ctx.state.adaptors.log(connection));
            writer.write(post_map)?;
            let path = writer.upload(context).await?;
            let json = serde_json::json!({"fileName": path});
            Ok(post_map
                .iter()
                .map(|_| RecordResult::success(None, Some(json.clone())))
                .collect())
        }
        "netsuite" => {
            let conn = ctx.state.adaptors.netsuite(ctx, connection)?;
            Ok(netsuite::import(&conn, import, post_map).await)
        }
        _ => Err(unsupported(connection, "importing")),
    }
}

/// Test `connection` (secrets open) against its remote side.
pub async fn ping(ctx: &Call<'_>, connection: &Value) -> Result<(), AdaptorError> {
    match connection_type(connection) {
        "http" | "rest" => ctx.state.adaptors.http(connection)?.ping().await,
        "wrapper" => wrapper::ping(ctx, connection).await,
        "ftp" | "s3" => {
            files::FileClient::connect_logged(connection, ctx.state.adaptors.log(connection))
                .await?
                .ping()
                .await
        }
        "netsuite" => ctx.state.adaptors.netsuite(ctx, connection)?.ping().await,
        _ => Err(unsupported(connection, "pinging")),
    }
}

/// Why an adaptor could not do what it was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct AdaptorError {
    /// Machine-readable code (`http_401`, `unreachable`, `invalid_response`, `template`, …).
    pub code: String,
    /// What went wrong, for people; never contains a secret.
    pub message: String,
    /// The remote side's HTTP status, when there was one.
    pub status: Option<u16>,
    /// Whether the remote side refused the connection's credentials (the connection goes
    /// offline until a ping succeeds).
    pub auth: bool,
}

impl AdaptorError {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: None,
            auth: false,
        }
    }

    /// The same error with the remote status set (401 and 403 mark it an auth failure).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self.auth = matches!(status, 401 | 403);
        self
    }
}

/// One error item as extension functions and job errors carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// Machine-readable code.
    #[serde(default)]
    pub code: String,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// Where it happened (`http`, `preMap`, `mapping`, the adaptor, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What an import did with one record: the `responseData` entries hooks see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RecordResult {
    /// 200 on success, 401 for an auth failure, 422 for anything else that failed.
    pub status_code: u16,
    /// The id the target gave the record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Whether the import skipped the record (e.g. `ignoreExisting`).
    #[serde(default)]
    pub ignored: bool,
    /// Why the record failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
    /// The target's response for the record, as JSON.
    #[serde(default, rename = "_json", skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
}

impl RecordResult {
    /// A success with the target's id and response.
    pub fn success(id: Option<Value>, json: Option<Value>) -> Self {
        Self {
            status_code: 200,
            id,
            json,
            ..Self::default()
        }
    }

    /// A failure of one record.
    pub fn failure(status_code: u16, error: ErrorItem) -> Self {
        Self {
            status_code,
            errors: vec![error],
            ..Self::default()
        }
    }

    /// Whether the record went in.
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && (200..300).contains(&self.status_code)
    }
}

/// The connection document with every sealed secret opened, for adaptors to use. Never
/// returned by the API and never logged.
pub fn open_connection(secret_box: &SecretBox, doc: &Value) -> Result<Value, AdaptorError> {
    open_secrets(secret_box, doc, "connection")
}

/// `doc` (a connection or an iClient, named `what` in errors) with every sealed secret opened.
fn open_secrets(secret_box: &SecretBox, doc: &Value, what: &str) -> Result<Value, AdaptorError> {
    fn walk(secret_box: &SecretBox, value: &mut Value, what: &str) -> Result<(), AdaptorError> {
        if secrets::is_sealed(value) {
            *value = secret_box.open(value).map_err(|e| {
                AdaptorError::new(
                    "secret_unreadable",
                    format!("a secret of the {what} cannot be opened: {e}"),
                )
            })?;
            return Ok(());
        }
        match value {
            Value::Object(map) => map.values_mut().try_for_each(|v| walk(secret_box, v, what)),
            Value::Array(items) => items.iter_mut().try_for_each(|v| walk(secret_box, v, what)),
            _ => Ok(()),
        }
    }
    let mut doc = doc.clone();
    walk(secret_box, &mut doc, what)?;
    Ok(doc)
}
