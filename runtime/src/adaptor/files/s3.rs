//! S3 and S3-compatible object stores (MinIO, moto, …) through `object_store`'s AWS client.
//!
//! A path is `bucket/key`; a directory is `bucket` or `bucket/prefix`, with `/` as the
//! delimiter, so a listing shows the objects directly under the prefix. With an `endpoint` the
//! store is addressed path-style (`endpoint/bucket/key`) and plain http is allowed, as local
//! S3-compatible stores need. Object bodies stream between the store and local files: downloads
//! chunk by chunk, uploads in multipart parts of [`PART_SIZE`] with at most
//! [`PARTS_IN_FLIGHT`] parts in memory at a time, whatever the file's size.

use std::collections::HashMap;
use std::error::Error as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsAuthorizer, AwsCredential};
use object_store::client::{HttpError, HttpErrorKind, HttpRequest, HttpRequestBody};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::FileEntry;
use crate::adaptor::AdaptorError;

/// The size of one multipart part, S3's smallest; files up to this size go up in one `PUT`.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts uploading at once: what an upload holds in memory is this many parts plus the one
/// being filled.
const PARTS_IN_FLIGHT: usize = 2;
/// How much of a local file is read at a time.
const READ_CHUNK: usize = 256 * 1024;
/// The region when the connection names none.
const DEFAULT_REGION: &str = "us-east-1";
/// How long establishing a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request (one part, or one download including its body) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A connection to S3 or an S3-compatible store.
pub struct S3Client {
    settings: Settings,
    /// One store per bucket, built on first use.
    stores: HashMap<String, Arc<AmazonS3>>,
    /// For the one call `object_store` has no method for: listing the buckets (ping without
    /// `pingBucket`).
    http: reqwest::Client,
}

/// The connection's `s3` block, checked.
struct Settings {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    region: String,
    /// Without a trailing `/`; None for AWS itself.
    endpoint: Option<String>,
    ping_bucket: Option<String>,
    /// `host[:port]` of the store, for messages.
    host: String,
}

impl Settings {
    fn from_block(block: &Value) -> Result<Settings, AdaptorError> {
        let text = |field: &str| {
            block[field]
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let access_key_id = text("accessKeyId").unwrap_or_default();
        let secret_access_key = text("secretAccessKey").unwrap_or_default();
        let session_token = text("sessionToken");
        if access_key_id.is_empty() != secret_access_key.is_empty() {
            return Err(invalid(
                "an S3 connection needs both accessKeyId and secretAccessKey (or neither, for \
                 public buckets)",
            ));
        }
        // They go into request headers: anything unprintable would break the request.
        let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
        if !printable(&access_key_id) {
            return Err(invalid(
                "s3.accessKeyId has characters a key id cannot have",
            ));
        }
        if !printable(&secret_access_key) || !session_token.as_deref().is_none_or(printable) {
            return Err(invalid(
                "s3.secretAccessKey or s3.sessionToken has characters a key cannot have",
            ));
        }
        let region = text("region").unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid(format!("'{region}' is not an S3 region")));
        }
        let endpoint = text("endpoint").map(|e| e.trim_end_matches('/').to_owned());
        let host = match &endpoint {
            Some(endpoint) => {
                let url = reqwest::Url::parse(endpoint)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or_else(|| {
                        invalid(format!(
                            "s3.endpoint '{endpoint}' is not an http:// or https:// URL"
                        ))
                    })?;
                match (url.host_str(), url.port()) {
                    (Some(host), Some(port)) => format!("{host}:{port}"),
                    (Some(host), None) => host.to_owned(),
                    (None, _) => endpoint.clone(),
                }
            }
            None => format!("s3.{region}.amazonaws.com"),
        };
        let ping_bucket = text("pingBucket");
        if let Some(bucket) = &ping_bucket {
            check_bucket(bucket)?;
        }
        Ok(Settings {
            access_key_id,
            secret_access_key,
            session_token,
            region,
            endpoint,
            ping_bucket,
            host,
        })
    }

    /// The store's root URL (for listing the buckets).
    fn service_url(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/"),
            None => format!("https://{}/", self.host),
        }
    }

    fn credential(&self) -> Option<AwsCredential> {
        (!self.access_key_id.is_empty()).then(|| AwsCredential {
            key_id: self.access_key_id.clone(),
            secret_key: self.secret_access_key.clone(),
            token: self.session_token.clone(),
        })
    }
}

