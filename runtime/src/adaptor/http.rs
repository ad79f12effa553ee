//! The HTTP/REST adaptor: connections of type `rest` (alias `http`), exports that page through
//! a remote API, and imports that send records to it.
//!
//! An [`HttpConnection`] is built once per connection document and shared (`Arc`) by every job
//! that uses it: it owns the HTTP client, the concurrency limit (`concurrencyLevel`, default
//! [`DEFAULT_CONCURRENCY`]) and the OAuth 2.0 token cache. Every request goes through
//! [`HttpConnection::send`], which applies the credentials and custom headers and retries
//! `429` and `503` answers.
//!
//! Choices worth knowing:
//! - `authType` unset means `basic` when `basicAuth` is set, `token` when `bearerToken` is set,
//!   none otherwise. `custom` sends only the connection's `headers`.
//! - An absolute URL (next-page links, proxy calls) must have the origin of `baseURI`: the
//!   connection's credentials are never sent to another host.
//! - Header precedence: media-type defaults < connection `headers` < the request's own headers
//!   (export/import `headers`, proxy) < the credentials of `authType`.
//! - Retries: `429`/`503` wait for `Retry-After` (seconds or HTTP date), else 500 ms, 1 s, 2 s, …;
//!   each wait is capped at 60 s, at most 5 retries, then the answer becomes an
//!   `http_429`/`http_503` error. The concurrency slot is released while waiting.
//! - OAuth 2.0 (client credentials): the token is fetched on first use, cached with its
//!   `expires_in` (renewed a little early), and fetched again once when the API answers 401.
//!   `oauth2.accessToken`, when given, is used until the API refuses it.
//! - `mediaType` `xml`: requests work (proxy, imports with a body template); exports, which
//!   must parse records, answer `not_supported` for now.
//! - Page and skip paging also stop when the API answers the same page twice in a row (it
//!   ignores the paging parameters); url and token paging stop when the next URL/token repeats.
//! - Timeouts: 10 s to connect, 5 min per request; response bodies above 64 MiB are refused.
//!   https uses rustls with the Mozilla root certificates (webpki-roots).
//! - Error messages and logs name the method, host and path of a request, never its query
//!   string, headers or body (they may carry credentials).

use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, Semaphore};

use crate::adaptor::debug::{self, ConnectionLog};
use crate::adaptor::{AdaptorError, ErrorItem, RecordResult};
use crate::flow::template::Template;
use crate::model::check::{get, get_mut};

/// In-flight requests allowed through one connection when `concurrencyLevel` is not set: enough
/// to overlap network latency, few enough not to trip most APIs' rate limits.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most `concurrencyLevel` may ask for; larger values are lowered to it.
pub const MAX_CONCURRENCY: usize = 256;
/// Retries of a `429`/`503` answer before giving up.
pub(super) const MAX_RETRIES: u32 = 5;
/// The first wait before a retry when the answer has no `Retry-After`; doubled each time.
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest single wait before a retry, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Larger responses are refused rather than held in memory.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Characters of a remote body quoted in error messages.
const EXCERPT_CHARS: usize = 200;
/// An OAuth 2.0 token is renewed this long before it expires (or at half its life if shorter),
/// so that it does not expire in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

/// A remote answer, whatever its status.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers in the order received (names lowercase).
    pub headers: Vec<(String, String)>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The response body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum MediaType {
    Json,
    UrlEncoded,
    Xml,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json",
            MediaType::UrlEncoded => "application/x-www-form-urlencoded",
            MediaType::Xml => "application/xml",
        }
    }
}

enum Auth {
    None,
    /// The whole `Authorization` header value.
    Basic(String),
    Token(String),
    OAuth2(OAuth2),
    Custom,
}

/// Where a bearer token goes.
enum TokenLocation {
    Header,
    Query(String),
}

/// Client-credentials grant settings and the token currently in use.
struct OAuth2 {
    token_uri: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    /// Held while a token is fetched, so that concurrent requests wait for one fetch.
    cached: Mutex<Option<AccessToken>>,
}

#[derive(Clone)]
struct AccessToken {
    value: String,
    /// When to fetch a new one; `None` = until the API refuses it.
    renew_at: Option<Instant>,
}

/// One REST/HTTP connection: its client, credentials, custom headers, concurrency limit and
/// OAuth 2.0 token. Build one per connection document and share it with `Arc`.
pub struct HttpConnection {
    id: String,
    /// `baseURI` without query, fragment or trailing slash.
    base: String,
    /// The query string of `baseURI`, kept on every request.
    base_query: Option<String>,
    base_url: Url,
    media_type: MediaType,
    auth: Auth,
    token_location: TokenLocation,
    headers: Vec<(String, Template)>,
    /// What the connection's header templates see: `{"connection": <the block>}`.
    header_context: Value,
    ping_uri: String,
    ping_method: String,
    concurrency: usize,
    limit: Semaphore,
    client: Client,
    /// The first retry wait without `Retry-After` (tests shorten it).
    backoff: Duration,
    /// Where requests and responses are recorded (the connection debug log).
    log: ConnectionLog,
}

impl std::fmt::Debug for HttpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials stay out of debug output.
        f.debug_struct("HttpConnection")
            .field("id", &self.id)
            .field("base", &self.base)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

fn invalid_connection(message: impl Into<String>) -> AdaptorError {
    AdaptorError::new("invalid_connection", message)
}

/// The text of a string (or number) field, `None` when missing or empty.
pub(super) fn text_field(doc: &Value, path: &str) -> Option<String> {
    match get(doc, path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The longest an OAuth 2.0 access token is kept without renewing it: a year.
const MAX_TOKEN_LIFE_SECS: i64 = 365 * 24 * 3600;

pub(super) fn number_field(doc: &Value, path: &str) -> Option<i64> {
    match get(doc, path)? {
        Value::Number(n) => n.as_i64().or(n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `http` (or `rest`) block of a document.
fn adaptor_block<'a>(doc: &'a Value, what: &str) -> Result<&'a Value, AdaptorError> {
    ["http", "rest"]
        .iter()
        .filter_map(|name| doc.get(*name))
        .find(|block| block.is_object())
        .ok_or_else(|| {
            AdaptorError::new(
                format!("invalid_{what}"),
                format!("the {what} has no http (or rest) block"),
            )
        })
}

pub(super) fn compile(field: &str, source: &str) -> Result<Template, AdaptorError> {
    Template::compile(source).map_err(|e| AdaptorError::new("template", format!("{field}: {e}")))
}

pub(super) fn render(
    field: &str,
    template: &Template,
    context: &Value,
) -> Result<String, AdaptorError> {
    template
        .render(context)
        .map_err(|e| AdaptorError::new("template", format!("{field}: {e}")))
}

/// `headers` [{name, value}] with templated values.
fn header_templates(block: &Value, field: &str) -> Result<Vec<(String, Template)>, AdaptorError> {
    let Some(list) = block.get("headers").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(list) = list.as_array() else {
        return Err(AdaptorError::new(
            "invalid_headers",
            format!("{field} must be a list of {{name, value}}"),
        ));
    };
    let mut headers = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let name = entry["name"].as_str().unwrap_or_default().trim();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(AdaptorError::new(
                "invalid_headers",
                format!("{field}[{i}].name '{name}' is not a valid header name"),
            ));
        }
        let value = match &entry["value"] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let template = compile(&format!("{field}[{i}].value ({name})"), &value)?;
        headers.push((name.to_owned(), template));
    }
    Ok(headers)
}

fn render_headers(
    headers: &[(String, Template)],
    context: &Value,
) -> Result<Vec<(String, String)>, AdaptorError> {
    headers
        .iter()
        .map(|(name, template)| {
            render(&format!("header {name}"), template, context).map(|v| (name.clone(), v))
        })
        .collect()
}

/// `scheme://host:port` of a URL, for messages.
pub(super) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url
            .as_str()
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// A URI without its query string or fragment, which may carry credentials.
pub(super) fn without_query(uri: &str) -> &str {
    uri.split(['?', '#']).next().unwrap_or_default()
}

/// The start of a remote body, on one line, for error messages.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > EXCERPT_CHARS * 4 {
            break;
        }
    }
    if out.is_empty() {
        return "(empty body)".into();
    }
    if out.chars().count() > EXCERPT_CHARS {
        out = out.chars().take(EXCERPT_CHARS).collect();
        out.push('…');
    }
    out
}

/// The error for a non-2xx answer to `method uri`.
pub(super) fn status_error(method: &str, uri: &str, response: &HttpResponse) -> AdaptorError {
    // An application that explains itself (`{"errors":[{"code","message"}]}`, or one
    // `{"code","message"}`) is quoted: its code is what hooks and users act on.
    let body: Option<Value> = crate::util::parse_json(&response.body).ok();
    let first = body.as_ref().and_then(|b| match b.get("errors") {
        Some(Value::Array(errors)) => errors.first().cloned(),
        _ => b.get("message").is_some().then(|| b.clone()),
    });
    let remote_code = first.as_ref().and_then(|e| match &e["code"] {
        Value::String(c) if !c.is_empty() => Some(c.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let remote_message = first
        .as_ref()
        .and_then(|e| e["message"].as_str().map(str::to_owned));
    let message = match remote_message {
        Some(m) => format!(
            "{} {} answered {}: {m}",
            method.to_uppercase(),
            without_query(uri),
            response.status
        ),
        None => format!(
            "{} {} answered {}: {}",
            method.to_uppercase(),
            without_query(uri),
            response.status,
            excerpt(&response.body)
        ),
    };
    AdaptorError::new(
        remote_code.unwrap_or_else(|| format!("http_{}", response.status)),
        message,
    )
    .with_status(response.status)
}

/// A transport failure (nothing came back), naming the host and the cause, never the URL.
fn transport_error(error: reqwest::Error, url: &Url) -> AdaptorError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // The innermost cause says what happened (refused, unknown host, …) without the URL.
    let error = error.without_url();
    let mut cause: &dyn std::error::Error = &error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    AdaptorError::new(
        "unreachable",
        format!("cannot reach {}: {what}: {cause}", host_of(url)),
    )
}

/// How long to wait before retrying a `429`/`503` answer (`retries` already made).
pub(super) fn retry_wait(response: &HttpResponse, retries: u32, backoff: Duration) -> Duration {
    let told = response.header("retry-after").and_then(|value| {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<f64>()
            && seconds.is_finite()
        {
            return Some(Duration::from_secs_f64(
                seconds.clamp(0.0, MAX_WAIT.as_secs_f64()),
            ));
        }
        let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let millis = (date.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
        Some(Duration::from_millis(millis.max(0) as u64))
    });
    told.unwrap_or_else(|| backoff.saturating_mul(2u32.saturating_pow(retries)))
        .min(MAX_WAIT)
}

/// An HTTP client with the adaptors' timeouts and user agent (rustls, Mozilla roots).
pub(super) fn new_client() -> Result<Client, AdaptorError> {
    Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("integrator/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AdaptorError::new("internal", format!("HTTP client: {e}")))
}

/// Sends `request` (`method` to `url`) and reads the whole answer, refusing bodies above
/// [`MAX_BODY`]. Nothing coming back is an `unreachable` error naming the host.
pub(super) async fn receive(
    request: reqwest::RequestBuilder,
    method: &Method,
    url: &Url,
) -> Result<HttpResponse, AdaptorError> {
    let mut response = request.send().await.map_err(|e| transport_error(e, url))?;
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(e, url))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(AdaptorError::new(
                "response_too_large",
                format!(
                    "{method} {}{} answered more than {} MiB",
                    host_of(url),
                    url.path(),
                    MAX_BODY / (1024 * 1024)
                ),
            )
            .with_status(status));
        }
        body.extend_from_slice(&chunk);
    }
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value.clone());
    Ok(HttpResponse {
        status,
        headers,
        content_type,
        body,
    })
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn form_component(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0xf)] as char);
            }
        }
    }
}

fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        form_component(name, &mut out);
        out.push('=');
        form_component(value, &mut out);
    }
    out
}