fn invalid(message: impl Into<String>) -> AdaptorError {
    AdaptorError::new("invalid_connection", message)
}

fn invalid_path(message: impl Into<String>) -> AdaptorError {
    AdaptorError::new("invalid_path", message)
}

/// Bucket names go into URLs as they are: refuse what would change the URL's meaning.
fn check_bucket(bucket: &str) -> Result<(), AdaptorError> {
    if bucket.is_empty()
        || !bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(invalid_path(format!("'{bucket}' is not an S3 bucket name")));
    }
    Ok(())
}

/// `bucket/key` (a leading `/` is allowed) split into the bucket and the key's path.
fn split_key(path: &str) -> Result<(&str, ObjectPath), AdaptorError> {
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    check_bucket(bucket)?;
    if key.is_empty() || key.ends_with('/') {
        return Err(invalid_path(format!(
            "'{path}' does not name an object: S3 paths are bucket/key"
        )));
    }
    let key = ObjectPath::parse(key)
        .map_err(|e| invalid_path(format!("'{path}' is not a valid S3 key: {e}")))?;
    Ok((bucket, key))
}

/// `bucket` or `bucket/prefix` split into the bucket and the prefix (None for the bucket's
/// top level).
fn split_directory(directory: &str) -> Result<(&str, Option<ObjectPath>), AdaptorError> {
    let trimmed = directory.trim_matches('/');
    let (bucket, prefix) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    check_bucket(bucket)?;
    if prefix.is_empty() {
        return Ok((bucket, None));
    }
    let prefix = ObjectPath::parse(prefix)
        .map_err(|e| invalid_path(format!("'{directory}' is not a valid S3 prefix: {e}")))?;
    Ok((bucket, Some(prefix)))
}

fn local_io(what: &str, local: &Path, error: std::io::Error) -> AdaptorError {
    AdaptorError::new(
        "local_io",
        format!("cannot {what} the local file {}: {error}", local.display()),
    )
}

impl S3Client {
    /// Connect with the connection's `s3` block: `accessKeyId`, `secretAccessKey`
    /// (`sessionToken` for temporary credentials), `region` (default `us-east-1`), `endpoint`
    /// for S3-compatible stores, `pingBucket`. Nothing is sent until the first operation.
    pub async fn connect(block: &Value) -> Result<Self, AdaptorError> {
        let settings = Settings::from_block(block)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| AdaptorError::new("client", format!("cannot set up HTTP: {e}")))?;
        Ok(S3Client {
            settings,
            stores: HashMap::new(),
            http,
        })
    }

    /// Check that the store answers and takes the credentials: lists `pingBucket` when the
    /// connection names one, the buckets otherwise.
    pub async fn ping(&mut self) -> Result<(), AdaptorError> {
        match self.settings.ping_bucket.clone() {
            Some(bucket) => {
                let store = self.store(&bucket)?;
                // One page of the listing is enough to know.
                match store.list(None).next().await {
                    None | Some(Ok(_)) => Ok(()),
                    Some(Err(e)) => Err(self.store_error(e, &format!("listing bucket '{bucket}'"))),
                }
            }
            None => self.list_buckets().await,
        }
    }

    /// The objects directly under `directory` (`bucket` or `bucket/prefix`), named relative
    /// to it; "sub-directories" (common prefixes) are left out.
    pub async fn list(&mut self, directory: &str) -> Result<Vec<FileEntry>, AdaptorError> {
        let (bucket, prefix) = split_directory(directory)?;
        let store = self.store(bucket)?;
        let listing = store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| self.store_error(e, &format!("listing '{directory}'")))?;
        let mut entries: Vec<FileEntry> = listing
            .objects
            .into_iter()
            .filter_map(|meta| {
                // Folder markers (`prefix/`) come back as the prefix itself: not a file.
                let name = match &prefix {
                    Some(prefix) => meta.location.prefix_match(prefix)?.next()?,
                    None => meta.location.parts().next()?,
                };
                Some(FileEntry {
                    name: name.as_ref().to_owned(),
                    size: Some(meta.size),
                })
            })
            .filter(|entry| !entry.name.is_empty())
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Stream the object `path` (`bucket/key`) into the local file `to` (created or
    /// truncated once the object is known to exist); the bytes written. A missing object is
    /// `file_not_found`.
    pub async fn download(&mut self, path: &str, to: &Path) -> Result<u64, AdaptorError> {
        let (bucket, key) = split_key(path)?;
        let store = self.store(bucket)?;
        let what = format!("downloading '{path}'");
        let object = store
            .get(&key)
            .await
            .map_err(|e| self.store_error(e, &what))?;
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| local_io("create", to, e))?;
        let mut body = object.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.store_error(e, &what))?;
            file.write_all(&chunk)
                .await
                .map_err(|e| local_io("write", to, e))?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(|e| local_io("write", to, e))?;
        Ok(written)
    }

    /// Upload the local file `from` to `path` (`bucket/key`), replacing what is there: in one
    /// `PUT` up to [`PART_SIZE`], as a multipart upload streamed from the file above.
    pub async fn upload(&mut self, from: &Path, path: &str) -> Result<(), AdaptorError> {
        let (bucket, key) = split_key(path)?;
        let store = self.store(bucket)?;
        let what = format!("uploading '{path}'");
        let mut file = tokio::fs::File::open(from)
            .await
            .map_err(|e| local_io("open", from, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| local_io("read", from, e))?
            .len();
        if size <= PART_SIZE as u64 {
            let mut body = Vec::with_capacity(size as usize);
            file.read_to_end(&mut body)
                .await
                .map_err(|e| local_io("read", from, e))?;
            store
                .put(&key, PutPayload::from(body))
                .await
                .map_err(|e| self.store_error(e, &what))?;
            return Ok(());
        }
        let upload = store
            .put_multipart(&key)
            .await
            .map_err(|e| self.store_error(e, &what))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; READ_CHUNK];
        let streamed: Result<(), AdaptorError> = async {
            loop {
                let read = file
                    .read(&mut buffer)
                    .await
                    .map_err(|e| local_io("read", from, e))?;
                if read == 0 {
                    return Ok(());
                }
                // Back pressure: never more than PARTS_IN_FLIGHT parts held in memory.
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.store_error(e, &what))?;
                writer.write(&buffer[..read]);
            }
        }
        .await;
        match streamed {
            Ok(()) => writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| self.store_error(e, &what)),
            Err(e) => {
                // Best effort: an unfinished upload would keep its parts (and cost) otherwise.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Delete the object `path` (`bucket/key`). Like S3 itself, deleting an object that is
    /// not there succeeds.
    pub async fn delete(&mut self, path: &str) -> Result<(), AdaptorError> {
        let (bucket, key) = split_key(path)?;
        let store = self.store(bucket)?;
        store
            .delete(&key)
            .await
            .map_err(|e| self.store_error(e, &format!("deleting '{path}'")))
    }

    /// Move the object `from` to `to` (both `bucket/key`): a server-side copy, then the
    /// delete of `from`. Across buckets the body streams through this process (bounded memory,
    /// no local file). A missing `from` is `file_not_found`.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), AdaptorError> {
        let (from_bucket, from_key) = split_key(from)?;
        let (to_bucket, to_key) = split_key(to)?;
        let what = format!("moving '{from}' to '{to}'");
        let source = self.store(from_bucket)?;
        if from_bucket == to_bucket {
            if from_key == to_key {
                return Ok(());
            }
            source
                .copy(&from_key, &to_key)
                .await
                .map_err(|e| self.store_error(e, &what))?;
        } else {
            let target = self.store(to_bucket)?;
            self.copy_across(&source, &from_key, &target, &to_key, &what)
                .await?;
        }
        source
            .delete(&from_key)
            .await
            .map_err(|e| self.store_error(e, &what))
    }

    /// Copy an object between two buckets by streaming its body from one to the other.
    async fn copy_across(
        &self,
        source: &AmazonS3,
        from: &ObjectPath,
        target: &AmazonS3,
        to: &ObjectPath,
        what: &str,
    ) -> Result<(), AdaptorError> {
        let object = source
            .get(from)
            .await
            .map_err(|e| self.store_error(e, what))?;
        let mut body = object.into_stream();
        let upload = target
            .put_multipart(to)
            .await
            .map_err(|e| self.store_error(e, what))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let streamed: Result<(), AdaptorError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| self.store_error(e, what))?;
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.store_error(e, what))?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match streamed {
            Ok(()) => writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| self.store_error(e, what)),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// The store of `bucket`, built once per bucket and kept.
    fn store(&mut self, bucket: &str) -> Result<Arc<AmazonS3>, AdaptorError> {
        check_bucket(bucket)?;
        if let Some(store) = self.stores.get(bucket) {
            return Ok(store.clone());
        }
        let s = &self.settings;
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
        };
        let options = ClientOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_allow_http(s.endpoint.is_some());
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&s.region)
            .with_retry(retry)
            .with_client_options(options)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &s.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(true);
        }
        builder = match s.credential() {
            Some(credential) => {
                let mut builder = builder
                    .with_access_key_id(credential.key_id)
                    .with_secret_access_key(credential.secret_key);
                if let Some(token) = credential.token {
                    builder = builder.with_token(token);
                }
                builder
            }
            // Anonymous: never fall back to instance or environment credentials.
            None => builder.with_skip_signature(true),
        };
        let store = Arc::new(builder.build().map_err(|e| {
            invalid(format!(
                "cannot set up S3 for bucket '{bucket}': {}",
                self.redact(&e.to_string())
            ))
        })?);
        self.stores.insert(bucket.to_owned(), store.clone());
        Ok(store)
    }

    /// `ListBuckets`, signed here with `object_store`'s SigV4 signer.
    async fn list_buckets(&self) -> Result<(), AdaptorError> {
        let url = self.settings.service_url();
        let response = signed_request(
            &self.http,
            self.settings.credential().as_ref(),
            &self.settings.region,
            "s3",
            reqwest::Method::GET,
            &url,
            Vec::new(),
        )
        .await
        .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(self.remote_error(
            "listing the buckets",
            Some(status.as_u16()),
            tag(&body, "Code").as_deref(),
            tag(&body, "Message").as_deref(),
        ))
    }

    /// An `object_store` error as users should read it: a missing object is
    /// `file_not_found`, refused credentials an auth error, no answer `unreachable`.
    fn store_error(&self, error: object_store::Error, what: &str) -> AdaptorError {
        // The HTTP layer's error says whether anything answered at all.
        let mut source = error.source();
        while let Some(cause) = source {
            if let Some(http) = cause.downcast_ref::<HttpError>()
                && matches!(
                    http.kind(),
                    HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Interrupted
                )
            {
                let mut root: &dyn std::error::Error = http;
                while let Some(next) = root.source() {
                    root = next;
                }
                let how = match http.kind() {
                    HttpErrorKind::Timeout => "timed out",
                    HttpErrorKind::Interrupted => "connection lost",
                    _ => "cannot connect",
                };
                return AdaptorError::new(
                    "unreachable",
                    format!(
                        "{what}: cannot reach S3 at {}: {how}: {}",
                        self.settings.host,
                        self.redact(&root.to_string())
                    ),
                );
            }
            source = cause.source();
        }
        // The store's answer (status and S3's XML error) is in the error's text.
        let text = error.to_string();
        let status = match &error {
            object_store::Error::NotFound { .. } => Some(404),
            object_store::Error::PermissionDenied { .. } => Some(403),
            object_store::Error::Unauthenticated { .. } => Some(401),
            _ => status_in(&text),
        };
        let code = tag(&text, "Code");
        let message = tag(&text, "Message");
        if status.is_none() && code.is_none() {
            return AdaptorError::new(
                "s3_error",
                format!("{what}: {}", self.redact(&first_line(&text))),
            );
        }
        self.remote_error(what, status, code.as_deref(), message.as_deref())
    }

    /// The error for an answer of the store: `status` and S3's error `code` and `message`.
    fn remote_error(
        &self,
        what: &str,
        status: Option<u16>,
        code: Option<&str>,
        message: Option<&str>,
    ) -> AdaptorError {
        let told = match (code, message) {
            (Some(code), Some(message)) => format!("{message} ({code})"),
            (Some(code), None) => code.to_owned(),
            (None, Some(message)) => message.to_owned(),
            (None, None) => format!("HTTP {}", status.unwrap_or_default()),
        };
        let told = self.redact(&told);
        let (error_code, auth, text) = match (code, status) {
            (Some("NoSuchKey"), _) | (None, Some(404)) => (
                "file_not_found",
                false,
                format!("{what}: no such file: {told}"),
            ),
            (Some("NoSuchBucket"), _) => (
                "bucket_not_found",
                false,
                format!("{what}: no such bucket: {told}"),
            ),
            (
                Some(
                    "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "InvalidToken"
                    | "ExpiredToken"
                    | "InvalidClientTokenId"
                    | "TokenRefreshRequired",
                ),
                _,
            )
            | (None, Some(401 | 403)) => (
                "auth_failed",
                true,
                format!(
                    "{what}: S3 at {} refused the credentials: {told}",
                    self.settings.host
                ),
            ),
            (Some("AccessDenied" | "AllAccessDisabled"), _) => (
                "access_denied",
                false,
                format!("{what}: access denied: {told}"),
            ),
            _ => ("s3_error", false, format!("{what}: {told}")),
        };
        AdaptorError {
            code: error_code.into(),
            message: text,
            status,
            auth,
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> AdaptorError {
        let how = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        let error = error.without_url();
        let mut root: &dyn std::error::Error = &error;
        while let Some(next) = root.source() {
            root = next;
        }
        AdaptorError::new(
            "unreachable",
            format!(
                "listing the buckets: cannot reach S3 at {}: {how}: {}",
                self.settings.host,
                self.redact(&root.to_string())
            ),
        )
    }

    /// `text` with the secrets of the connection masked, in case a store echoes one.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        let secrets = [
            Some(self.settings.secret_access_key.as_str()),
            self.settings.session_token.as_deref(),
        ];
        for secret in secrets.into_iter().flatten().filter(|s| s.len() >= 4) {
            text = text.replace(secret, "****");
        }
        text
    }
}