impl HttpConnection {
    /// Builds the connection from its document (secrets already opened by
    /// [`crate::adaptor::open_connection`]). Fails when `baseURI` is missing or invalid, the
    /// media type or auth type is unknown, or credentials the auth type needs are missing.
    pub fn from_doc(connection: &Value) -> Result<HttpConnection, AdaptorError> {
        let kind = connection["type"].as_str().unwrap_or("http");
        let block = connection
            .get(kind)
            .filter(|b| b.is_object())
            .map(Ok)
            .unwrap_or_else(|| adaptor_block(connection, "connection"))?;

        let base_text = text_field(block, "baseURI")
            .ok_or_else(|| invalid_connection("baseURI is required"))?;
        let mut base_url = Url::parse(base_text.trim())
            .map_err(|e| invalid_connection(format!("baseURI is not a valid URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(invalid_connection("baseURI must be an http or https URL"));
        }
        base_url.set_fragment(None);
        let base_query = base_url
            .query()
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        base_url.set_query(None);
        let base = base_url.as_str().trim_end_matches('/').to_owned();

        let media_type = match text_field(block, "mediaType").as_deref() {
            None | Some("json") => MediaType::Json,
            Some("urlencoded") => MediaType::UrlEncoded,
            Some("xml") => MediaType::Xml,
            Some(other) => {
                return Err(invalid_connection(format!(
                    "mediaType '{other}' is not one of json, urlencoded, xml"
                )));
            }
        };

        let basic_user = text_field(block, "basicAuth.username");
        let bearer = text_field(block, "bearerToken");
        let auth_type = text_field(block, "authType").unwrap_or_else(|| {
            if basic_user.is_some() {
                "basic".into()
            } else if bearer.is_some() {
                "token".into()
            } else {
                String::new()
            }
        });
        let auth = match auth_type.as_str() {
            "" => Auth::None,
            "basic" => {
                let user = basic_user
                    .ok_or_else(|| invalid_connection("basic auth needs basicAuth.username"))?;
                let password = text_field(block, "basicAuth.password").unwrap_or_default();
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Auth::Basic(format!("Basic {encoded}"))
            }
            "token" => Auth::Token(
                bearer.ok_or_else(|| invalid_connection("token auth needs bearerToken"))?,
            ),
            "oauth2" => {
                let need = |field: &str| {
                    text_field(block, &format!("oauth2.{field}"))
                        .ok_or_else(|| invalid_connection(format!("oauth2 needs oauth2.{field}")))
                };
                let cached = text_field(block, "oauth2.accessToken").map(|value| AccessToken {
                    value,
                    renew_at: None,
                });
                Auth::OAuth2(OAuth2 {
                    token_uri: need("tokenURI")?,
                    client_id: need("clientId")?,
                    client_secret: need("clientSecret")?,
                    scope: text_field(block, "oauth2.scope"),
                    cached: Mutex::new(cached),
                })
            }
            "custom" => Auth::Custom,
            other => {
                return Err(invalid_connection(format!(
                    "authType '{other}' is not one of basic, token, oauth2, custom"
                )));
            }
        };
        let token_location = match text_field(block, "tokenLocation").as_deref() {
            None | Some("header") => TokenLocation::Header,
            Some("url") => TokenLocation::Query(
                text_field(block, "tokenParam").unwrap_or_else(|| "access_token".into()),
            ),
            Some(other) => {
                return Err(invalid_connection(format!(
                    "tokenLocation '{other}' is not one of header, url"
                )));
            }
        };

        let headers = header_templates(block, "headers")?;
        let header_context = if headers.iter().all(|(_, t)| t.is_literal()) {
            Value::Null
        } else {
            json!({ "connection": block })
        };
        let concurrency = number_field(block, "concurrencyLevel")
            .filter(|n| *n > 0)
            .map(|n| (n as usize).min(MAX_CONCURRENCY))
            .unwrap_or(DEFAULT_CONCURRENCY);
        let client = new_client()?;

        Ok(HttpConnection {
            id: connection["_id"].as_str().unwrap_or_default().to_owned(),
            base,
            base_query,
            base_url,
            media_type,
            auth,
            token_location,
            headers,
            header_context,
            ping_uri: text_field(block, "pingRelativeURI").unwrap_or_default(),
            ping_method: text_field(block, "pingMethod")
                .map(|m| m.to_uppercase())
                .unwrap_or_else(|| "GET".into()),
            concurrency,
            limit: Semaphore::new(concurrency),
            client,
            backoff: FIRST_BACKOFF,
            log: ConnectionLog::default(),
        })
    }

    /// The same connection, recording its requests and responses in `log`.
    pub fn with_log(mut self, log: ConnectionLog) -> Self {
        self.log = log;
        self
    }

    /// How many requests may be in flight through this connection at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Sends `pingMethod` (default GET) to `baseURI` + `pingRelativeURI`: Ok on a 2xx answer,
    /// else an error with the remote status and the start of its body (401/403 mark an auth
    /// failure).
    pub async fn ping(&self) -> Result<(), AdaptorError> {
        let response = self
            .send(&self.ping_method, &self.ping_uri, &[], None)
            .await?;
        if response.is_success() {
            Ok(())
        } else {
            let uri = if self.ping_uri.is_empty() {
                "/"
            } else {
                &self.ping_uri
            };
            Err(status_error(&self.ping_method, uri, &response))
        }
    }

    /// Sends one request through the connection, with its credentials and custom headers,
    /// within its concurrency limit. `relative_uri` is joined to `baseURI`; an absolute
    /// http(s) URL is used as is if it has the origin of `baseURI`. Returns the answer whatever
    /// its status, except `429`/`503` still answered after the retries (an `http_429` /
    /// `http_503` error). Nothing coming back is an `unreachable` error naming the host.
    pub async fn send(
        &self,
        method: &str,
        relative_uri: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, AdaptorError> {
        let method = Method::from_bytes(method.trim().to_uppercase().as_bytes()).map_err(|_| {
            AdaptorError::new(
                "invalid_request",
                format!("'{method}' is not an HTTP method"),
            )
        })?;
        let url = self.resolve(relative_uri)?;
        let header_map = self.header_map(headers, body.is_some())?;
        let mut retries = 0;
        let mut renewed = false;
        loop {
            let token = self.bearer_token().await?;
            let response = self
                .attempt(&method, &url, &header_map, body.as_ref(), token.as_deref())
                .await?;
            if response.status == 401
                && !renewed
                && let Auth::OAuth2(oauth) = &self.auth
            {
                // The token may have been revoked or expired early: one new token, one retry.
                renewed = true;
                forget_token(oauth, token.as_deref()).await;
                continue;
            }
            if matches!(response.status, 429 | 503) {
                if retries >= MAX_RETRIES {
                    let mut error = status_error(method.as_str(), url.path(), &response);
                    error.message = format!("{} (after {retries} retries)", error.message);
                    return Err(error);
                }
                let wait = retry_wait(&response, retries, self.backoff);
                tracing::debug!(
                    connection = %self.id,
                    status = response.status,
                    wait_ms = wait.as_millis() as u64,
                    "remote asked to slow down; retrying"
                );
                tokio::time::sleep(wait).await;
                retries += 1;
                continue;
            }
            return Ok(response);
        }
    }

    /// The URL for `uri`: relative ones joined to `baseURI`, absolute ones checked to stay on
    /// its origin.
    fn resolve(&self, uri: &str) -> Result<Url, AdaptorError> {
        let uri = uri.trim();
        let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url = Url::parse(uri).map_err(|e| {
                AdaptorError::new("invalid_url", format!("the URL is not valid: {e}"))
            })?;
            if url.origin() != self.base_url.origin() {
                return Err(AdaptorError::new(
                    "invalid_url",
                    format!(
                        "{} is not the host of the connection ({}); its credentials are only sent there",
                        host_of(&url),
                        host_of(&self.base_url)
                    ),
                ));
            }
            return Ok(url);
        }
        let (path, query) = match uri.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (uri, None),
        };
        let mut joined = self.base.clone();
        let path = path.trim_start_matches('/');
        if !path.is_empty() {
            joined.push('/');
            joined.push_str(path);
        } else if self.base_url.path() == "/" {
            joined.push('/');
        }
        let queries: Vec<&str> = [self.base_query.as_deref(), query]
            .into_iter()
            .flatten()
            .filter(|q| !q.is_empty())
            .collect();
        if !queries.is_empty() {
            joined.push('?');
            joined.push_str(&queries.join("&"));
        }
        Url::parse(&joined).map_err(|e| {
            AdaptorError::new(
                "invalid_url",
                format!("'{}' does not make a valid URL: {e}", without_query(uri)),
            )
        })
    }

    /// Every header but the credentials: media-type defaults, the connection's headers, then
    /// the request's.
    fn header_map(
        &self,
        headers: &[(String, String)],
        has_body: bool,
    ) -> Result<HeaderMap, AdaptorError> {
        let mut map = HeaderMap::new();
        if self.media_type == MediaType::Json {
            map.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        }
        if has_body {
            map.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.media_type.content_type()),
            );
        }
        let connection_headers = render_headers(&self.headers, &self.header_context)?;
        for (name, value) in connection_headers.iter().chain(headers) {
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                AdaptorError::new(
                    "invalid_headers",
                    format!("'{name}' is not a valid header name"),
                )
            })?;
            let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
                AdaptorError::new(
                    "invalid_headers",
                    format!("the value of header {name} is not valid header text"),
                )
            })?;
            // Custom headers often carry API keys: keep them out of debug output.
            value.set_sensitive(true);
            map.insert(name, value);
        }
        Ok(map)
    }

    /// The bearer token to send, fetching an OAuth 2.0 token when none is fresh.
    async fn bearer_token(&self) -> Result<Option<String>, AdaptorError> {
        match &self.auth {
            Auth::Token(token) => Ok(Some(token.clone())),
            Auth::OAuth2(oauth) => {
                let mut cached = oauth.cached.lock().await;
                if let Some(token) = cached.as_ref()
                    && token.renew_at.is_none_or(|at| Instant::now() < at)
                {
                    return Ok(Some(token.value.clone()));
                }
                let token = self.fetch_token(oauth).await?;
                let value = token.value.clone();
                *cached = Some(token);
                Ok(Some(value))
            }
            Auth::None | Auth::Basic(_) | Auth::Custom => Ok(None),
        }
    }

    /// A new token by the client-credentials grant.
    async fn fetch_token(&self, oauth: &OAuth2) -> Result<AccessToken, AdaptorError> {
        let lower = oauth.token_uri.to_ascii_lowercase();
        let url = if lower.starts_with("http://") || lower.starts_with("https://") {
            // The token endpoint is often on another host than the API.
            Url::parse(&oauth.token_uri).map_err(|e| {
                invalid_connection(format!("oauth2.tokenURI is not a valid URL: {e}"))
            })?
        } else {
            self.resolve(&oauth.token_uri)?
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", oauth.client_id.as_str()),
            ("client_secret", oauth.client_secret.as_str()),
        ];
        if let Some(scope) = &oauth.scope {
            form.push(("scope", scope.as_str()));
        }
        let auth_error = |message: String, status: Option<u16>| AdaptorError {
            code: "oauth2_token".into(),
            message,
            status,
            auth: true,
        };
        let started = Instant::now();
        let response = self
            .client
            .post(url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, MediaType::UrlEncoded.content_type())
            .body(form_encode(form))
            .send()
            .await
            .map_err(|e| transport_error(e, &url));
        if self.log.is_on() {
            // The form carries the client secret and the answer the token: neither is kept.
            let mut entry = serde_json::Map::new();
            entry.insert("method".into(), "POST".into());
            entry.insert("url".into(), url.as_str().into());
            entry.insert(
                "durationMs".into(),
                (started.elapsed().as_millis() as u64).into(),
            );
            match &response {
                Ok(r) => entry.insert("status".into(), r.status().as_u16().into()),
                Err(e) => entry.insert("error".into(), e.message.clone().into()),
            };
            entry.insert(
                "note".into(),
                "OAuth 2.0 token request (bodies are not recorded)".into(),
            );
            self.log.record(entry);
        }
        let response = response?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(e, &url))?;
        if !(200..300).contains(&status) {
            return Err(auth_error(
                format!(
                    "the OAuth 2.0 token endpoint {}{} answered {status}: {}",
                    host_of(&url),
                    url.path(),
                    excerpt(&body)
                ),
                Some(status),
            ));
        }
        let answer: Value = crate::util::parse_json(&body).unwrap_or(Value::Null);
        let Some(value) = answer["access_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(auth_error(
                format!(
                    "the OAuth 2.0 token endpoint {}{} answered without an access_token",
                    host_of(&url),
                    url.path()
                ),
                Some(status),
            ));
        };
        // A lifetime past a year (or absurd, as `i64::MAX` seconds) is taken as a year.
        let renew_at = number_field(&answer, "expires_in").map(|seconds| {
            let life = Duration::from_secs(seconds.clamp(0, MAX_TOKEN_LIFE_SECS) as u64);
            Instant::now() + life.saturating_sub(TOKEN_MARGIN.min(life / 2))
        });
        tracing::debug!(connection = %self.id, host = %host_of(&url), "fetched an OAuth 2.0 token");
        Ok(AccessToken {
            value: value.to_owned(),
            renew_at,
        })
    }

    /// One request and its whole answer, holding a concurrency slot meanwhile.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&Vec<u8>>,
        token: Option<&str>,
    ) -> Result<HttpResponse, AdaptorError> {
        let mut url = url.clone();
        let mut headers = headers.clone();
        let sensitive = |value: &str| {
            HeaderValue::from_str(value)
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
                .map_err(|_| invalid_connection("the credentials are not valid header text"))
        };
        match (&self.auth, token) {
            (Auth::Basic(value), _) => {
                headers.insert(header::AUTHORIZATION, sensitive(value)?);
            }
            (Auth::Token(_) | Auth::OAuth2(_), Some(token)) => match &self.token_location {
                TokenLocation::Header => {
                    headers.insert(
                        header::AUTHORIZATION,
                        sensitive(&format!("Bearer {token}"))?,
                    );
                }
                TokenLocation::Query(param) => {
                    url.query_pairs_mut().append_pair(param, token);
                }
            },
            _ => {}
        }

        // The semaphore is never closed, so acquiring only fails if it were.
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|_| AdaptorError::new("internal", "the connection is shut down"))?;
        let logged = self
            .log
            .is_on()
            .then(|| self.request_entry(method, &url, &headers, body));
        let started = Instant::now();
        let result = self.exchange(method, url, headers, body).await;
        if let Some(entry) = logged {
            debug::record_exchange(&self.log, entry, started, &result);
        }
        result
    }

    /// What the debug log shows of a request: method, URL (a token parameter masked), headers
    /// (credentials and custom headers masked) and the start of the body.
    fn request_entry(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&Vec<u8>>,
    ) -> serde_json::Map<String, Value> {
        let mut url = url.clone();
        if let TokenLocation::Query(param) = &self.token_location
            && url.query_pairs().any(|(name, _)| name == param.as_str())
        {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(name, value)| {
                    let value = if name == param.as_str() {
                        debug::MASK.to_owned()
                    } else {
                        value.into_owned()
                    };
                    (name.into_owned(), value)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        debug::request_entry(
            method.as_str(),
            url.as_str(),
            headers,
            body.map(Vec::as_slice),
        )
    }

    /// Send the request and read the whole answer.
    async fn exchange(
        &self,
        method: &Method,
        url: Url,
        headers: HeaderMap,
        body: Option<&Vec<u8>>,
    ) -> Result<HttpResponse, AdaptorError> {
        let started = Instant::now();
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .headers(headers);
        if let Some(body) = body {
            request = request.body(body.clone());
        }
        let response = receive(request, method, &url).await?;
        tracing::debug!(
            connection = %self.id,
            %method,
            host = %host_of(&url),
            path = url.path(),
            status = response.status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "http request"
        );
        Ok(response)
    }
}

/// Drops the cached token if it is still the one the API refused (another request may have
/// renewed it already).
async fn forget_token(oauth: &OAuth2, refused: Option<&str>) {
    let mut cached = oauth.cached.lock().await;
    if cached.as_ref().map(|t| t.value.as_str()) == refused {
        *cached = None;
    }
}

/// The JSON of a response body; null for an empty body.
pub(super) fn json_body(
    response: &HttpResponse,
    method: &str,
    uri: &str,
) -> Result<Value, AdaptorError> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    crate::util::parse_json(&response.body).map_err(|e| {
        AdaptorError::new(
            "invalid_response",
            format!(
                "the answer to {} {} is not JSON ({e}): {}",
                method.to_uppercase(),
                without_query(uri),
                excerpt(&response.body)
            ),
        )
        .with_status(response.status)
    })
}

pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How many records the body holds at `path` (an array, or one object); null holds none.
pub(super) fn record_count(body: &Value, path: Option<&str>) -> Result<usize, AdaptorError> {
    let target = match path {
        _ if body.is_null() => return Ok(0),
        None => body,
        Some(path) => get(body, path).ok_or_else(|| {
            AdaptorError::new(
                "invalid_response",
                format!("the response has nothing at resourcePath '{path}'"),
            )
        })?,
    };
    match target {
        Value::Array(items) => Ok(items.len()),
        Value::Object(_) => Ok(1),
        Value::Null => Ok(0),
        other => Err(AdaptorError::new(
            "invalid_response",
            format!(
                "resourcePath '{}' leads to {}, not to records (an array or an object)",
                path.unwrap_or_default(),
                kind_of(other)
            ),
        )),
    }
}

pub(super) fn take_records(mut body: Value, path: Option<&str>) -> Vec<Value> {
    let target = match path {
        None => body,
        Some(path) => get_mut(&mut body, path)
            .map(Value::take)
            .unwrap_or_default(),
    };
    match target {
        Value::Array(items) => items,
        Value::Object(_) => vec![target],
        _ => Vec::new(),
    }
}

/// Text at `path` for a next-page URL or token: `None` when missing, null or empty.
fn text_at(body: &Value, path: &str) -> Option<String> {
    match get(body, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether two configured/received values match, also across types (`"true"` and `true`).
fn same_value(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    a == b || text(a) == text(b)
}

/// The `rel="next"` target of the `Link` headers.
fn next_link(response: &HttpResponse) -> Option<String> {
    let is_next = |param: &str| {
        param.split_once('=').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        })
    };
    for (_, value) in response.headers.iter().filter(|(n, _)| n == "link") {
        let mut rest = value.as_str();
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            let end = after.find('>')?;
            let params = &after[end + 1..];
            // The parameters of this link end where the next link starts.
            let params_end = params.find('<').unwrap_or(params.len());
            if params[..params_end].split([';', ',']).any(is_next) {
                return Some(after[..end].trim().to_owned());
            }
            rest = &params[params_end..];
        }
    }
    None
}

/// The object at `path` in `value`, made (replacing whatever else was there) if needed.
fn object_at<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    let Value::Object(map) = value else {
        unreachable!("replaced by an object just above")
    };
    match path.split_first() {
        None => map,
        Some((first, rest)) => object_at(map.entry(*first).or_insert(Value::Null), rest),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PagingMethod {
    Page,
    Skip,
    Url,
    LinkHeader,
    Token,
}

struct Paging {
    method: PagingMethod,
    first_page: i64,
    first_skip: i64,
    /// For `url`: the next page URL; for `token`: the next token.
    path: Option<String>,
    /// For `token`: the relative URI of every request after the first.
    relative_uri: Option<Template>,
    last_page_path: Option<String>,
    last_page_value: Option<Value>,
    max_page_path: Option<String>,
}

/// Where a paged export stands.
#[derive(Debug, Clone, Default)]
struct Position {
    page: i64,
    skip: i64,
    token: Option<String>,
    next_url: Option<String>,
    started: bool,
    done: bool,
    /// Hash of the last body (page and skip paging), to stop when the API ignores paging.
    last_body: Option<u64>,
}

/// An export pulling records page by page from a REST API. Each call of
/// [`HttpExport::next_page`] makes one request (more only to skip empty pages that still lead
/// further); [`HttpExport::state`] tells where it stands so that [`HttpExport::resume`] can
/// continue in another call.
pub struct HttpExport {
    connection: Arc<HttpConnection>,
    /// Boxed: the settings are large and exporters are moved around in enums.
    plan: Box<ExportPlan>,
    context: Value,
    position: Position,
}

/// What an export requests, from its document.
struct ExportPlan {
    method: String,
    relative_uri: Template,
    body: Option<Template>,
    headers: Vec<(String, Template)>,
    resource_path: Option<String>,
    paging: Option<Paging>,
}

impl HttpExport {
    /// An export of `export` (the export document, read from its `http` or `rest` block)
    /// through `connection`. `context` is what its templates see (`lastExportDateTime`,
    /// `currentExportDateTime`, `settings`, `export`, …); each request adds
    /// `export.http.paging.page`, `.skip` and `.token`.
    pub fn new(
        connection: Arc<HttpConnection>,
        export: &Value,
        context: Value,
    ) -> Result<HttpExport, AdaptorError> {
        let block = adaptor_block(export, "export")?;
        if connection.media_type == MediaType::Xml {
            return Err(AdaptorError::new(
                "not_supported",
                "exports through an xml connection are not supported yet",
            ));
        }
        let relative_uri = compile(
            "relativeURI",
            &text_field(block, "relativeURI").unwrap_or_default(),
        )?;
        let body = match text_field(block, "body") {
            Some(body) => Some(compile("body", &body)?),
            None => None,
        };
        let paging = match block.get("paging").filter(|p| p.is_object()) {
            Some(paging) => Some(parse_paging(paging)?),
            None => None,
        };
        let position = Position {
            page: paging.as_ref().map_or(1, |p| p.first_page),
            skip: paging.as_ref().map_or(0, |p| p.first_skip),
            ..Position::default()
        };
        Ok(HttpExport {
            connection,
            plan: Box::new(ExportPlan {
                method: text_field(block, "method")
                    .map(|m| m.to_uppercase())
                    .unwrap_or_else(|| "GET".into()),
                relative_uri,
                body,
                headers: header_templates(block, "headers")?,
                resource_path: text_field(block, "response.resourcePath"),
                paging,
            }),
            context,
            position,
        })
    }

    /// Continues an export from a position [`HttpExport::state`] returned.
    pub fn resume(
        connection: Arc<HttpConnection>,
        export: &Value,
        context: Value,
        state: Value,
    ) -> Result<HttpExport, AdaptorError> {
        let mut exporter = HttpExport::new(connection, export, context)?;
        if !state.is_object() {
            return Err(AdaptorError::new(
                "invalid_state",
                "the paged export state is not an object",
            ));
        }
        let position = &mut exporter.position;
        position.page = number_field(&state, "page").unwrap_or(position.page);
        position.skip = number_field(&state, "skip").unwrap_or(position.skip);
        position.token = text_field(&state, "token");
        position.next_url = text_field(&state, "url");
        position.started = state["started"].as_bool().unwrap_or(false);
        position.done = state["done"].as_bool().unwrap_or(false);
        Ok(exporter)
    }

    /// Where the export stands, as JSON: `page`, `skip`, `token`, `url` (the next page's),
    /// `started`, `done`.
    pub fn state(&self) -> Value {
        let p = &self.position;
        json!({
            "page": p.page,
            "skip": p.skip,
            "token": p.token,
            "url": p.next_url,
            "started": p.started,
            "done": p.done,
        })
    }

    /// The records of the next page, or `None` when the export is done. Non-2xx answers are
    /// errors with the status; a non-JSON body or a `resourcePath` that does not lead to
    /// records is `invalid_response`.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, AdaptorError> {
        loop {
            if self.position.done {
                return Ok(None);
            }
            let (uri, response) = self.request().await?;
            let body = json_body(&response, &self.plan.method, &uri)?;
            let count = record_count(&body, self.plan.resource_path.as_deref())?;
            self.position.started = true;
            if self.repeats(&response.body) {
                tracing::warn!(
                    connection = %self.connection.id,
                    path = without_query(&uri),
                    "the API answered the same page twice; it seems to ignore the paging parameters, stopping"
                );
                self.position.done = true;
                return Ok(None);
            }
            self.advance(&body, &response, count, &uri)?;
            if count > 0 {
                return Ok(Some(take_records(body, self.plan.resource_path.as_deref())));
            }
        }
    }

    /// The template context of the next request.
    fn request_context(&self) -> Value {
        let mut context = self.context.clone();
        let paging = object_at(&mut context, &["export", "http", "paging"]);
        paging.insert("page".into(), json!(self.position.page));
        paging.insert("skip".into(), json!(self.position.skip));
        paging.insert("token".into(), json!(self.position.token));
        context
    }

    /// Sends the next request; returns its URI and a 2xx answer.
    async fn request(&self) -> Result<(String, HttpResponse), AdaptorError> {
        let context = self.request_context();
        let uri = match &self.position.next_url {
            Some(url) if self.position.started => url.clone(),
            _ => {
                let template = match &self.plan.paging {
                    Some(Paging {
                        method: PagingMethod::Token,
                        relative_uri: Some(later),
                        ..
                    }) if self.position.started => later,
                    _ => &self.plan.relative_uri,
                };
                render("relativeURI", template, &context)?
            }
        };
        let body = match &self.plan.body {
            Some(template) => Some(render("body", template, &context)?.into_bytes()),
            None => None,
        };
        let headers = render_headers(&self.plan.headers, &context)?;
        let response = self
            .connection
            .send(&self.plan.method, &uri, &headers, body)
            .await?;
        if !response.is_success() {
            return Err(status_error(&self.plan.method, &uri, &response));
        }
        Ok((uri, response))
    }

    /// Whether a page/skip-paged API answered exactly the previous page again.
    fn repeats(&mut self, body: &[u8]) -> bool {
        if !matches!(
            self.plan.paging.as_ref().map(|p| p.method),
            Some(PagingMethod::Page | PagingMethod::Skip)
        ) {
            return false;
        }
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let hash = hasher.finish();
        let repeated = self.position.last_body == Some(hash);
        self.position.last_body = Some(hash);
        repeated
    }

    /// Moves to the next page after an answer with `count` records, or marks the export done.
    fn advance(
        &mut self,
        body: &Value,
        response: &HttpResponse,
        count: usize,
        uri: &str,
    ) -> Result<(), AdaptorError> {
        let position = &mut self.position;
        let Some(paging) = &self.plan.paging else {
            position.done = true;
            return Ok(());
        };
        let past_last = || {
            AdaptorError::new(
                "invalid_export",
                "paging went past the largest page number or skip there is",
            )
        };
        let max = paging
            .max_page_path
            .as_deref()
            .and_then(|path| number_field(body, path));
        match paging.method {
            PagingMethod::Page => {
                if count == 0 || max.is_some_and(|max| position.page >= max) {
                    position.done = true;
                }
                position.page = position.page.checked_add(1).ok_or_else(past_last)?;
            }
            PagingMethod::Skip => {
                position.skip = (position.skip)
                    .checked_add(count as i64)
                    .ok_or_else(past_last)?;
                if count == 0 || max.is_some_and(|max| position.skip >= max) {
                    position.done = true;
                }
            }
            PagingMethod::Url => {
                let next = paging.path.as_deref().and_then(|path| text_at(body, path));
                match next {
                    // The same URL again would loop forever.
                    Some(next) if next != uri => position.next_url = Some(next),
                    _ => position.done = true,
                }
            }
            PagingMethod::LinkHeader => match next_link(response) {
                Some(link) => {
                    let current = self.connection.resolve(uri)?;
                    let next = current.join(&link).map_err(|e| {
                        AdaptorError::new(
                            "invalid_response",
                            format!("the Link header's next URL is not valid: {e}"),
                        )
                    })?;
                    if next == current {
                        position.done = true;
                    } else {
                        position.next_url = Some(next.into());
                    }
                }
                None => position.done = true,
            },
            PagingMethod::Token => {
                let next = paging.path.as_deref().and_then(|path| text_at(body, path));
                match next {
                    Some(next) if Some(&next) != position.token.as_ref() => {
                        position.token = Some(next)
                    }
                    _ => position.done = true,
                }
            }
        }
        if let (Some(path), Some(last)) = (&paging.last_page_path, &paging.last_page_value)
            && get(body, path).is_some_and(|value| same_value(value, last))
        {
            position.done = true;
        }
        Ok(())
    }
}