/// Send one request signed with SigV4 for `service` (unsigned without a credential).
async fn signed_request(
    http: &reqwest::Client,
    credential: Option<&AwsCredential>,
    region: &str,
    service: &str,
    method: reqwest::Method,
    url: &str,
    body: Vec<u8>,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut request = HttpRequest::new(HttpRequestBody::from(body.clone()));
    *request.method_mut() = method.clone();
    let mut headers = reqwest::header::HeaderMap::new();
    // A URL that does not parse as a URI goes out unsigned and fails as reqwest sees it.
    if let (Some(credential), Ok(uri)) = (credential, url.parse()) {
        *request.uri_mut() = uri;
        AwsAuthorizer::new(credential, service, region).authorize(&mut request, None);
        headers = request.headers().clone();
        // reqwest sets Host itself, from the same URL.
        headers.remove(reqwest::header::HOST);
    }
    http.request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
}

/// The text between `<name>` and `</name>` in `text` (S3's XML errors).
fn tag(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    let value = text[start..end].trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The HTTP status in an `object_store` error's text ("… status code: 403 Forbidden …").
fn status_in(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::process::Command;
    use std::time::Instant;

    use serde_json::json;
    use test_servers::{S3Server, free_port};

    use super::*;

    fn test_credential() -> AwsCredential {
        AwsCredential {
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "test-secret-key-never-shown".into(),
            token: None,
        }
    }

    async fn client(endpoint: &str, extra: Value) -> S3Client {
        let credential = test_credential();
        let mut block = json!({
            "accessKeyId": credential.key_id,
            "secretAccessKey": credential.secret_key,
            "endpoint": endpoint,
        });
        if let (Some(block), Value::Object(extra)) = (block.as_object_mut(), extra) {
            block.extend(extra);
        }
        S3Client::connect(&block).await.expect("connects")
    }

    async fn put_text(client: &mut S3Client, path: &str, text: &str) {
        let local = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(local.path(), text).expect("writes");
        client.upload(local.path(), path).await.expect("uploads");
    }

    async fn get_text(client: &mut S3Client, path: &str) -> Result<String, AdaptorError> {
        let local = tempfile::NamedTempFile::new().expect("a temporary file");
        client.download(path, local.path()).await?;
        Ok(std::fs::read_to_string(local.path()).expect("reads"))
    }

    fn names(entries: &[FileEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.name.as_str()).collect()
    }

    #[tokio::test]
    async fn ping_succeeds_with_a_ping_bucket_and_without_one() {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("pings");
        let mut with_bucket = client(&server.endpoint(), json!({"pingBucket": "pings"})).await;
        with_bucket.ping().await.expect("pingBucket listed");
        let mut without = client(&server.endpoint(), json!({})).await;
        without.ping().await.expect("buckets listed");
        let mut missing = client(&server.endpoint(), json!({"pingBucket": "no-such-bucket"})).await;
        let error = missing.ping().await.expect_err("no such bucket");
        assert_eq!(error.code, "bucket_not_found", "{error:?}");
        assert!(!error.auth, "{error:?}");
    }

    /// moto checks signatures only with IAM authentication on: `require_auth` creates an IAM
    /// user with an access key and an `s3:*` policy, then switches authentication on.
    #[tokio::test]
    async fn wrong_credentials_are_an_auth_error_that_never_shows_the_secret() {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("guarded");
        let key = server.require_auth();
        let (key_id, secret) = (key.access_key_id, key.secret_access_key);
        let connect = |key_id: &str, secret: &str, ping_bucket: Option<&str>| {
            let mut block = json!({
                "accessKeyId": key_id,
                "secretAccessKey": secret,
                "endpoint": server.endpoint(),
            });
            if let Some(bucket) = ping_bucket {
                block["pingBucket"] = json!(bucket);
            }
            async move { S3Client::connect(&block).await.expect("connects") }
        };
        // The right key works, with and without a ping bucket.
        for ping_bucket in [Some("guarded"), None] {
            let mut good = connect(&key_id, &secret, ping_bucket).await;
            good.ping().await.expect("the right key is taken");
        }
        let mut good = connect(&key_id, &secret, None).await;
        put_text(&mut good, "guarded/in/a.csv", "a\n1\n").await;

        let wrong_secret = "wrong-secret-that-must-not-leak";
        for ping_bucket in [Some("guarded"), None] {
            let mut bad = connect(&key_id, wrong_secret, ping_bucket).await;
            let error = bad.ping().await.expect_err("a wrong secret is refused");
            assert!(error.auth, "{error:?}");
            assert_eq!(error.code, "auth_failed", "{error:?}");
            assert!(error.message.contains("SignatureDoesNotMatch"), "{error:?}");
            assert!(
                error.message.contains("refused the credentials"),
                "{error:?}"
            );
            assert!(!error.message.contains(wrong_secret), "{error:?}");
            assert!(!error.message.contains(&secret), "{error:?}");

            let mut unknown = connect("AKIAUNKNOWNKEY000000", &secret, ping_bucket).await;
            let error = unknown.ping().await.expect_err("an unknown key is refused");
            assert!(error.auth, "{error:?}");
            assert!(error.message.contains("InvalidAccessKeyId"), "{error:?}");
            assert!(!error.message.contains(&secret), "{error:?}");
        }
        // Every operation says so, not only ping.
        let mut bad = connect(&key_id, wrong_secret, None).await;
        let error = bad.list("guarded/in").await.expect_err("refused");
        assert!(error.auth, "{error:?}");
        let error = get_text(&mut bad, "guarded/in/a.csv")
            .await
            .expect_err("refused");
        assert!(error.auth, "{error:?}");
        assert_ne!(error.code, "file_not_found", "{error:?}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_named_in_the_error_without_the_secret() {
        // Nothing listens on a port just freed.
        let endpoint = format!("http://127.0.0.1:{}", free_port());
        let secret = test_credential().secret_key;
        for extra in [json!({"pingBucket": "bucket"}), json!({})] {
            let mut client = client(&endpoint, extra).await;
            let started = Instant::now();
            let error = client.ping().await.expect_err("nothing answers");
            assert_eq!(error.code, "unreachable", "{error:?}");
            assert!(!error.auth, "{error:?}");
            assert!(
                error
                    .message
                    .contains(endpoint.trim_start_matches("http://")),
                "{error:?}"
            );
            assert!(!error.message.contains(&secret), "{error:?}");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "retried too long"
            );
        }
        let mut client = client(&endpoint, json!({})).await;
        let error = get_text(&mut client, "bucket/a.csv")
            .await
            .expect_err("nothing answers");
        assert_eq!(error.code, "unreachable", "{error:?}");
    }

    #[tokio::test]
    async fn listing_shows_the_files_directly_under_a_prefix_by_name() {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("listing");
        let mut client = client(&server.endpoint(), json!({})).await;
        for (path, text) in [
            ("listing/top.csv", "t"),
            ("listing/in/b.csv", "bb"),
            ("listing/in/a.json", "a"),
            ("listing/in/sub/deep.csv", "d"),
            ("listing/inbox/not-in.csv", "x"),
            ("listing/other/e.csv", "e"),
        ] {
            put_text(&mut client, path, text).await;
        }
        // A folder marker as consoles create them.
        put_text(&mut client, "listing/in/sub/marker", "").await;

        let top = client.list("listing").await.expect("lists");
        assert_eq!(names(&top), ["top.csv"]);
        let inside = client.list("listing/in").await.expect("lists");
        assert_eq!(names(&inside), ["a.json", "b.csv"]);
        assert_eq!(inside[1].size, Some(2));
        assert_eq!(client.list("/listing/in/").await.expect("lists"), inside);
        let deep = client.list("listing/in/sub").await.expect("lists");
        assert_eq!(names(&deep), ["deep.csv", "marker"]);
        assert!(
            client
                .list("listing/nothing")
                .await
                .expect("lists")
                .is_empty()
        );
        let error = client
            .list("no-such-bucket/in")
            .await
            .expect_err("no bucket");
        assert_eq!(error.code, "bucket_not_found", "{error:?}");
    }

    const ROUND_TRIP_BYTES: u64 = 20_000_000;

    /// The growth of this process's peak RSS, in bytes, over `work`.
    async fn peak_rss_growth(work: impl std::future::Future<Output = ()>) -> u64 {
        fn peak() -> u64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        }
        let before = peak();
        work.await;
        peak().saturating_sub(before)
    }

    /// Upload then download of a 20 MB file. The transfer runs again in a child process of
    /// this test binary, alone, so that its peak RSS is not mixed with other tests'.
    #[tokio::test]
    async fn a_20_mb_file_goes_up_and_comes_back_byte_for_byte_without_being_held_in_memory() {
        let name = "a_20_mb_file_goes_up_and_comes_back_byte_for_byte_without_being_held_in_memory";
        if let (Some(endpoint), Some(dir)) = (
            std::env::var_os("S3_TEST_CHILD_ENDPOINT"),
            std::env::var_os("S3_TEST_CHILD_DIR"),
        ) {
            // The child: move the file both ways, measuring.
            let endpoint = endpoint.to_string_lossy().into_owned();
            let dir = std::path::PathBuf::from(dir);
            let mut client = client(&endpoint, json!({})).await;
            let growth = peak_rss_growth(async {
                client
                    .upload(&dir.join("original"), "big/data/file.bin")
                    .await
                    .expect("uploads");
                let written = client
                    .download("big/data/file.bin", &dir.join("copy"))
                    .await
                    .expect("downloads");
                assert_eq!(written, ROUND_TRIP_BYTES);
            })
            .await;
            println!("peak RSS grew by {growth} bytes");
            assert!(
                growth < ROUND_TRIP_BYTES,
                "moving a {ROUND_TRIP_BYTES}-byte file grew the peak RSS by {growth} bytes"
            );
            return;
        }
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("big");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let original = dir.path().join("original");
        {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&original).expect("file"));
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let mut remaining = ROUND_TRIP_BYTES;
            while remaining > 0 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let take = remaining.min(8) as usize;
                file.write_all(&state.to_le_bytes()[..take])
                    .expect("writes");
                remaining -= take as u64;
            }
            file.flush().expect("writes");
        }
        let module = module_path!();
        let test_path = format!(
            "{}::{name}",
            module.split_once("::").map_or(module, |(_, rest)| rest)
        );
        let (endpoint, child_dir) = (server.endpoint(), dir.path().to_owned());
        let output = tokio::task::spawn_blocking(move || {
            Command::new(std::env::current_exe().expect("test binary"))
                .args([&test_path, "--exact", "--nocapture", "--test-threads=1"])
                .env("S3_TEST_CHILD_ENDPOINT", endpoint)
                .env("S3_TEST_CHILD_DIR", child_dir)
                .output()
        })
        .await
        .expect("the child runs")
        .expect("the child runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("{stdout}");
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("peak RSS grew by"),
            "the child ran no transfer: {stdout}"
        );

        // Byte for byte.
        let (mut a, mut b) = (
            std::fs::File::open(&original).expect("original"),
            std::fs::File::open(dir.path().join("copy")).expect("copy"),
        );
        let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
        loop {
            let n = a.read(&mut x).expect("reads");
            let mut m = 0;
            while m < n {
                let got = b.read(&mut y[m..n]).expect("reads");
                assert!(got > 0, "the copy is shorter");
                m += got;
            }
            assert!(x[..n] == y[..n], "the copy differs");
            if n == 0 {
                assert_eq!(b.read(&mut y).expect("reads"), 0, "the copy is longer");
                break;
            }
        }
        // It went up as a multipart upload: S3's ETag of one ends in `-<parts>`.
        let mut client = client(&server.endpoint(), json!({})).await;
        let store = client.store("big").expect("a store");
        let meta = store
            .head(&ObjectPath::from("data/file.bin"))
            .await
            .expect("the object");
        assert_eq!(meta.size, ROUND_TRIP_BYTES);
        let parts = ROUND_TRIP_BYTES.div_ceil(PART_SIZE as u64);
        let etag = meta.e_tag.unwrap_or_default();
        assert!(
            etag.trim_matches('"').ends_with(&format!("-{parts}")),
            "{etag}"
        );
    }

    #[tokio::test]
    async fn a_missing_key_is_file_not_found_and_leaves_no_local_file() {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("sparse");
        let mut client = client(&server.endpoint(), json!({})).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let local = dir.path().join("never");
        let error = client
            .download("sparse/in/gone.csv", &local)
            .await
            .expect_err("no such key");
        assert_eq!(error.code, "file_not_found", "{error:?}");
        assert!(error.message.contains("sparse/in/gone.csv"), "{error:?}");
        assert!(!local.exists());
        let error = client
            .rename("sparse/in/gone.csv", "sparse/archive/gone.csv")
            .await
            .expect_err("no such key");
        assert_eq!(error.code, "file_not_found", "{error:?}");
        let error = client
            .download("no-such-bucket/a.csv", &local)
            .await
            .expect_err("no such bucket");
        assert_eq!(error.code, "bucket_not_found", "{error:?}");
    }

    #[tokio::test]
    async fn delete_removes_the_object() {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("deletes");
        let mut client = client(&server.endpoint(), json!({})).await;
        put_text(&mut client, "deletes/in/a.csv", "a\n").await;
        put_text(&mut client, "deletes/in/b.csv", "b\n").await;
        client.delete("deletes/in/a.csv").await.expect("deletes");
        assert_eq!(
            names(&client.list("deletes/in").await.expect("lists")),
            ["b.csv"]
        );
        let error = get_text(&mut client, "deletes/in/a.csv")
            .await
            .expect_err("gone");
        assert_eq!(error.code, "file_not_found", "{error:?}");
        // As in S3 itself, deleting what is not there is no error.
        client.delete("deletes/in/a.csv").await.expect("no-op");
    }

    #[tokio::test]
    async fn rename_moves_an_object_within_a_bucket_and_across_buckets() {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("moves");
        server.create_bucket("archive");
        let mut client = client(&server.endpoint(), json!({})).await;
        put_text(&mut client, "moves/in/a.csv", "id\n1\n").await;
        put_text(&mut client, "moves/archive/a.csv", "old\n").await;
        client
            .rename("moves/in/a.csv", "moves/archive/a.csv")
            .await
            .expect("moves");
        assert!(client.list("moves/in").await.expect("lists").is_empty());
        assert_eq!(
            get_text(&mut client, "moves/archive/a.csv")
                .await
                .expect("there"),
            "id\n1\n"
        );
        client
            .rename("moves/archive/a.csv", "archive/2024/a.csv")
            .await
            .expect("moves across buckets");
        assert!(
            client
                .list("moves/archive")
                .await
                .expect("lists")
                .is_empty()
        );
        assert_eq!(
            get_text(&mut client, "archive/2024/a.csv")
                .await
                .expect("there"),
            "id\n1\n"
        );
    }

    #[tokio::test]
    async fn paths_and_settings_that_cannot_work_are_refused_before_any_request() {
        let mut client = S3Client::connect(&json!({"endpoint": "http://127.0.0.1:9"}))
            .await
            .expect("anonymous connections are allowed");
        for path in [
            "bucket",
            "bucket/",
            "bucket/dir/",
            "",
            "bad bucket/key",
            "b/../k",
        ] {
            let error = client.download(path, Path::new("/nonexistent")).await;
            assert_eq!(error.expect_err(path).code, "invalid_path", "{path}");
        }
        let error = client.list("bad?bucket").await.expect_err("refused");
        assert_eq!(error.code, "invalid_path");
        for block in [
            json!({"accessKeyId": "AKIA"}),
            json!({"accessKeyId": "AKIA", "secretAccessKey": "s", "endpoint": "ftp://x"}),
            json!({"accessKeyId": "AKIA", "secretAccessKey": "s", "region": "us/east"}),
            json!({"accessKeyId": "AKIA", "secretAccessKey": "s\nx"}),
        ] {
            let error = S3Client::connect(&block).await.err().expect("refused");
            assert_eq!(error.code, "invalid_connection", "{block}");
            assert!(!error.message.contains("s\nx"), "{error:?}");
        }
    }

    #[test]
    fn s3_error_answers_are_read_for_their_code_and_message() {
        let body = "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?>\
                    <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature \
                    we calculated does not match</Message></Error>";
        assert_eq!(status_in(body), Some(403));
        assert_eq!(tag(body, "Code").as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(
            tag(body, "Message").as_deref(),
            Some("The request signature we calculated does not match")
        );
        assert_eq!(tag("<Code></Code>", "Code"), None);
        assert_eq!(status_in("no status"), None);
    }
}