fn parse_paging(paging: &Value) -> Result<Paging, AdaptorError> {
    let invalid = |message: String| AdaptorError::new("invalid_export", message);
    let method = match text_field(paging, "method").as_deref() {
        Some("page") => PagingMethod::Page,
        Some("skip") => PagingMethod::Skip,
        Some("url") => PagingMethod::Url,
        Some("linkheader") => PagingMethod::LinkHeader,
        Some("token") => PagingMethod::Token,
        Some(other) => {
            return Err(invalid(format!(
                "paging.method '{other}' is not one of page, skip, url, linkheader, token"
            )));
        }
        None => return Err(invalid("paging.method is required".into())),
    };
    let path = text_field(paging, "path");
    if matches!(method, PagingMethod::Url | PagingMethod::Token) && path.is_none() {
        return Err(invalid(format!(
            "paging.path is required with the {} paging method",
            if method == PagingMethod::Url {
                "url"
            } else {
                "token"
            }
        )));
    }
    let relative_uri = match text_field(paging, "relativeURI") {
        Some(uri) => Some(compile("paging.relativeURI", &uri)?),
        None => None,
    };
    let start = |field: &str, default: i64| match number_field(paging, field) {
        None => Ok(default),
        Some(n) if (0..=MAX_PAGING_START).contains(&n) => Ok(n),
        Some(n) => Err(invalid(format!(
            "paging.{field} must be between 0 and {MAX_PAGING_START}, not {n}"
        ))),
    };
    Ok(Paging {
        method,
        first_page: start("page", 1)?,
        first_skip: start("skip", 0)?,
        path,
        relative_uri,
        last_page_path: text_field(paging, "lastPagePath"),
        last_page_value: paging
            .get("lastPageValue")
            .filter(|v| !v.is_null())
            .cloned(),
        max_page_path: text_field(paging, "maxPagePath"),
    })
}

/// The largest first page number or skip an export's paging may give.
const MAX_PAGING_START: i64 = 1_000_000_000_000;

/// A request ready to send: URI, headers and body.
type Request = (String, Vec<(String, String)>, Option<Vec<u8>>);

/// An import's request settings.
struct ImportConfig {
    method: String,
    relative_uri: Template,
    body: Option<Template>,
    headers: Vec<(String, Template)>,
    /// Whether any template reads the context (else building it is skipped).
    templated: bool,
    batch_size: usize,
    resource_path: Option<String>,
    id_path: String,
    success_path: Option<String>,
    success_values: Vec<Value>,
}

impl ImportConfig {
    fn from_doc(import: &Value, media_type: MediaType) -> Result<ImportConfig, AdaptorError> {
        let block = adaptor_block(import, "import")?;
        let relative_uri = compile(
            "relativeURI",
            &text_field(block, "relativeURI").unwrap_or_default(),
        )?;
        let body = match text_field(block, "body") {
            Some(body) => Some(compile("body", &body)?),
            None => None,
        };
        if media_type == MediaType::Xml && body.is_none() {
            return Err(AdaptorError::new(
                "not_supported",
                "records are not converted to XML yet: give the import a body template",
            ));
        }
        let headers = header_templates(block, "headers")?;
        let templated = !relative_uri.is_literal()
            || body.as_ref().is_some_and(|b| !b.is_literal())
            || headers.iter().any(|(_, t)| !t.is_literal());
        let batch_size = number_field(block, "batchSize").unwrap_or(1).max(1) as usize;
        if batch_size > 1 && media_type == MediaType::UrlEncoded && body.is_none() {
            return Err(AdaptorError::new(
                "not_supported",
                "a batch cannot be form-encoded: give the import a body template",
            ));
        }
        let success_values = match block.pointer("/response/successValues") {
            Some(Value::Array(values)) => values.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(value) => vec![value.clone()],
        };
        Ok(ImportConfig {
            method: text_field(block, "method")
                .map(|m| m.to_uppercase())
                .unwrap_or_else(|| "POST".into()),
            relative_uri,
            body,
            headers,
            templated,
            batch_size,
            resource_path: text_field(block, "response.resourcePath"),
            id_path: text_field(block, "response.idPath").unwrap_or_else(|| "id".into()),
            success_path: text_field(block, "response.successPath"),
            success_values,
        })
    }

    /// URI, headers and body of one request; `default_body` when there is no body template.
    fn build(
        &self,
        context: &Value,
        default_body: impl FnOnce() -> Result<Option<Vec<u8>>, AdaptorError>,
    ) -> Result<Request, AdaptorError> {
        let uri = render("relativeURI", &self.relative_uri, context)?;
        let headers = render_headers(&self.headers, context)?;
        let body = match &self.body {
            Some(template) => Some(render("body", template, context)?.into_bytes()),
            None => default_body()?,
        };
        Ok((uri, headers, body))
    }

    /// The result of one record given its entry in a 2xx answer.
    fn outcome(&self, entry: Option<&Value>, json: Option<Value>) -> RecordResult {
        if let Some(path) = &self.success_path {
            let value = entry.and_then(|e| get(e, path));
            let ok = match value {
                None => false,
                // Without successValues, any truthy value means success.
                Some(v) if self.success_values.is_empty() => {
                    !matches!(v, Value::Null | Value::Bool(false))
                        && v.as_str() != Some("")
                        && v.as_f64() != Some(0.0)
                }
                Some(v) => self.success_values.iter().any(|s| same_value(s, v)),
            };
            if !ok {
                let shown = value.map_or_else(|| "missing".to_owned(), Value::to_string);
                let mut result = RecordResult::failure(
                    422,
                    http_error(
                        "unsuccessful",
                        format!(
                            "the response's {path} is {shown}, not one of {}",
                            Value::Array(self.success_values.clone())
                        ),
                    ),
                );
                result.json = json;
                return result;
            }
        }
        let id = entry
            .and_then(|e| get(e, &self.id_path))
            .filter(|id| !id.is_null())
            .cloned();
        RecordResult::success(id, json)
    }
}

fn http_error(code: impl Into<String>, message: impl Into<String>) -> ErrorItem {
    ErrorItem {
        code: code.into(),
        message: message.into(),
        source: Some("http".into()),
    }
}

/// A record's failure from an adaptor error: 401 for refused credentials, else 422.
fn failed(error: &AdaptorError) -> RecordResult {
    RecordResult::failure(
        if error.auth { 401 } else { 422 },
        http_error(error.code.clone(), error.message.clone()),
    )
}

/// The body's JSON, or its text as a JSON string when it is not JSON; `None` when empty.
pub(super) fn response_json(response: &HttpResponse) -> Option<Value> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(
        crate::util::parse_json(&response.body).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&response.body).into_owned())
        }),
    )
}

/// The default body of one record: JSON, or its top-level fields form-encoded.
fn record_body(record: &Value, media_type: MediaType) -> Result<Option<Vec<u8>>, AdaptorError> {
    if media_type == MediaType::UrlEncoded {
        let fields: Vec<(&str, String)> = record
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(name, value)| {
                        let text = match value {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        (name.as_str(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Some(
            form_encode(fields.iter().map(|(n, v)| (*n, v.as_str()))).into_bytes(),
        ));
    }
    serde_json::to_vec(record)
        .map(Some)
        .map_err(|e| AdaptorError::new("invalid_record", format!("record: {e}")))
}

/// What an import's templates see for one record: the record's own fields, the context's
/// (which win on a clash), and `record`.
fn record_context(context: &Value, record: &Value) -> Value {
    let mut map = match record {
        Value::Object(fields) => fields.clone(),
        _ => Map::new(),
    };
    if let Value::Object(context) = context {
        for (name, value) in context {
            map.insert(name.clone(), value.clone());
        }
    }
    map.insert("record".into(), record.clone());
    Value::Object(map)
}

/// Submits `records` (already mapped) for one import through `connection`: one
/// [`RecordResult`] per record, in the same order.
///
/// Import `http` (or `rest`) block: `relativeURI` and `body` are templates that see the
/// context, the record as `record` and the record's fields at the top level (context names
/// such as `settings` win; `record.x` always reaches the record). `method` defaults to POST,
/// `body` to the record as JSON (form fields for urlencoded connections; none for DELETE).
/// `batchSize` > 1 sends records in batches: the body is a JSON array of them, or the body
/// template rendered with `batch_of_records`, and the answer (or its `response.resourcePath`)
/// must be an array with one entry per record. A record's `id` is read at `response.idPath`
/// (default `id`) of its answer; with `response.successPath`, the value there must be one of
/// `response.successValues` (or truthy when none are given). Requests run concurrently up to
/// the connection's concurrency level.
pub async fn import(
    connection: &HttpConnection,
    import: &Value,
    records: &[Value],
    context: &Value,
) -> Vec<RecordResult> {
    if records.is_empty() {
        return Vec::new();
    }
    let config = match ImportConfig::from_doc(import, connection.media_type) {
        Ok(config) => config,
        Err(error) => return records.iter().map(|_| failed(&error)).collect(),
    };
    let config = &config;
    // Futures are collected before awaiting: a lazy iterator's closure held across the await
    // would make this future fail the `Send` bound of spawned jobs (rust-lang/rust#64552).
    if config.batch_size <= 1 {
        let requests: Vec<_> = records
            .iter()
            .map(|record| import_one(connection, config, record, context))
            .collect();
        run_ordered(connection.concurrency, requests).await
    } else {
        let requests: Vec<_> = records
            .chunks(config.batch_size)
            .map(|batch| import_batch(connection, config, batch, context))
            .collect();
        run_ordered(connection.concurrency, requests)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

async fn import_one(
    connection: &HttpConnection,
    config: &ImportConfig,
    record: &Value,
    context: &Value,
) -> RecordResult {
    let record_context = if config.templated {
        record_context(context, record)
    } else {
        Value::Null
    };
    let built = config.build(&record_context, || {
        if config.method == "DELETE" {
            Ok(None)
        } else {
            record_body(record, connection.media_type)
        }
    });
    let (uri, headers, body) = match built {
        Ok(request) => request,
        Err(error) => return failed(&error),
    };
    let response = match connection.send(&config.method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(error) => return failed(&error),
    };
    if !response.is_success() {
        return status_failure(&config.method, &uri, &response);
    }
    let json = response_json(&response);
    let entry = match (&config.resource_path, &json) {
        (Some(path), Some(json)) => get(json, path).or(Some(json)),
        (None, Some(json)) => Some(json),
        (_, None) => None,
    };
    config.outcome(entry, json.clone())
}

async fn import_batch(
    connection: &HttpConnection,
    config: &ImportConfig,
    batch: &[Value],
    context: &Value,
) -> Vec<RecordResult> {
    let all_fail = |error: &AdaptorError| batch.iter().map(|_| failed(error)).collect();
    let batch_context = if config.templated {
        let mut map = match context {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        map.insert("batch_of_records".into(), Value::Array(batch.to_vec()));
        Value::Object(map)
    } else {
        Value::Null
    };
    let built = config.build(&batch_context, || {
        serde_json::to_vec(batch)
            .map(Some)
            .map_err(|e| AdaptorError::new("invalid_record", format!("records: {e}")))
    });
    let (uri, headers, body) = match built {
        Ok(request) => request,
        Err(error) => return all_fail(&error),
    };
    let response = match connection.send(&config.method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(error) => return all_fail(&error),
    };
    if !response.is_success() {
        return batch
            .iter()
            .map(|_| status_failure(&config.method, &uri, &response))
            .collect();
    }
    let mut json = match json_body(&response, &config.method, &uri) {
        Ok(json) => json,
        Err(error) => return all_fail(&error),
    };
    let entries = match &config.resource_path {
        Some(path) => get_mut(&mut json, path).map(Value::take),
        None => Some(json),
    };
    match entries {
        Some(Value::Array(entries)) if entries.len() == batch.len() => entries
            .into_iter()
            .map(|entry| config.outcome(Some(&entry), Some(entry.clone())))
            .collect(),
        other => {
            let found = match &other {
                Some(Value::Array(entries)) => format!("{} entries", entries.len()),
                Some(value) => kind_of(value).to_owned(),
                None => "nothing".to_owned(),
            };
            all_fail(&AdaptorError::new(
                "invalid_response",
                format!(
                    "the answer to a batch of {} records must be an array of {} results{}, got {found}",
                    batch.len(),
                    batch.len(),
                    config
                        .resource_path
                        .as_deref()
                        .map(|p| format!(" at resourcePath '{p}'"))
                        .unwrap_or_default()
                ),
            ))
        }
    }
}

/// A record's failure from a non-2xx answer: 401 (auth) for 401/403, else 422.
fn status_failure(method: &str, uri: &str, response: &HttpResponse) -> RecordResult {
    let error = status_error(method, uri, response);
    let mut result = failed(&error);
    result.json = response_json(response);
    result
}

/// Runs `futures` with at most `limit` at a time (the connection's semaphore still bounds the
/// requests across jobs); the outputs come back in the order of `futures`.
pub(super) async fn run_ordered<F: Future>(limit: usize, futures: Vec<F>) -> Vec<F::Output> {
    let mut pending = futures.into_iter().enumerate();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    let mut outputs: Vec<Option<F::Output>> = Vec::new();
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit.max(1) {
                let Some((index, future)) = pending.next() else {
                    break;
                };
                if outputs.len() <= index {
                    outputs.resize_with(index + 1, || None);
                }
                running.push((index, Box::pin(future)));
            }
            if running.is_empty() {
                return Poll::Ready(());
            }
            let before = running.len();
            let mut i = 0;
            while i < running.len() {
                if let Poll::Ready(output) = running[i].1.as_mut().poll(cx) {
                    outputs[running[i].0] = Some(output);
                    running.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            if running.len() == before {
                return Poll::Pending;
            }
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::extract::Request;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{MethodRouter, any};

    /// One request as the test server saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        method: String,
        /// Path and query.
        uri: String,
        headers: axum::http::HeaderMap,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).and_then(|v| v.to_str().ok())
        }

        fn param(&self, name: &str) -> Option<String> {
            let query = self.uri.split_once('?')?.1;
            query.split('&').find_map(|pair| {
                let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
                (n == name).then(|| v.to_owned())
            })
        }

        fn json(&self) -> Value {
            serde_json::from_str(&self.body).expect("the request body is JSON")
        }
    }

    /// Everything the test server saw, in arrival order.
    #[derive(Clone, Default)]
    struct Log(Arc<StdMutex<Vec<Seen>>>);

    impl Log {
        fn all(&self) -> Vec<Seen> {
            self.0.lock().expect("log").clone()
        }

        /// "METHOD /path?query" of every request.
        fn lines(&self) -> Vec<String> {
            self.all()
                .iter()
                .map(|s| format!("{} {}", s.method, s.uri))
                .collect()
        }

        async fn capture(&self, request: Request) -> Seen {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("request body");
            let seen = Seen {
                method: parts.method.to_string(),
                uri: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            self.0.lock().expect("log").push(seen.clone());
            seen
        }
    }

    /// An answer of the test server: status, headers, body.
    struct Reply(u16, Vec<(&'static str, String)>, String);

    impl Reply {
        fn json(value: Value) -> Reply {
            Reply::status(200, value)
        }

        fn status(status: u16, value: Value) -> Reply {
            Reply(
                status,
                vec![("content-type", "application/json".into())],
                value.to_string(),
            )
        }

        fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
            self.1.push((name, value.into()));
            self
        }
    }

    impl IntoResponse for Reply {
        fn into_response(self) -> Response {
            let mut response = (
                axum::http::StatusCode::from_u16(self.0).expect("status"),
                self.2,
            )
                .into_response();
            for (name, value) in self.1 {
                response.headers_mut().append(
                    name,
                    axum::http::HeaderValue::from_str(&value).expect("header value"),
                );
            }
            response
        }
    }

    /// A route that logs each request and answers with `respond`.
    fn route<F>(log: &Log, respond: F) -> MethodRouter
    where
        F: Fn(&Seen) -> Reply + Clone + Send + Sync + 'static,
    {
        let log = log.clone();
        any(move |request: Request| {
            let log = log.clone();
            let respond = respond.clone();
            async move { respond(&log.capture(request).await) }
        })
    }

    /// Serves `router` on a loopback port; returns its base URL.
    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        format!("http://{address}")
    }

    fn connection_doc(base: &str, extra: Value) -> Value {
        let mut block = json!({ "baseURI": base });
        if let (Some(block), Value::Object(extra)) = (block.as_object_mut(), extra) {
            block.extend(extra);
        }
        json!({ "_id": "5f0000000000000000000001", "type": "http", "http": block })
    }

    fn connection(base: &str, extra: Value) -> Arc<HttpConnection> {
        Arc::new(HttpConnection::from_doc(&connection_doc(base, extra)).expect("valid connection"))
    }

    fn exporter(connection: &Arc<HttpConnection>, http: Value, context: Value) -> HttpExport {
        HttpExport::new(connection.clone(), &json!({ "http": http }), context)
            .expect("valid export")
    }

    async fn all_records(export: &mut HttpExport) -> Vec<Value> {
        let mut records = Vec::new();
        while let Some(page) = export.next_page().await.expect("page") {
            records.extend(page);
        }
        records
    }

    fn ids(records: &[Value]) -> Vec<i64> {
        records
            .iter()
            .map(|r| r["id"].as_i64().expect("numeric id"))
            .collect()
    }

    /// Records `from..=to` as `{"id": n}`.
    fn items(from: i64, to: i64) -> Vec<Value> {
        (from..=to).map(|id| json!({ "id": id })).collect()
    }

    fn number_param(seen: &Seen, name: &str) -> i64 {
        seen.param(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }

    #[test]
    fn a_connection_needs_a_valid_base_uri_and_known_settings() {
        let error =
            HttpConnection::from_doc(&json!({"type": "http", "http": {}})).expect_err("no baseURI");
        assert_eq!(error.code, "invalid_connection");
        assert!(error.message.contains("baseURI"), "{error}");
        for extra in [
            json!({"baseURI": "not a url"}),
            json!({"baseURI": "ftp://host"}),
            json!({"mediaType": "yaml"}),
            json!({"authType": "magic"}),
            json!({"authType": "token"}),
            json!({"authType": "oauth2", "oauth2": {"clientId": "a"}}),
        ] {
            let doc = connection_doc("http://127.0.0.1:1", extra.clone());
            assert!(HttpConnection::from_doc(&doc).is_err(), "{extra}");
        }
        let rest =
            json!({"type": "rest", "rest": {"baseURI": "http://h/api", "concurrencyLevel": 9}});
        assert_eq!(
            HttpConnection::from_doc(&rest).expect("rest").concurrency(),
            9
        );
        let default = connection("http://h", json!({}));
        assert_eq!(default.concurrency(), DEFAULT_CONCURRENCY);
    }

    #[test]
    fn relative_uris_join_the_base_uri_and_absolute_ones_must_stay_on_its_host() {
        let conn = connection("http://h:8080/api/?key=1", json!({}));
        let url = |uri: &str| conn.resolve(uri).map(String::from);
        assert_eq!(
            url("/items").expect("joins"),
            "http://h:8080/api/items?key=1"
        );
        assert_eq!(
            url("items?a=b").expect("joins"),
            "http://h:8080/api/items?key=1&a=b"
        );
        assert_eq!(url("").expect("joins"), "http://h:8080/api?key=1");
        assert_eq!(
            url("http://h:8080/other?page=2").expect("same origin"),
            "http://h:8080/other?page=2"
        );
        let error = url("http://elsewhere:8080/x").expect_err("another host");
        assert_eq!(error.code, "invalid_url");
        assert!(error.message.contains("elsewhere"), "{error}");
        let root = connection("http://h", json!({}));
        assert_eq!(String::from(root.resolve("").expect("root")), "http://h/");
    }

    #[tokio::test]
    async fn page_paging_requests_pages_until_one_is_empty() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| {
                let page = number_param(seen, "page");
                let records = if page <= 3 {
                    items(page * 2 - 1, page * 2)
                } else {
                    vec![]
                };
                Reply::json(json!({ "items": records }))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "relativeURI": "/items?page={{export.http.paging.page}}",
                "response": {"resourcePath": "items"},
                "paging": {"method": "page"},
            }),
            json!({ "export": { "name": "items" } }),
        );
        let records = all_records(&mut export).await;
        assert_eq!(ids(&records), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(
            log.lines(),
            vec![
                "GET /items?page=1",
                "GET /items?page=2",
                "GET /items?page=3",
                "GET /items?page=4"
            ]
        );
        assert!(export.next_page().await.expect("done").is_none());
    }

    #[tokio::test]
    async fn page_paging_can_start_elsewhere_and_stop_at_the_max_page() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| {
                let page = number_param(seen, "p");
                Reply::json(json!({ "data": items(page, page), "meta": {"pages": 2} }))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "relativeURI": "/items?p={{export.http.paging.page}}",
                "response": {"resourcePath": "data"},
                "paging": {"method": "page", "page": 0, "maxPagePath": "meta.pages"},
            }),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![0, 1, 2]);
        assert_eq!(
            log.lines(),
            vec!["GET /items?p=0", "GET /items?p=1", "GET /items?p=2"]
        );
    }

    #[tokio::test]
    async fn skip_paging_advances_by_the_records_received() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| {
                let offset = number_param(seen, "offset");
                let all = items(1, 5);
                let page: Vec<Value> = all.into_iter().skip(offset as usize).take(2).collect();
                Reply::json(Value::Array(page))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "relativeURI": "/items?offset={{export.http.paging.skip}}&limit=2",
                "paging": {"method": "skip"},
            }),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            log.lines(),
            vec![
                "GET /items?offset=0&limit=2",
                "GET /items?offset=2&limit=2",
                "GET /items?offset=4&limit=2",
                "GET /items?offset=5&limit=2"
            ]
        );
    }

    #[tokio::test]
    async fn url_paging_follows_the_next_page_url_in_the_body() {
        let log = Log::default();
        let base_cell: Arc<StdMutex<String>> = Arc::default();
        let base_for_server = base_cell.clone();
        let base = serve(Router::new().route(
            "/items",
            route(&log, move |seen| {
                let base = base_for_server.lock().expect("base").clone();
                match seen.param("cursor").as_deref() {
                    None => Reply::json(json!({"data": items(1, 2), "links": {"next": "/items?cursor=b"}})),
                    // An absolute URL on the same host is followed as is.
                    Some("b") => Reply::json(
                        json!({"data": items(3, 4), "links": {"next": format!("{base}/items?cursor=c")}}),
                    ),
                    _ => Reply::json(json!({"data": items(5, 5), "links": {"next": null}})),
                }
            }),
        ))
        .await;
        *base_cell.lock().expect("base") = base.clone();
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "relativeURI": "/items",
                "response": {"resourcePath": "data"},
                "paging": {"method": "url", "path": "links.next"},
            }),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            log.lines(),
            vec!["GET /items", "GET /items?cursor=b", "GET /items?cursor=c"]
        );
    }

    #[tokio::test]
    async fn link_header_paging_follows_rel_next_until_it_is_gone() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/v2/items",
            route(&log, |seen| {
                let page = number_param(seen, "page").max(1);
                let reply = Reply::json(Value::Array(items(page, page)));
                match page {
                    1 => reply.with_header(
                        "link",
                        "</v2/items?page=2>; rel=\"next\", </v2/items?page=3>; rel=\"last\"",
                    ),
                    2 => reply
                        .with_header("link", "</v2/items?page=1>; rel=\"prev\"")
                        .with_header("link", "<items?page=3>; rel=\"next\""),
                    _ => reply.with_header("link", "</v2/items?page=2>; rel=\"prev\""),
                }
            }),
        ))
        .await;
        let conn = connection(&format!("{base}/v2"), json!({}));
        let mut export = exporter(
            &conn,
            json!({"relativeURI": "/items", "paging": {"method": "linkheader"}}),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2, 3]);
        assert_eq!(
            log.lines(),
            vec![
                "GET /v2/items",
                "GET /v2/items?page=2",
                "GET /v2/items?page=3"
            ]
        );
    }

    #[tokio::test]
    async fn token_paging_sends_the_cursor_until_there_is_none() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| match seen.param("cursor").as_deref() {
                None => Reply::json(json!({"items": items(1, 2), "meta": {"next": "abc"}})),
                Some("abc") => Reply::json(json!({"items": items(3, 4), "meta": {"next": 77}})),
                _ => Reply::json(json!({"items": items(5, 5), "meta": {"next": ""}})),
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "relativeURI": "/items?limit=2",
                "response": {"resourcePath": "items"},
                "paging": {
                    "method": "token",
                    "path": "meta.next",
                    "relativeURI": "/items?limit=2&cursor={{export.http.paging.token}}",
                },
            }),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            log.lines(),
            vec![
                "GET /items?limit=2",
                "GET /items?limit=2&cursor=abc",
                "GET /items?limit=2&cursor=77"
            ]
        );
    }

    #[tokio::test]
    async fn paging_stops_when_the_last_page_marker_says_so() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| {
                let page = number_param(seen, "page");
                Reply::json(json!({"items": items(page, page), "hasMore": page < 2}))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "relativeURI": "/items?page={{export.http.paging.page}}",
                "response": {"resourcePath": "items"},
                "paging": {"method": "page", "lastPagePath": "hasMore", "lastPageValue": false},
            }),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2]);
        assert_eq!(log.lines(), vec!["GET /items?page=1", "GET /items?page=2"]);
    }

    #[tokio::test]
    async fn page_paging_stops_when_the_api_ignores_the_page_parameter() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |_| Reply::json(Value::Array(items(1, 2)))),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({"relativeURI": "/items?page={{export.http.paging.page}}", "paging": {"method": "page"}}),
            json!({}),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2]);
        assert_eq!(log.lines().len(), 2);
    }

    #[tokio::test]
    async fn an_export_without_paging_makes_one_templated_request() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/search",
            route(&log, |_| {
                Reply::json(json!({"result": {"hits": items(1, 3)}}))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let mut export = exporter(
            &conn,
            json!({
                "method": "post",
                "relativeURI": "/search?since={{encodeURIComponent lastExportDateTime}}",
                "body": "{\"q\": \"{{settings.query}}\", \"export\": \"{{export.name}}\"}",
                "headers": [{"name": "X-Flow", "value": "{{flow._id}}"}],
                "response": {"resourcePath": "result.hits"},
            }),
            json!({
                "lastExportDateTime": "2024-01-02T03:04:05.000Z",
                "settings": {"query": "open"},
                "export": {"name": "Search"},
                "flow": {"_id": "f1"},
            }),
        );
        assert_eq!(ids(&all_records(&mut export).await), vec![1, 2, 3]);
        let seen = log.all();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].uri, "/search?since=2024-01-02T03%3A04%3A05.000Z");
        assert_eq!(seen[0].json(), json!({"q": "open", "export": "Search"}));
        assert_eq!(seen[0].header("x-flow"), Some("f1"));
        assert_eq!(seen[0].header("content-type"), Some("application/json"));
    }

    #[tokio::test]
    async fn resource_path_finds_records_and_a_single_object_is_one_record() {
        let log = Log::default();
        let base = serve(
            Router::new()
                .route(
                    "/one",
                    route(&log, |_| {
                        Reply::json(json!({"data": {"customer": {"id": 7}}}))
                    }),
                )
                .route(
                    "/list",
                    route(&log, |_| Reply::json(json!([{"id": 1}, {"id": 2}]))),
                )
                .route(
                    "/nested",
                    route(&log, |_| Reply::json(json!({"a": [{"b": items(4, 5)}]}))),
                )
                .route("/empty", route(&log, |_| Reply(204, vec![], String::new()))),
        )
        .await;
        let conn = connection(&base, json!({}));
        let run = |uri: &str, path: Value| {
            let mut export = exporter(
                &conn,
                json!({"relativeURI": uri, "response": {"resourcePath": path}}),
                json!({}),
            );
            async move { all_records(&mut export).await }
        };
        assert_eq!(ids(&run("/one", json!("data.customer")).await), vec![7]);
        assert_eq!(ids(&run("/list", json!("")).await), vec![1, 2]);
        assert_eq!(ids(&run("/list", json!(null)).await), vec![1, 2]);
        assert_eq!(ids(&run("/nested", json!("a[0].b")).await), vec![4, 5]);
        assert!(run("/empty", json!("data")).await.is_empty());
    }

    #[tokio::test]
    async fn bad_answers_are_errors_naming_the_problem() {
        let log = Log::default();
        let base = serve(
            Router::new()
                .route(
                    "/html",
                    route(&log, |_| Reply(200, vec![], "<html>oops</html>".into())),
                )
                .route(
                    "/obj",
                    route(&log, |_| Reply::json(json!({"data": "text"}))),
                )
                .route(
                    "/fail",
                    route(&log, |_| {
                        Reply::status(500, json!({"error": "database down"}))
                    }),
                ),
        )
        .await;
        let conn = connection(&base, json!({}));
        let first = |uri: &str, path: &str| {
            let mut export = exporter(
                &conn,
                json!({"relativeURI": uri, "response": {"resourcePath": path}}),
                json!({}),
            );
            async move { export.next_page().await.expect_err("fails") }
        };
        let error = first("/html", "").await;
        assert_eq!(error.code, "invalid_response");
        assert!(error.message.contains("not JSON"), "{error}");
        let error = first("/obj", "items").await;
        assert_eq!(error.code, "invalid_response");
        assert!(error.message.contains("'items'"), "{error}");
        let error = first("/obj", "data").await;
        assert_eq!(error.code, "invalid_response");
        assert!(error.message.contains("'data' leads to text"), "{error}");
        let error = first("/fail?token=secret", "").await;
        assert_eq!(error.code, "http_500");
        assert_eq!(error.status, Some(500));
        assert!(!error.auth);
        assert!(error.message.contains("GET /fail answered 500"), "{error}");
        assert!(error.message.contains("database down"), "{error}");
        assert!(!error.message.contains("secret"), "{error}");
    }

    #[tokio::test]
    async fn state_and_resume_continue_from_the_next_page() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| {
                let page = number_param(seen, "page");
                Reply::json(Value::Array(if page <= 3 {
                    items(page, page)
                } else {
                    vec![]
                }))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let export_doc = json!({"http": {
            "relativeURI": "/items?page={{export.http.paging.page}}",
            "paging": {"method": "page"},
        }});
        let mut first = HttpExport::new(conn.clone(), &export_doc, json!({})).expect("export");
        assert_eq!(
            ids(&first.next_page().await.expect("page").expect("records")),
            vec![1]
        );
        let state = first.state();
        assert_eq!(state["page"], 2);
        assert_eq!(state["done"], false);
        // The state travels as JSON text (signed pagedExportState) between calls.
        let state: Value = serde_json::from_str(&state.to_string()).expect("json");
        let mut resumed =
            HttpExport::resume(conn.clone(), &export_doc, json!({}), state).expect("resumes");
        assert_eq!(ids(&all_records(&mut resumed).await), vec![2, 3]);
        assert_eq!(
            log.lines(),
            vec![
                "GET /items?page=1",
                "GET /items?page=2",
                "GET /items?page=3",
                "GET /items?page=4"
            ]
        );
        let done = HttpExport::resume(conn, &export_doc, json!({}), resumed.state()).expect("done");
        assert_eq!(done.state()["done"], true);
    }

    #[tokio::test]
    async fn cursor_state_resumes_token_paging() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| match seen.param("cursor").as_deref() {
                Some("") => Reply::json(json!({"items": items(1, 1), "next": "c2"})),
                _ => Reply::json(json!({"items": items(2, 2)})),
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let doc = json!({"http": {
            "relativeURI": "/items?cursor={{export.http.paging.token}}",
            "response": {"resourcePath": "items"},
            "paging": {"method": "token", "path": "next"},
        }});
        let mut first = HttpExport::new(conn.clone(), &doc, json!({})).expect("export");
        first.next_page().await.expect("page");
        assert_eq!(first.state()["token"], "c2");
        let mut resumed = HttpExport::resume(conn, &doc, json!({}), first.state()).expect("resume");
        assert_eq!(ids(&all_records(&mut resumed).await), vec![2]);
        assert_eq!(
            log.lines(),
            vec!["GET /items?cursor=", "GET /items?cursor=c2"]
        );
    }

    #[tokio::test]
    async fn credentials_and_custom_headers_reach_the_server() {
        let log = Log::default();
        let base =
            serve(Router::new().route("/echo", route(&log, |_| Reply::json(json!({}))))).await;
        let cases = [
            json!({"authType": "basic", "basicAuth": {"username": "user", "password": "pass"}}),
            // Without authType the credentials given decide.
            json!({"basicAuth": {"username": "user", "password": "pass"}}),
            json!({"authType": "token", "bearerToken": "t0k"}),
            json!({"authType": "token", "bearerToken": "t0k", "tokenLocation": "url", "tokenParam": "api_key"}),
            json!({"authType": "token", "bearerToken": "t 0", "tokenLocation": "url"}),
            json!({
                "authType": "custom",
                "apiKey": "k-123",
                "headers": [
                    {"name": "X-Api-Key", "value": "{{connection.apiKey}}"},
                    {"name": "X-Static", "value": "static"},
                    {"name": "X-Overridden", "value": "connection"},
                ],
            }),
        ];
        for case in &cases {
            let conn = connection(&base, case.clone());
            let headers = vec![("X-Overridden".to_owned(), "request".to_owned())];
            let response = conn
                .send("GET", "/echo?x=1", &headers, None)
                .await
                .expect("sent");
            assert_eq!(response.status, 200);
        }
        let seen = log.all();
        assert_eq!(seen[0].header("authorization"), Some("Basic dXNlcjpwYXNz"));
        assert_eq!(seen[1].header("authorization"), Some("Basic dXNlcjpwYXNz"));
        assert_eq!(seen[2].header("authorization"), Some("Bearer t0k"));
        assert_eq!(seen[3].uri, "/echo?x=1&api_key=t0k");
        assert_eq!(seen[3].header("authorization"), None);
        assert_eq!(seen[4].uri, "/echo?x=1&access_token=t+0");
        assert_eq!(seen[5].header("authorization"), None);
        assert_eq!(seen[5].header("x-api-key"), Some("k-123"));
        assert_eq!(seen[5].header("x-static"), Some("static"));
        assert_eq!(seen[5].header("x-overridden"), Some("request"));
        assert_eq!(seen[5].header("accept"), Some("application/json"));
    }

    /// An API whose tokens come from `/oauth/token`: `/api/me` accepts only the latest token
    /// issued (the test may revoke it), `/api/never` refuses every token.
    async fn oauth_server(log: &Log, expires_in: i64) -> (String, Arc<StdMutex<String>>) {
        let valid: Arc<StdMutex<String>> = Arc::default();
        let issued = Arc::new(AtomicUsize::new(0));
        let (valid_token, valid_api) = (valid.clone(), valid.clone());
        let base = serve(
            Router::new()
                .route(
                    "/oauth/token",
                    route(log, move |_| {
                        let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                        let token = format!("tok-{n}");
                        *valid_token.lock().expect("valid") = token.clone();
                        Reply::json(json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}))
                    }),
                )
                .route(
                    "/api/never",
                    route(log, |_| Reply::status(401, json!({"error": "invalid_token"}))),
                )
                .route(
                    "/api/me",
                    route(log, move |seen| {
                        let expected = format!("Bearer {}", valid_api.lock().expect("valid"));
                        if seen.header("authorization") == Some(expected.as_str()) {
                            Reply::json(json!({"ok": true}))
                        } else {
                            Reply::status(401, json!({"error": "invalid_token"}))
                        }
                    }),
                ),
        )
        .await;
        (base, valid)
    }

    fn oauth_settings(base: &str) -> Value {
        json!({
            "authType": "oauth2",
            "oauth2": {
                "tokenURI": format!("{base}/oauth/token"),
                "clientId": "client-1",
                "clientSecret": "s&cret",
                "scope": "read write",
            },
        })
    }

    #[tokio::test]
    async fn oauth2_token_is_fetched_once_and_renewed_after_a_401() {
        let log = Log::default();
        let (base, valid) = oauth_server(&log, 3600).await;
        let conn = connection(&base, oauth_settings(&base));
        for _ in 0..2 {
            let response = conn.send("GET", "/api/me", &[], None).await.expect("sent");
            assert_eq!(response.status, 200);
        }
        // The API revokes the token: the next request gets a 401, a new token, one retry.
        *valid.lock().expect("valid") = "revoked".into();
        let response = conn.send("GET", "/api/me", &[], None).await.expect("sent");
        assert_eq!(response.status, 200);
        assert_eq!(
            log.lines(),
            vec![
                "POST /oauth/token",
                "GET /api/me",
                "GET /api/me",
                "GET /api/me",
                "POST /oauth/token",
                "GET /api/me"
            ]
        );
        let token_request = &log.all()[0];
        assert_eq!(
            token_request.body,
            "grant_type=client_credentials&client_id=client-1&client_secret=s%26cret&scope=read+write"
        );
        assert_eq!(
            token_request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let seen = log.all();
        assert_eq!(seen[5].header("authorization"), Some("Bearer tok-2"));

        // A request the API keeps refusing is retried once only; the 401 comes back.
        let lines_before = log.lines().len();
        let response = conn
            .send("GET", "/api/never", &[], None)
            .await
            .expect("sent");
        assert_eq!(response.status, 401);
        assert_eq!(
            log.lines()[lines_before..],
            ["GET /api/never", "POST /oauth/token", "GET /api/never"]
        );
    }

    #[tokio::test]
    async fn an_expired_oauth2_token_is_fetched_again() {
        let log = Log::default();
        let (base, _) = oauth_server(&log, 0).await;
        let conn = connection(&base, oauth_settings(&base));
        for _ in 0..2 {
            conn.send("GET", "/api/me", &[], None).await.expect("sent");
        }
        let token_requests = log
            .lines()
            .iter()
            .filter(|l| l.contains("/oauth/token"))
            .count();
        assert_eq!(token_requests, 2);
    }

    #[test]
    fn paging_starts_out_of_range_are_refused_naming_the_field() {
        for (paging, field) in [
            (json!({"method": "page", "page": i64::MAX}), "paging.page"),
            (json!({"method": "page", "page": 1e300}), "paging.page"),
            (json!({"method": "skip", "skip": -1}), "paging.skip"),
        ] {
            let error = parse_paging(&paging).err().expect("refused");
            assert_eq!(error.code, "invalid_export");
            assert!(error.message.starts_with(field), "{error}");
        }
        let ok = parse_paging(&json!({"method": "page", "page": 0})).expect("page 0");
        assert_eq!(ok.first_page, 0);
    }

    #[tokio::test]
    async fn an_absurd_oauth2_token_lifetime_is_taken_as_a_year() {
        let log = Log::default();
        let (base, _) = oauth_server(&log, i64::MAX).await;
        let conn = connection(&base, oauth_settings(&base));
        for _ in 0..2 {
            let response = conn.send("GET", "/api/me", &[], None).await.expect("sent");
            assert_eq!(response.status, 200);
        }
        assert_eq!(
            log.lines(),
            vec!["POST /oauth/token", "GET /api/me", "GET /api/me"],
            "one token, kept"
        );
    }

    #[tokio::test]
    async fn a_refused_oauth2_client_is_an_auth_error_without_its_secret() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/oauth/token",
            route(&log, |_| {
                Reply::status(401, json!({"error": "invalid_client"}))
            }),
        ))
        .await;
        let conn = connection(&base, oauth_settings(&base));
        let error = conn.ping().await.expect_err("no token");
        assert_eq!(error.code, "oauth2_token");
        assert!(error.auth);
        assert_eq!(error.status, Some(401));
        assert!(error.message.contains("invalid_client"), "{error}");
        assert!(!error.message.contains("s&cret"), "{error}");
    }

    #[tokio::test]
    async fn too_many_requests_waits_for_retry_after_then_succeeds() {
        let log = Log::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let base = serve(Router::new().route(
            "/items",
            route(&log, move |_| {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Reply::status(429, json!({"error": "slow down"}))
                        .with_header("retry-after", "1")
                } else {
                    Reply::json(json!([{"id": 1}]))
                }
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let started = Instant::now();
        let mut export = exporter(&conn, json!({"relativeURI": "/items"}), json!({}));
        assert_eq!(ids(&all_records(&mut export).await), vec![1]);
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(log.lines(), vec!["GET /items", "GET /items"]);
    }

    #[tokio::test]
    async fn unavailable_answers_are_retried_five_times_then_fail() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |_| {
                Reply::status(503, json!({"error": "maintenance"}))
            }),
        ))
        .await;
        let mut conn = HttpConnection::from_doc(&connection_doc(&base, json!({}))).expect("conn");
        conn.backoff = Duration::from_millis(1);
        let error = conn
            .send("GET", "/items", &[], None)
            .await
            .expect_err("gives up");
        assert_eq!(error.code, "http_503");
        assert_eq!(error.status, Some(503));
        assert!(error.message.contains("maintenance"), "{error}");
        assert!(error.message.contains("after 5 retries"), "{error}");
        assert_eq!(log.lines().len(), 6);
    }

    #[test]
    fn retry_waits_honour_retry_after_and_back_off_exponentially() {
        let answer = |retry_after: Option<String>| HttpResponse {
            status: 429,
            headers: retry_after
                .map(|v| vec![("retry-after".to_owned(), v)])
                .unwrap_or_default(),
            content_type: None,
            body: Vec::new(),
        };
        let wait = |retry_after: Option<String>, retries| {
            retry_wait(&answer(retry_after), retries, FIRST_BACKOFF)
        };
        assert_eq!(wait(Some("2".into()), 0), Duration::from_secs(2));
        assert_eq!(wait(Some("3600".into()), 0), MAX_WAIT);
        assert_eq!(wait(None, 0), Duration::from_millis(500));
        assert_eq!(wait(None, 1), Duration::from_secs(1));
        assert_eq!(wait(None, 2), Duration::from_secs(2));
        assert_eq!(wait(None, 10), MAX_WAIT);
        let date = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        let date_wait = wait(Some(date.replace("+0000", "GMT")), 0);
        assert!(
            date_wait > Duration::from_secs(3) && date_wait <= Duration::from_secs(5),
            "{date_wait:?}"
        );
        assert_eq!(wait(Some("NaN".into()), 0), Duration::from_millis(500));
    }

    #[tokio::test]
    async fn an_unreachable_host_is_named_without_credentials() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let conn = connection(
            &format!("http://127.0.0.1:{port}"),
            json!({"authType": "token", "bearerToken": "s3cret-token", "tokenLocation": "url"}),
        );
        let error = conn
            .send("GET", "/items?key=s3cret-key", &[], None)
            .await
            .expect_err("refused");
        assert_eq!(error.code, "unreachable");
        assert!(
            error.message.contains(&format!("127.0.0.1:{port}")),
            "{error}"
        );
        assert!(!error.message.contains("s3cret"), "{error}");
        assert_eq!(conn.ping().await.expect_err("refused").code, "unreachable");

        let conn = connection("http://nonexistent.invalid", json!({}));
        let error = conn.ping().await.expect_err("unknown host");
        assert_eq!(error.code, "unreachable");
        assert!(error.message.contains("nonexistent.invalid"), "{error}");

        let conn = connection("https://nonexistent.invalid", json!({}));
        let error = conn.ping().await.expect_err("unknown host over https");
        assert_eq!(error.code, "unreachable");
        assert!(error.message.contains("nonexistent.invalid"), "{error}");
    }

    #[tokio::test]
    async fn ping_succeeds_on_2xx_and_reports_401_as_an_auth_error() {
        let log = Log::default();
        let base = serve(
            Router::new()
                .route("/me", route(&log, |_| Reply::json(json!({"id": "me"}))))
                .route(
                    "/locked",
                    route(&log, |_| {
                        Reply::status(401, json!({"message": "bad api key"}))
                    }),
                ),
        )
        .await;
        let ok = connection(
            &base,
            json!({"pingRelativeURI": "/me", "pingMethod": "post"}),
        );
        ok.ping().await.expect("ping ok");
        let locked = connection(&base, json!({"pingRelativeURI": "/locked"}));
        let error = locked.ping().await.expect_err("401");
        assert_eq!(error.code, "http_401");
        assert_eq!(error.status, Some(401));
        assert!(error.auth);
        assert!(error.message.contains("bad api key"), "{error}");
        assert_eq!(log.lines(), vec!["POST /me", "GET /locked"]);
    }

    #[tokio::test]
    async fn import_sends_one_request_per_record_with_templated_uri_and_reads_the_id() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/customers/{id}",
            route(&log, |seen| {
                let id = seen
                    .uri
                    .trim_start_matches("/customers/")
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                Reply::json(json!({"result": {"key": format!("k-{id}")}, "echo": seen.json()}))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let import_doc = json!({"http": {
            "method": "PUT",
            "relativeURI": "/customers/{{id}}?name={{encodeURIComponent record.name}}&s={{settings.flag}}",
            "response": {"idPath": "result.key"},
        }});
        let records = vec![
            json!({"id": 1, "name": "a b"}),
            json!({"id": 2, "name": "c"}),
        ];
        let results = import(
            &conn,
            &import_doc,
            &records,
            &json!({"settings": {"flag": "on"}}),
        )
        .await;
        assert_eq!(results.len(), 2);
        assert!(results.iter().all(RecordResult::is_success), "{results:?}");
        assert_eq!(results[0].id, Some(json!("k-1")));
        assert_eq!(results[1].id, Some(json!("k-2")));
        assert_eq!(
            results[1].json.as_ref().map(|j| j["echo"].clone()),
            Some(records[1].clone())
        );
        let mut lines = log.lines();
        lines.sort();
        assert_eq!(
            lines,
            vec![
                "PUT /customers/1?name=a%20b&s=on",
                "PUT /customers/2?name=c&s=on"
            ]
        );
        for seen in log.all() {
            assert!(records.contains(&seen.json()), "the body is the record");
        }
    }

    #[tokio::test]
    async fn batched_import_sends_arrays_and_keeps_results_in_order() {
        let log = Log::default();
        let base = serve(
            Router::new()
                .route(
                    "/bulk",
                    route(&log, |seen| {
                        let ids: Vec<Value> = seen
                            .json()
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .map(|r| json!({"id": format!("n-{}", r["n"])}))
                                    .collect()
                            })
                            .unwrap_or_default();
                        Reply::json(Value::Array(ids))
                    }),
                )
                .route(
                    "/wrapped",
                    route(&log, |seen| {
                        let count = seen.json()["items"].as_array().map_or(0, Vec::len);
                        let results: Vec<Value> = (0..count)
                            .map(|i| json!({"ref": i, "status": "ok"}))
                            .collect();
                        Reply::json(json!({"results": results}))
                    }),
                ),
        )
        .await;
        let conn = connection(&base, json!({}));
        let records: Vec<Value> = (1..=3).map(|n| json!({"n": n})).collect();
        let results = import(
            &conn,
            &json!({"http": {"relativeURI": "/bulk", "batchSize": 2}}),
            &records,
            &json!({}),
        )
        .await;
        let ids: Vec<Option<Value>> = results.iter().map(|r| r.id.clone()).collect();
        assert_eq!(
            ids,
            vec![Some(json!("n-1")), Some(json!("n-2")), Some(json!("n-3"))]
        );
        let mut bodies: Vec<Value> = log.all().iter().map(Seen::json).collect();
        bodies.sort_by_key(|b| b.as_array().map_or(0, Vec::len));
        assert_eq!(bodies, vec![json!([{"n": 3}]), json!([{"n": 1}, {"n": 2}])]);

        let results = import(
            &conn,
            &json!({"http": {
                "relativeURI": "/wrapped",
                "batchSize": 5,
                "body": "{\"items\": {{{jsonEncode batch_of_records}}}}",
                "response": {"resourcePath": "results", "idPath": "ref", "successPath": "status", "successValues": ["ok"]},
            }}),
            &records,
            &json!({}),
        )
        .await;
        let ids: Vec<Option<Value>> = results.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, vec![Some(json!(0)), Some(json!(1)), Some(json!(2))]);
        assert_eq!(results[2].json, Some(json!({"ref": 2, "status": "ok"})));
    }

    #[tokio::test]
    async fn a_batch_answer_of_the_wrong_length_fails_every_record_of_the_batch() {
        let log = Log::default();
        let base =
            serve(Router::new().route("/bulk", route(&log, |_| Reply::json(json!([{"id": 1}])))))
                .await;
        let conn = connection(&base, json!({}));
        let records = vec![json!({"a": 1}), json!({"a": 2}), json!({"a": 3})];
        let results = import(
            &conn,
            &json!({"http": {"relativeURI": "/bulk", "batchSize": 2}}),
            &records,
            &json!({}),
        )
        .await;
        assert_eq!(results[0].status_code, 422);
        assert_eq!(results[1].status_code, 422);
        assert_eq!(results[0].errors[0].code, "invalid_response");
        assert!(
            results[0].errors[0].message.contains("array of 2 results"),
            "{results:?}"
        );
        // The last batch holds one record and got one result.
        assert!(results[2].is_success(), "{results:?}");
        assert_eq!(results[2].id, Some(json!(1)));
    }

    #[tokio::test]
    async fn import_failures_carry_status_codes_per_record() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/r/{code}",
            route(&log, |seen| {
                let code: u16 = seen.uri.trim_start_matches("/r/").parse().unwrap_or(500);
                Reply::status(code, json!({"id": "x", "error": format!("nope {code}")}))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let records: Vec<Value> = [201, 401, 403, 404, 500]
            .iter()
            .map(|code| json!({"code": code}))
            .collect();
        let results = import(
            &conn,
            &json!({"http": {"relativeURI": "/r/{{code}}"}}),
            &records,
            &json!({}),
        )
        .await;
        let summary: Vec<(u16, String)> = results
            .iter()
            .map(|r| {
                (
                    r.status_code,
                    r.errors.first().map(|e| e.code.clone()).unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (200, String::new()),
                (401, "http_401".into()),
                (401, "http_403".into()),
                (422, "http_404".into()),
                (422, "http_500".into()),
            ]
        );
        assert_eq!(results[0].id, Some(json!("x")));
        let error = &results[4].errors[0];
        assert!(
            error.message.contains("POST /r/500 answered 500: "),
            "{error:?}"
        );
        assert!(error.message.contains("nope 500"), "{error:?}");
        assert_eq!(error.source.as_deref(), Some("http"));

        let unreachable = connection("http://nonexistent.invalid", json!({}));
        let results = import(
            &unreachable,
            &json!({"http": {"relativeURI": "/r"}}),
            &records[..1],
            &json!({}),
        )
        .await;
        assert_eq!(results[0].status_code, 422);
        assert_eq!(results[0].errors[0].code, "unreachable");
    }

    #[tokio::test]
    async fn records_whose_success_value_does_not_match_fail() {
        let log = Log::default();
        let base = serve(Router::new().route(
            "/items",
            route(&log, |seen| {
                let ok = if seen.json()["name"] == "bad" {
                    "no"
                } else {
                    "yes"
                };
                Reply::json(json!({"ok": ok, "id": 1}))
            }),
        ))
        .await;
        let conn = connection(&base, json!({}));
        let records = vec![json!({"name": "good"}), json!({"name": "bad"})];
        let results = import(
            &conn,
            &json!({"http": {"relativeURI": "/items", "response": {"successPath": "ok", "successValues": ["yes"]}}}),
            &records,
            &json!({}),
        )
        .await;
        assert!(results[0].is_success());
        assert_eq!(results[1].status_code, 422);
        assert_eq!(results[1].errors[0].code, "unsuccessful");
        assert!(
            results[1].errors[0].message.contains("\"no\""),
            "{results:?}"
        );
    }

    #[tokio::test]
    async fn an_import_without_an_http_block_fails_every_record() {
        let conn = connection("http://127.0.0.1:1", json!({}));
        let results = import(
            &conn,
            &json!({"ftp": {}}),
            &[json!({}), json!({})],
            &json!({}),
        )
        .await;
        assert_eq!(results.len(), 2);
        assert!(results.iter().all(|r| r.errors[0].code == "invalid_import"));
    }

    /// A server that answers after 80 ms and counts the most requests it held at once.
    async fn slow_server(log: &Log) -> (String, Arc<AtomicUsize>) {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let (log, max_seen) = (log.clone(), max.clone());
        let base = serve(Router::new().route(
            "/slow",
            any(move |request: Request| {
                let (log, in_flight, max) = (log.clone(), in_flight.clone(), max_seen.clone());
                async move {
                    log.capture(request).await;
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(80)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    Reply::json(json!({"id": 1}))
                }
            }),
        ))
        .await;
        (base, max)
    }

    #[tokio::test]
    async fn the_concurrency_level_bounds_requests_in_flight() {
        let log = Log::default();
        let (base, max) = slow_server(&log).await;
        let conn = connection(&base, json!({"concurrencyLevel": 3}));
        let records: Vec<Value> = (0..9).map(|n| json!({"n": n})).collect();
        let doc = json!({"http": {"relativeURI": "/slow"}});
        let results = import(&conn, &doc, &records, &json!({})).await;
        assert!(results.iter().all(RecordResult::is_success));
        assert_eq!(max.load(Ordering::SeqCst), 3);

        // Two jobs sharing the connection share its limit too.
        max.store(0, Ordering::SeqCst);
        let context = json!({});
        let (a, b) = tokio::join!(
            import(&conn, &doc, &records, &context),
            import(&conn, &doc, &records, &context)
        );
        assert_eq!(a.len() + b.len(), 18);
        assert_eq!(max.load(Ordering::SeqCst), 3);
        assert_eq!(log.lines().len(), 27);
    }

    #[tokio::test]
    async fn absolute_urls_to_another_host_never_get_the_credentials() {
        let conn = connection(
            "http://127.0.0.1:1",
            json!({"authType": "token", "bearerToken": "t0k"}),
        );
        let error = conn
            .send("GET", "http://127.0.0.2:1/steal", &[], None)
            .await
            .expect_err("refused");
        assert_eq!(error.code, "invalid_url");
    }

    #[test]
    fn link_headers_yield_the_next_target() {
        let response = |links: &[&str]| HttpResponse {
            status: 200,
            headers: links
                .iter()
                .map(|l| ("link".to_owned(), (*l).to_owned()))
                .collect(),
            content_type: None,
            body: Vec::new(),
        };
        assert_eq!(
            next_link(&response(&["<https://h/a?page=2>; rel=\"next\""])).as_deref(),
            Some("https://h/a?page=2")
        );
        assert_eq!(
            next_link(&response(&[
                "<a?x=1,2>; rel=\"prev first\", <b>; title=\"t\"; rel=\"next\""
            ]))
            .as_deref(),
            Some("b")
        );
        assert_eq!(next_link(&response(&["<a>; rel=prev"])), None);
        assert_eq!(next_link(&response(&[])), None);
    }
}
