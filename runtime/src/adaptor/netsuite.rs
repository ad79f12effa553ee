//! The NetSuite adaptor: connections of type `netsuite` with token-based authentication (OAuth
//! 1.0a signed with HMAC-SHA256, [`oauth`]), SuiteQL and RESTlet exports, record and RESTlet
//! imports, ping and proxy.
//!
//! A [`NetSuiteConnection`] is built once per connection document (and iClient) and shared
//! (`Arc`) by every job that uses it: it owns the HTTP client, the credentials and the
//! concurrency limit (`concurrencyLevel`, default [`DEFAULT_CONCURRENCY`]). Every request to
//! NetSuite leaves through [`NetSuiteConnection::send`], which signs it and retries `429`/`503`.
//!
//! Connection block `netsuite`: `account` (required; `123456` or `123456_SB1`), `tokenId` and
//! `tokenSecret`, `consumerKey` and `consumerSecret` (else those of the iClient `_iClientId`),
//! `baseURI` (replaces both NetSuite hosts, e.g. for a test server), `concurrencyLevel`.
//!
//! Choices worth knowing:
//! - Hosts: `https://{account}.suitetalk.api.netsuite.com` for REST web services (SuiteQL, the
//!   record API) and `https://{account}.restlets.api.netsuite.com` for RESTlets, the account in
//!   lower case with `_` as `-`; the realm is the account in upper case with `-` as `_`.
//! - Ping: the SuiteQL query `SELECT 1 AS ok FROM dual` (one row): it needs only a working
//!   token and REST web services, and reads no data.
//! - Exports (block `netsuite`): `type` `suiteql` (default when `suiteql` is set) with
//!   `suiteql.query`, a template that sees the run's context (`{{lastExportDateTime}}`, a
//!   lookup's record fields, …; a value written with `{{…}}` has its `'` doubled, so it stays
//!   inside the quotes around it, `{{{…}}}` writes it as it is), paged with `limit` = `pageSize` (at most 1000; 1000 when unset)
//!   and `offset` until `hasMore` is false; records are `items` without their `links`.
//!   `type` `restlet` with `restlet.scriptId`, `restlet.deployId`, `restlet.method` (GET),
//!   `restlet.params` (query parameters, templates), `restlet.body` (a template) and
//!   `restlet.resourcePath` (where the records are in the answer; the answer itself else): one
//!   page.
//! - Imports (block `netsuite`): `type` `record` (default) with `recordType` and `operation`
//!   `add` (default, POST: the new internal id is the end of the `Location` header), `update`
//!   (PATCH `/{recordType}/{id}`) or `addupdate` (update when the record has an internal id,
//!   add otherwise); the internal id is read at `internalIdField` (default `id`) and left out of
//!   update bodies. `ignoreExisting` skips records that have an internal id (add, addupdate);
//!   `ignoreMissing` skips updates of records without one or that NetSuite does not have
//!   (404). `type` `restlet` posts the page's records as a JSON array (`restlet.batchSize`
//!   records at a time, all by default) with `restlet.method` (POST); an answer that is an
//!   array with one entry per record gives each record its result (an entry with `error` or
//!   `success: false` fails it), any other 2xx answer is a success for all.
//! - Errors keep NetSuite's own code and message: `o:errorDetails[0]` of REST web services
//!   (`o:errorCode`, `detail`), `error` of RESTlets (`code`, `message`); 401 and 403 are auth
//!   errors (the connection goes offline).
//! - The proxy targets the record API (`Integrator-Record-Type`, the relative URI appended),
//!   a RESTlet (`Integrator-NetSuite-ScriptId` + `Integrator-NetSuite-DeployId`, the relative
//!   URI's query appended) or a path of the REST host (`Integrator-Relative-URI`). Absolute
//!   URLs must be on one of the connection's hosts.
//! - Retries: `429`/`503` as in the HTTP adaptor (`Retry-After`, else 500 ms doubling, at most
//!   5 retries), each attempt signed anew. Messages and logs name the method, host and path,
//!   never the query, headers, body or credentials.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::adaptor::debug::{self, ConnectionLog};
use crate::adaptor::http::{self, HttpResponse};
use crate::adaptor::{AdaptorError, ErrorItem, RecordResult};
use crate::flow::template::{Escape, Template};
use crate::model::check::get;

mod oauth;

use oauth::Credentials;

/// In-flight requests allowed through one connection when `concurrencyLevel` is not set: within
/// the five concurrent requests the smallest NetSuite service tier allows per account.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most `concurrencyLevel` may ask for.
const MAX_CONCURRENCY: usize = 100;
/// The SuiteQL endpoint of REST web services.
const SUITEQL_PATH: &str = "/services/rest/query/v1/suiteql";
/// The record API of REST web services.
const RECORD_PATH: &str = "/services/rest/record/v1";
/// Where RESTlets are called.
const RESTLET_PATH: &str = "/app/site/hosting/restlet.nl";
/// SuiteQL's largest page.
const MAX_SUITEQL_LIMIT: i64 = 1000;
/// A query every account can answer, reading nothing.
const PING_QUERY: &str = "SELECT 1 AS ok FROM dual";

fn invalid_connection(message: impl Into<String>) -> AdaptorError {
    AdaptorError::new("invalid_connection", message)
}

/// One NetSuite connection: its client, credentials, hosts and concurrency limit. Build one per
/// connection document and share it with `Arc`.
pub struct NetSuiteConnection {
    id: String,
    /// The account id in upper case with `_`: the OAuth realm.
    realm: String,
    /// REST web services base (no trailing slash).
    rest: Url,
    /// RESTlets base (no trailing slash).
    restlets: Url,
    credentials: Credentials,
    concurrency: usize,
    limit: Semaphore,
    client: Client,
    /// The first retry wait without `Retry-After` (tests shorten it).
    backoff: Duration,
    /// Where requests and responses are recorded (the connection debug log).
    log: ConnectionLog,
}

impl std::fmt::Debug for NetSuiteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials stay out of debug output.
        f.debug_struct("NetSuiteConnection")
            .field("id", &self.id)
            .field("realm", &self.realm)
            .field("rest", &self.rest.as_str())
            .finish_non_exhaustive()
    }
}

/// A base URL without query, fragment or trailing slash.
fn base_url(text: &str, field: &str) -> Result<Url, AdaptorError> {
    let mut url = Url::parse(text.trim())
        .map_err(|e| invalid_connection(format!("{field} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid_connection(format!(
            "{field} must be an http or https URL"
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// `base` with `path` (starting with `/`) appended to its path.
fn under(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

/// Whether `name` can be a record type (`customer`, `customrecord_x`) or a script/deploy id:
/// it goes into URLs.
fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl NetSuiteConnection {
    /// Builds the connection from its document (secrets already opened by
    /// [`crate::adaptor::open_connection`]) and, when the connection has no consumer key and
    /// secret of its own, its iClient's (opened too). Fails when the account, the token or the
    /// consumer credentials are missing or `baseURI` is invalid.
    pub fn from_doc(
        connection: &Value,
        iclient: Option<&Value>,
    ) -> Result<NetSuiteConnection, AdaptorError> {
        let block = connection
            .get("netsuite")
            .filter(|b| b.is_object())
            .ok_or_else(|| invalid_connection("the connection has no netsuite block"))?;
        if let Some(auth) = http::text_field(block, "authType")
            && !matches!(auth.as_str(), "token" | "token-auto")
        {
            return Err(AdaptorError::new(
                "not_supported",
                format!(
                    "authType '{auth}' is not supported: NetSuite connections use token-based authentication (tokenId, tokenSecret)"
                ),
            ));
        }
        let account = http::text_field(block, "account")
            .map(|a| a.trim().to_owned())
            .ok_or_else(|| invalid_connection("netsuite.account is required"))?;
        if !account
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(invalid_connection(format!(
                "netsuite.account '{account}' is not a NetSuite account id (such as 1234567 or 1234567_SB1)"
            )));
        }
        let realm = account.to_ascii_uppercase().replace('-', "_");
        let host = account.to_ascii_lowercase().replace('_', "-");
        let (rest, restlets) = match http::text_field(block, "baseURI") {
            Some(base) => {
                let url = base_url(&base, "netsuite.baseURI")?;
                (url.clone(), url)
            }
            None => (
                base_url(
                    &format!("https://{host}.suitetalk.api.netsuite.com"),
                    "netsuite.account",
                )?,
                base_url(
                    &format!("https://{host}.restlets.api.netsuite.com"),
                    "netsuite.account",
                )?,
            ),
        };

        let need = |field: &str| {
            http::text_field(block, field).ok_or_else(|| {
                invalid_connection(format!(
                    "netsuite.{field} is required (token-based authentication)"
                ))
            })
        };
        let token_id = need("tokenId")?;
        let token_secret = need("tokenSecret")?;
        let consumer = |doc: &Value| {
            ["", "oauth1."].iter().find_map(|prefix| {
                Some((
                    http::text_field(doc, &format!("{prefix}consumerKey"))?,
                    http::text_field(doc, &format!("{prefix}consumerSecret"))?,
                ))
            })
        };
        let (consumer_key, consumer_secret) = consumer(block)
            .or_else(|| iclient.and_then(consumer))
            .ok_or_else(|| {
                invalid_connection(match iclient {
                    Some(_) => "the iClient of the connection has no consumerKey and consumerSecret",
                    None => {
                        "the consumer key and secret are missing: set netsuite.consumerKey and netsuite.consumerSecret, or netsuite._iClientId"
                    }
                })
            })?;

        let concurrency = http::number_field(block, "concurrencyLevel")
            .filter(|n| *n > 0)
            .map(|n| (n as usize).min(MAX_CONCURRENCY))
            .unwrap_or(DEFAULT_CONCURRENCY);
        Ok(NetSuiteConnection {
            id: connection["_id"].as_str().unwrap_or_default().to_owned(),
            realm,
            rest,
            restlets,
            credentials: Credentials {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            },
            concurrency,
            limit: Semaphore::new(concurrency),
            client: http::new_client()?,
            backoff: http::FIRST_BACKOFF,
            log: ConnectionLog::default(),
        })
    }

    /// How many requests may be in flight through this connection at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The URL of a RESTlet with `params` after `script` and `deploy`.
    fn restlet_url(&self, script: &str, deploy: &str, params: &[(String, String)]) -> Url {
        let mut url = under(&self.restlets, RESTLET_PATH);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("script", script);
            query.append_pair("deploy", deploy);
            for (name, value) in params {
                query.append_pair(name, value);
            }
        }
        url
    }

    /// The URL of the record API for `record_type`, and `id` when given.
    fn record_url(&self, record_type: &str, id: Option<&str>) -> Url {
        let mut url = under(&self.rest, &format!("{RECORD_PATH}/{record_type}"));
        if let Some(id) = id
            && let Ok(mut segments) = url.path_segments_mut()
        {
            // Pushed as a segment: percent-encoded, so an id can never change the path.
            segments.push(id);
        }
        url
    }

    /// The same connection, recording its requests and responses in `log`.
    pub fn with_log(mut self, log: ConnectionLog) -> Self {
        self.log = log;
        self
    }

    /// Sends one signed request to NetSuite — every request of this adaptor goes through here —
    /// within the connection's concurrency limit. `headers` are added to `Accept:
    /// application/json` (and `Content-Type: application/json` with a body). Returns the answer
    /// whatever its status, except `429`/`503` still answered after the retries (an error).
    /// Nothing coming back is an `unreachable` error naming the host.
    pub async fn send(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, AdaptorError> {
        let method =
            Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes()).map_err(|_| {
                AdaptorError::new(
                    "invalid_request",
                    format!("'{method}' is not an HTTP method"),
                )
            })?;
        let mut header_map = HeaderMap::new();
        header_map.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if body.is_some() {
            header_map.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                AdaptorError::new(
                    "invalid_headers",
                    format!("'{name}' is not a valid header name"),
                )
            })?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                AdaptorError::new(
                    "invalid_headers",
                    format!("the value of header {name} is not valid header text"),
                )
            })?;
            header_map.insert(name, value);
        }
        let mut retries = 0;
        loop {
            let mut headers = header_map.clone();
            let mut authorization = HeaderValue::from_str(&oauth::authorization(
                &self.credentials,
                &self.realm,
                method.as_str(),
                url,
            ))
            .map_err(|_| invalid_connection("the credentials are not valid header text"))?;
            authorization.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, authorization);
            let response = {
                // The semaphore is never closed, so acquiring only fails if it were.
                let _permit =
                    self.limit.acquire().await.map_err(|_| {
                        AdaptorError::new("internal", "the connection is shut down")
                    })?;
                let logged = self.log.is_on().then(|| {
                    debug::request_entry(method.as_str(), url.as_str(), &headers, body.as_deref())
                });
                let started = Instant::now();
                let mut request = self
                    .client
                    .request(method.clone(), url.clone())
                    .headers(headers);
                if let Some(body) = &body {
                    request = request.body(body.clone());
                }
                let result = http::receive(request, &method, url).await;
                if let Some(entry) = logged {
                    debug::record_exchange(&self.log, entry, started, &result);
                }
                let response = result?;
                tracing::debug!(
                    connection = %self.id,
                    %method,
                    host = %http::host_of(url),
                    path = url.path(),
                    status = response.status,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "netsuite request"
                );
                response
            };
            if matches!(response.status, 429 | 503) {
                if retries >= http::MAX_RETRIES {
                    let mut error = remote_error(method.as_str(), url.path(), &response);
                    error.message = format!("{} (after {retries} retries)", error.message);
                    return Err(error);
                }
                let wait = http::retry_wait(&response, retries, self.backoff);
                tracing::debug!(
                    connection = %self.id,
                    status = response.status,
                    wait_ms = wait.as_millis() as u64,
                    "NetSuite asked to slow down; retrying"
                );
                tokio::time::sleep(wait).await;
                retries += 1;
                continue;
            }
            return Ok(response);
        }
    }

    /// Runs a SuiteQL query for one page: the whole answer (`items`, `hasMore`, …).
    async fn suiteql(&self, query: &str, limit: i64, offset: i64) -> Result<Value, AdaptorError> {
        let mut url = under(&self.rest, SUITEQL_PATH);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("offset", &offset.to_string());
        let body = serde_json::to_vec(&json!({ "q": query }))
            .map_err(|e| AdaptorError::new("internal", format!("SuiteQL body: {e}")))?;
        let response = self
            .send("POST", &url, &[("prefer", "transient")], Some(body))
            .await?;
        if !response.is_success() {
            return Err(remote_error("POST", url.path(), &response));
        }
        http::json_body(&response, "POST", url.path())
    }

    /// Runs `SELECT 1 AS ok FROM dual`: Ok when NetSuite answers it, else NetSuite's error
    /// (401/403 mark an auth failure).
    pub async fn ping(&self) -> Result<(), AdaptorError> {
        self.suiteql(PING_QUERY, 1, 0).await.map(|_| ())
    }

    /// Sends one request of the proxy (see [`ProxyRequest`]) and returns NetSuite's answer
    /// whatever its status.
    pub async fn proxy(&self, request: ProxyRequest<'_>) -> Result<HttpResponse, AdaptorError> {
        let url = self.proxy_url(&request)?;
        let mut headers = Vec::new();
        if let Some(content_type) = request.content_type {
            headers.push(("content-type", content_type));
        }
        if let Some(prefer) = request.prefer {
            headers.push(("prefer", prefer));
        }
        let body = (!request.body.is_empty()).then(|| request.body.to_vec());
        self.send(request.method, &url, &headers, body).await
    }

    fn proxy_url(&self, request: &ProxyRequest<'_>) -> Result<Url, AdaptorError> {
        let invalid = |message: String| AdaptorError::new("invalid_request", message);
        let relative = request.relative_uri.map(str::trim).unwrap_or_default();
        let (path, query) = match relative.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (relative, None),
        };
        if let Some(record_type) = request.record_type {
            let record_type = record_type.trim();
            if !is_identifier(record_type) {
                return Err(invalid(format!(
                    "Integrator-Record-Type '{record_type}' is not a NetSuite record type"
                )));
            }
            let mut url = self.record_url(record_type, None);
            let rest = path.trim_matches('/');
            if !rest.is_empty()
                && let Ok(mut segments) = url.path_segments_mut()
            {
                segments.extend(rest.split('/'));
            }
            url.set_query(query.filter(|q| !q.is_empty()));
            return Ok(url);
        }
        match (request.script_id, request.deploy_id) {
            (Some(script), Some(deploy)) => {
                let (script, deploy) = (script.trim(), deploy.trim());
                if !is_identifier(script) || !is_identifier(deploy) {
                    return Err(invalid(
                        "Integrator-NetSuite-ScriptId and Integrator-NetSuite-DeployId must be script and deployment ids".into(),
                    ));
                }
                let mut url = self.restlet_url(script, deploy, &[]);
                // The relative URI adds the RESTlet's own parameters (`?id=5` or `id=5`).
                let extra = query.unwrap_or(if path.contains('=') { path } else { "" });
                if !extra.is_empty() {
                    let joined = format!("{}&{extra}", url.query().unwrap_or_default());
                    url.set_query(Some(&joined));
                }
                return Ok(url);
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "a RESTlet needs both Integrator-NetSuite-ScriptId and Integrator-NetSuite-DeployId".into(),
                ));
            }
        }
        if relative.is_empty() {
            return Err(AdaptorError::new(
                "missing_header",
                "the proxy of a NetSuite connection needs Integrator-Record-Type, \
                 Integrator-NetSuite-ScriptId and Integrator-NetSuite-DeployId, or Integrator-Relative-URI",
            ));
        }
        let lower = relative.get(..8).unwrap_or(relative).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url =
                Url::parse(relative).map_err(|e| invalid(format!("the URL is not valid: {e}")))?;
            if url.origin() != self.rest.origin() && url.origin() != self.restlets.origin() {
                return Err(AdaptorError::new(
                    "invalid_url",
                    format!(
                        "{} is not a host of the connection; its credentials are only sent to {}",
                        http::host_of(&url),
                        http::host_of(&self.rest)
                    ),
                ));
            }
            return Ok(url);
        }
        let mut url = under(&self.rest, &format!("/{}", path.trim_start_matches('/')));
        url.set_query(query.filter(|q| !q.is_empty()));
        Ok(url)
    }
}

/// One request of `POST /v1/connections/{_id}/proxy` on a NetSuite connection, from its
/// headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyRequest<'a> {
    /// `Integrator-Method` (GET when absent).
    pub method: &'a str,
    /// `Integrator-Relative-URI`.
    pub relative_uri: Option<&'a str>,
    /// `Integrator-Record-Type`: the record API.
    pub record_type: Option<&'a str>,
    /// `Integrator-NetSuite-ScriptId`: a RESTlet, with the deploy id.
    pub script_id: Option<&'a str>,
    /// `Integrator-NetSuite-DeployId`.
    pub deploy_id: Option<&'a str>,
    /// The request's `Content-Type`, forwarded.
    pub content_type: Option<&'a str>,
    /// The request's `Prefer` (SuiteQL wants `transient`), forwarded.
    pub prefer: Option<&'a str>,
    /// The body, forwarded when not empty.
    pub body: &'a [u8],
}

/// The error of a non-2xx answer to `method path`, with NetSuite's code and message when the
/// body has them (REST web services' `o:errorDetails`, RESTlets' `error`).
fn remote_error(method: &str, path: &str, response: &HttpResponse) -> AdaptorError {
    let body: Option<Value> = crate::util::parse_json(&response.body).ok();
    let text = |value: &Value| match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let found = body.as_ref().and_then(|b| {
        if let Some(first) = b.get("o:errorDetails").and_then(|d| d.get(0)) {
            let message = text(&first["detail"]).or_else(|| text(&b["title"]));
            return Some((text(&first["o:errorCode"]), message));
        }
        let error = b.get("error").filter(|e| e.is_object())?;
        Some((text(&error["code"]), text(&error["message"])))
    });
    let Some((code, message)) = found else {
        return http::status_error(method, path, response);
    };
    let message = message.map_or_else(|| http::excerpt(&response.body), |m| one_line(&m));
    AdaptorError::new(
        code.unwrap_or_else(|| format!("http_{}", response.status)),
        format!(
            "{} {} answered {}: {message}",
            method.to_ascii_uppercase(),
            http::without_query(path),
            response.status
        ),
    )
    .with_status(response.status)
}

/// `text` on one line (NetSuite's details sometimes hold line breaks).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `netsuite` block of an export or import.
fn netsuite_block<'a>(doc: &'a Value, what: &str) -> Result<&'a Value, AdaptorError> {
    doc.get("netsuite")
        .filter(|b| b.is_object())
        .ok_or_else(|| {
            AdaptorError::new(
                format!("invalid_{what}"),
                format!("the {what} has no netsuite block"),
            )
        })
}

/// `restlet.scriptId` and `restlet.deployId` of a block.
fn restlet_ids(block: &Value, what: &str) -> Result<(String, String), AdaptorError> {
    let id = |field: &str| {
        http::text_field(block, &format!("restlet.{field}"))
            .filter(|id| is_identifier(id))
            .ok_or_else(|| {
                AdaptorError::new(
                    format!("invalid_{what}"),
                    format!("netsuite.restlet.{field} is required (a script or deployment id)"),
                )
            })
    };
    Ok((id("scriptId")?, id("deployId")?))
}

/// Renders `source` (a template) with `context`, `{{…}}` escaping as `escape` says.
fn render_text(
    field: &str,
    source: &str,
    context: &Value,
    escape: Escape,
) -> Result<String, AdaptorError> {
    let template: Template = http::compile(field, source)?;
    template
        .render_escaped(context, escape)
        .map_err(|e| AdaptorError::new("template", format!("{field}: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Exports

/// What an export asks NetSuite for, its templates rendered.
enum ExportPlan {
    SuiteQl {
        query: String,
        limit: i64,
    },
    Restlet {
        method: String,
        url: Url,
        body: Option<Vec<u8>>,
        resource_path: Option<String>,
    },
}

/// An export pulling records from NetSuite page by page; [`NetSuiteExport::state`] tells where
/// it stands so that [`NetSuiteExport::resume`] can continue in another call.
pub struct NetSuiteExport {
    connection: Arc<NetSuiteConnection>,
    plan: ExportPlan,
    /// The SuiteQL offset of the next page.
    offset: i64,
    done: bool,
}

impl NetSuiteExport {
    /// An export of `export` (its `netsuite` block) through `connection`; `context` is what its
    /// templates see. `resume` is a position from [`NetSuiteExport::state`].
    pub fn new(
        connection: Arc<NetSuiteConnection>,
        export: &Value,
        context: &Value,
        resume: Option<&Value>,
    ) -> Result<NetSuiteExport, AdaptorError> {
        let block = netsuite_block(export, "export")?;
        let invalid = |message: String| AdaptorError::new("invalid_export", message);
        let kind = http::text_field(block, "type").unwrap_or_else(|| {
            if block.get("restlet").is_some_and(Value::is_object) {
                "restlet".into()
            } else {
                "suiteql".into()
            }
        });
        if let Some(state) = resume
            && !state.is_object()
        {
            return Err(AdaptorError::new(
                "invalid_state",
                "the paged export state is not an object",
            ));
        }
        let plan = match kind.as_str() {
            "suiteql" => {
                // A resumed export runs the query it started with (its context may have moved).
                let query = match resume.and_then(|s| http::text_field(s, "query")) {
                    Some(query) => query,
                    None => {
                        let source = http::text_field(block, "suiteql.query")
                            .ok_or_else(|| invalid("netsuite.suiteql.query is required".into()))?;
                        // Values written with `{{…}}` stay inside their quotes.
                        render_text("suiteql.query", &source, context, Escape::SqlText)?
                    }
                };
                let limit = http::number_field(export, "pageSize")
                    .filter(|n| *n > 0)
                    .map_or(MAX_SUITEQL_LIMIT, |n| n.min(MAX_SUITEQL_LIMIT));
                ExportPlan::SuiteQl { query, limit }
            }
            "restlet" => {
                let (script, deploy) = restlet_ids(block, "export")?;
                let mut params = Vec::new();
                if let Some(Value::Object(map)) = block.pointer("/restlet/params") {
                    for (name, value) in map {
                        let source = match value {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        let field = format!("restlet.params.{name}");
                        params.push((
                            name.clone(),
                            render_text(&field, &source, context, Escape::None)?,
                        ));
                    }
                }
                let body = match block.pointer("/restlet/body") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(source)) => Some(
                        render_text("restlet.body", source, context, Escape::None)?.into_bytes(),
                    ),
                    Some(other) => Some(
                        render_text("restlet.body", &other.to_string(), context, Escape::None)?
                            .into_bytes(),
                    ),
                };
                ExportPlan::Restlet {
                    method: http::text_field(block, "restlet.method")
                        .map(|m| m.to_ascii_uppercase())
                        .unwrap_or_else(|| "GET".into()),
                    url: connection.restlet_url(&script, &deploy, &params),
                    body,
                    resource_path: http::text_field(block, "restlet.resourcePath"),
                }
            }
            other => {
                return Err(AdaptorError::new(
                    "not_supported",
                    format!("netsuite.type '{other}' is not supported: use suiteql or restlet"),
                ));
            }
        };
        Ok(NetSuiteExport {
            connection,
            plan,
            offset: resume
                .and_then(|s| http::number_field(s, "offset"))
                .unwrap_or(0),
            done: resume.is_some_and(|s| s["done"].as_bool() == Some(true)),
        })
    }

    /// Where the export stands: `offset` (of the next SuiteQL page), `done`, and the SuiteQL
    /// `query` as rendered.
    pub fn state(&self) -> Value {
        let mut state = json!({"offset": self.offset, "done": self.done});
        if let ExportPlan::SuiteQl { query, .. } = &self.plan {
            state["query"] = json!(query);
        }
        state
    }

    /// The records of the next page, or `None` when the export is done.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, AdaptorError> {
        if self.done {
            return Ok(None);
        }
        match &self.plan {
            ExportPlan::SuiteQl { query, limit } => {
                let limit = *limit;
                let mut answer = self.connection.suiteql(query, limit, self.offset).await?;
                let items = match answer.get_mut("items").map(Value::take) {
                    Some(Value::Array(items)) => items,
                    None | Some(Value::Null) => Vec::new(),
                    Some(other) => {
                        return Err(AdaptorError::new(
                            "invalid_response",
                            format!(
                                "the SuiteQL answer's items are {}, not an array",
                                http::kind_of(&other)
                            ),
                        ));
                    }
                };
                self.offset += limit;
                if answer["hasMore"].as_bool() != Some(true) || items.is_empty() {
                    self.done = true;
                }
                if items.is_empty() {
                    return Ok(None);
                }
                Ok(Some(items.into_iter().map(without_links).collect()))
            }
            ExportPlan::Restlet {
                method,
                url,
                body,
                resource_path,
            } => {
                let response = self.connection.send(method, url, &[], body.clone()).await?;
                if !response.is_success() {
                    return Err(remote_error(method, url.path(), &response));
                }
                let answer = http::json_body(&response, method, url.path())?;
                http::record_count(&answer, resource_path.as_deref())?;
                self.done = true;
                let records = http::take_records(answer, resource_path.as_deref());
                Ok((!records.is_empty()).then_some(records))
            }
        }
    }
}

/// A SuiteQL row without its `links` (always empty for query results).
fn without_links(mut item: Value) -> Value {
    if let Value::Object(map) = &mut item {
        map.remove("links");
    }
    item
}

// ---------------------------------------------------------------------------------------------
// Imports

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operation {
    Add,
    Update,
    AddUpdate,
}

/// How an import writes records.
enum ImportPlan {
    Record {
        record_type: String,
        operation: Operation,
        id_field: String,
        ignore_existing: bool,
        ignore_missing: bool,
    },
    Restlet {
        method: String,
        url: Url,
        batch_size: usize,
    },
}

impl ImportPlan {
    fn from_doc(connection: &NetSuiteConnection, import: &Value) -> Result<Self, AdaptorError> {
        let block = netsuite_block(import, "import")?;
        let invalid = |message: String| AdaptorError::new("invalid_import", message);
        let kind = http::text_field(block, "type").unwrap_or_else(|| {
            if block.get("restlet").is_some_and(Value::is_object) {
                "restlet".into()
            } else {
                "record".into()
            }
        });
        match kind.as_str() {
            "record" => {
                let record_type = http::text_field(block, "recordType")
                    .ok_or_else(|| invalid("netsuite.recordType is required".into()))?;
                if !is_identifier(&record_type) {
                    return Err(invalid(format!(
                        "netsuite.recordType '{record_type}' is not a NetSuite record type"
                    )));
                }
                let operation = match http::text_field(block, "operation")
                    .map(|o| o.to_ascii_lowercase())
                    .as_deref()
                {
                    None | Some("add") => Operation::Add,
                    Some("update") => Operation::Update,
                    Some("addupdate") => Operation::AddUpdate,
                    Some(other) => {
                        return Err(invalid(format!(
                            "netsuite.operation '{other}' is not one of add, update, addupdate"
                        )));
                    }
                };
                Ok(ImportPlan::Record {
                    record_type,
                    operation,
                    id_field: http::text_field(block, "internalIdField")
                        .unwrap_or_else(|| "id".into()),
                    ignore_existing: import["ignoreExisting"].as_bool() == Some(true),
                    ignore_missing: import["ignoreMissing"].as_bool() == Some(true),
                })
            }
            "restlet" => {
                let (script, deploy) = restlet_ids(block, "import")?;
                Ok(ImportPlan::Restlet {
                    method: http::text_field(block, "restlet.method")
                        .map(|m| m.to_ascii_uppercase())
                        .unwrap_or_else(|| "POST".into()),
                    url: connection.restlet_url(&script, &deploy, &[]),
                    batch_size: http::number_field(block, "restlet.batchSize")
                        .filter(|n| *n > 0)
                        .map_or(usize::MAX, |n| n as usize),
                })
            }
            other => Err(AdaptorError::new(
                "not_supported",
                format!(
                    "netsuite.type '{other}' is not supported for imports: use record or restlet"
                ),
            )),
        }
    }
}

fn netsuite_error(code: impl Into<String>, message: impl Into<String>) -> ErrorItem {
    ErrorItem {
        code: code.into(),
        message: message.into(),
        source: Some("netsuite".into()),
    }
}

/// A record's failure from an adaptor error: 401 for refused credentials, else 422.
fn failed(error: &AdaptorError) -> RecordResult {
    RecordResult::failure(
        if error.auth { 401 } else { 422 },
        netsuite_error(error.code.clone(), error.message.clone()),
    )
}

/// A record's failure from NetSuite's non-2xx answer.
fn answer_failure(method: &str, url: &Url, response: &HttpResponse) -> RecordResult {
    let mut result = failed(&remote_error(method, url.path(), response));
    result.json = http::response_json(response);
    result
}

/// A record NetSuite did not take and the import asked to skip.
fn ignored(id: Option<String>) -> RecordResult {
    RecordResult {
        status_code: 200,
        id: id.map(Value::String),
        ignored: true,
        ..RecordResult::default()
    }
}

/// Submits `records` (already mapped) for one import through `connection`: one
/// [`RecordResult`] per record, in the same order. Record imports send one request per record,
/// concurrently up to the connection's concurrency level.
pub async fn import(
    connection: &NetSuiteConnection,
    import: &Value,
    records: &[Value],
) -> Vec<RecordResult> {
    if records.is_empty() {
        return Vec::new();
    }
    let plan = match ImportPlan::from_doc(connection, import) {
        Ok(plan) => plan,
        Err(error) => return records.iter().map(|_| failed(&error)).collect(),
    };
    let plan = &plan;
    match plan {
        ImportPlan::Record { .. } => {
            // Collected before awaiting: see `http::import` (the `Send` bound of jobs).
            let requests: Vec<_> = records
                .iter()
                .map(|record| import_record(connection, plan, record))
                .collect();
            http::run_ordered(connection.concurrency, requests).await
        }
        ImportPlan::Restlet {
            method,
            url,
            batch_size,
        } => {
            let requests: Vec<_> = records
                .chunks((*batch_size).min(records.len()))
                .map(|batch| import_restlet(connection, method, url, batch))
                .collect();
            http::run_ordered(connection.concurrency, requests)
                .await
                .into_iter()
                .flatten()
                .collect()
        }
    }
}

/// The internal id at `field` of `record`: text or a number, not empty.
fn internal_id(record: &Value, field: &str) -> Option<String> {
    match get(record, field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn import_record(
    connection: &NetSuiteConnection,
    plan: &ImportPlan,
    record: &Value,
) -> RecordResult {
    let ImportPlan::Record {
        record_type,
        operation,
        id_field,
        ignore_existing,
        ignore_missing,
    } = plan
    else {
        unreachable!("import_record is only called for record imports")
    };
    let id = internal_id(record, id_field);
    if *ignore_existing && id.is_some() && *operation != Operation::Update {
        return ignored(id);
    }
    let update = match (operation, &id) {
        (Operation::Add, _) | (Operation::AddUpdate, None) => None,
        (Operation::Update | Operation::AddUpdate, Some(id)) => Some(id.as_str()),
        (Operation::Update, None) if *ignore_missing => return ignored(None),
        (Operation::Update, None) => {
            return RecordResult::failure(
                422,
                netsuite_error(
                    "missing_internal_id",
                    format!("the record has no internal id at '{id_field}' to update"),
                ),
            );
        }
    };
    let mut body = record.clone();
    if update.is_some()
        && let Value::Object(map) = &mut body
    {
        // NetSuite takes the id from the URL; the field is not part of the record.
        map.remove(id_field.as_str());
    }
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(e) => {
            return RecordResult::failure(
                422,
                netsuite_error("invalid_record", format!("record: {e}")),
            );
        }
    };
    let (method, url) = match update {
        Some(id) => ("PATCH", connection.record_url(record_type, Some(id))),
        None => ("POST", connection.record_url(record_type, None)),
    };
    let response = match connection.send(method, &url, &[], Some(body)).await {
        Ok(response) => response,
        Err(error) => return failed(&error),
    };
    if response.status == 404 && update.is_some() && *ignore_missing {
        return ignored(id);
    }
    if !response.is_success() {
        return answer_failure(method, &url, &response);
    }
    // NetSuite answers 204 with the new record's URL in `Location`.
    let new_id = response
        .header("location")
        .map(|location| http::without_query(location).trim_end_matches('/'))
        .and_then(|location| location.rsplit('/').next())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .or_else(|| http::response_json(&response).and_then(|json| internal_id(&json, "id")))
        .or_else(|| update.map(str::to_owned));
    let json = new_id.as_ref().map(|id| json!({ "id": id }));
    RecordResult::success(new_id.map(Value::String), json)
}

async fn import_restlet(
    connection: &NetSuiteConnection,
    method: &str,
    url: &Url,
    batch: &[Value],
) -> Vec<RecordResult> {
    let all = |result: RecordResult| batch.iter().map(|_| result.clone()).collect();
    let body = match serde_json::to_vec(batch) {
        Ok(body) => body,
        Err(e) => {
            let error = netsuite_error("invalid_record", format!("records: {e}"));
            return all(RecordResult::failure(422, error));
        }
    };
    let response = match connection.send(method, url, &[], Some(body)).await {
        Ok(response) => response,
        Err(error) => return all(failed(&error)),
    };
    if !response.is_success() {
        return all(answer_failure(method, url, &response));
    }
    match http::response_json(&response) {
        Some(Value::Array(entries)) if entries.len() == batch.len() => {
            entries.into_iter().map(restlet_outcome).collect()
        }
        json => all(RecordResult::success(None, json)),
    }
}

/// The result of one record from its entry in a RESTlet's answer.
fn restlet_outcome(entry: Value) -> RecordResult {
    let error = match &entry {
        Value::Object(map) => match map.get("error") {
            Some(Value::Object(error)) => Some((
                error.get("code").and_then(Value::as_str),
                error.get("message").and_then(Value::as_str),
            )),
            Some(Value::String(message)) => Some((None, Some(message.as_str()))),
            _ if map.get("success") == Some(&Value::Bool(false)) => {
                Some((None, map.get("message").and_then(Value::as_str)))
            }
            _ => None,
        },
        _ => None,
    };
    if let Some((code, message)) = error {
        let mut result = RecordResult::failure(
            422,
            netsuite_error(
                code.unwrap_or("restlet_error"),
                message.unwrap_or("the RESTlet refused the record"),
            ),
        );
        result.json = Some(entry);
        return result;
    }
    let id = match &entry {
        Value::Object(map) => map.get("id").filter(|id| !id.is_null()).cloned(),
        Value::String(_) | Value::Number(_) => Some(entry.clone()),
        _ => None,
    };
    RecordResult::success(id, Some(entry))
}

/// The iClient fields this adaptor reads, for callers that load it: `_iClientId` of the block.
pub fn iclient_id(connection: &Value) -> Option<&str> {
    connection
        .pointer("/netsuite/_iClientId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(extra: Value) -> Value {
        let mut doc = json!({"_id": "c1", "type": "netsuite", "netsuite": {
            "account": "1234567_sb1", "tokenId": "tid", "tokenSecret": "tsecret",
            "consumerKey": "ckey", "consumerSecret": "csecret"}});
        if let (Some(block), Value::Object(extra)) = (doc["netsuite"].as_object_mut(), extra) {
            block.extend(extra);
        }
        doc
    }

    fn build(extra: Value) -> NetSuiteConnection {
        NetSuiteConnection::from_doc(&connection(extra), None).expect("a valid connection")
    }

    fn answer(status: u16, body: Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn the_account_names_the_hosts_and_the_realm() {
        let conn = build(json!({}));
        assert_eq!(conn.realm, "1234567_SB1");
        assert_eq!(
            under(&conn.rest, SUITEQL_PATH).as_str(),
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql"
        );
        assert_eq!(
            conn.restlet_url("customscript_a", "1", &[]).as_str(),
            "https://1234567-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl?script=customscript_a&deploy=1"
        );
        assert_eq!(conn.concurrency(), DEFAULT_CONCURRENCY);

        let conn = build(json!({"baseURI": "http://127.0.0.1:9/prefix/", "concurrencyLevel": 2}));
        assert_eq!(
            conn.record_url("customer", Some("12/../x")).as_str(),
            "http://127.0.0.1:9/prefix/services/rest/record/v1/customer/12%2F..%2Fx",
            "an id stays one path segment"
        );
        assert_eq!(
            conn.restlet_url("s", "d", &[("q".into(), "a b&c".into())])
                .as_str(),
            "http://127.0.0.1:9/prefix/app/site/hosting/restlet.nl?script=s&deploy=d&q=a+b%26c"
        );
        assert_eq!(conn.concurrency(), 2);
    }

    #[test]
    fn credentials_come_from_the_connection_or_the_iclient_and_are_never_printed() {
        let mut doc = connection(json!({}));
        let block = doc["netsuite"].as_object_mut().expect("a block");
        block.remove("consumerKey");
        block.remove("consumerSecret");
        let missing = NetSuiteConnection::from_doc(&doc, None).expect_err("no consumer");
        assert_eq!(missing.code, "invalid_connection");
        assert!(missing.message.contains("_iClientId"), "{missing}");

        let iclient = json!({"consumerKey": "ikey", "consumerSecret": "isecret"});
        let conn = NetSuiteConnection::from_doc(&doc, Some(&iclient)).expect("iClient credentials");
        assert_eq!(conn.credentials.consumer_key, "ikey");
        let printed = format!("{conn:?}");
        assert!(
            !printed.contains("isecret") && !printed.contains("tsecret"),
            "{printed}"
        );

        let oauth1 = json!({"oauth1": {"consumerKey": "okey", "consumerSecret": "osecret"}});
        let conn = NetSuiteConnection::from_doc(&doc, Some(&oauth1)).expect("oauth1 block");
        assert_eq!(conn.credentials.consumer_key, "okey");

        let own = NetSuiteConnection::from_doc(&connection(json!({})), Some(&iclient))
            .expect("own credentials");
        assert_eq!(
            own.credentials.consumer_key, "ckey",
            "the connection's own win"
        );

        for (extra, code) in [
            (json!({"tokenSecret": null}), "invalid_connection"),
            (json!({"account": "12 34"}), "invalid_connection"),
            (json!({"baseURI": "ftp://x"}), "invalid_connection"),
            (json!({"authType": "basic"}), "not_supported"),
        ] {
            let error = NetSuiteConnection::from_doc(&connection(extra.clone()), None)
                .expect_err("refused");
            assert_eq!(error.code, code, "{extra}: {error}");
        }
    }

    #[test]
    fn netsuite_errors_keep_the_remote_code_and_message() {
        let rest = answer(
            400,
            json!({"type": "x", "title": "Bad Request", "status": 400, "o:errorDetails": [
                {"detail": "Please enter value(s) for:\n Company Name.", "o:errorCode": "USER_ERROR"}]}),
        );
        let error = remote_error("post", "/services/rest/record/v1/customer?x=secret", &rest);
        assert_eq!(error.code, "USER_ERROR");
        assert_eq!(
            error.message,
            "POST /services/rest/record/v1/customer answered 400: Please enter value(s) for: Company Name."
        );
        assert!(!error.auth);

        let login = answer(
            401,
            json!({"title": "Unauthorized", "status": 401, "o:errorDetails": [
                {"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}]}),
        );
        let error = remote_error("POST", SUITEQL_PATH, &login);
        assert_eq!((error.code.as_str(), error.auth), ("INVALID_LOGIN", true));
        assert_eq!(error.status, Some(401));

        let restlet = answer(
            403,
            json!({"error": {"code": "INVALID_LOGIN_ATTEMPT", "message": "Invalid login attempt."}}),
        );
        let error = remote_error("GET", RESTLET_PATH, &restlet);
        assert_eq!(
            (error.code.as_str(), error.auth),
            ("INVALID_LOGIN_ATTEMPT", true)
        );

        let plain = HttpResponse {
            status: 502,
            headers: Vec::new(),
            content_type: None,
            body: b"Bad gateway".to_vec(),
        };
        assert_eq!(remote_error("GET", "/x", &plain).code, "http_502");
    }

    #[test]
    fn the_proxy_targets_the_record_api_a_restlet_or_a_rest_path() {
        let conn = build(json!({"baseURI": "https://ns.example"}));
        let url = |request: ProxyRequest<'_>| conn.proxy_url(&request).map(|u| u.to_string());
        let base = ProxyRequest {
            method: "GET",
            ..ProxyRequest::default()
        };
        assert_eq!(
            url(ProxyRequest {
                record_type: Some("customer"),
                relative_uri: Some("/42?expandSubResources=true"),
                ..base
            })
            .as_deref(),
            Ok("https://ns.example/services/rest/record/v1/customer/42?expandSubResources=true")
        );
        assert_eq!(
            url(ProxyRequest {
                script_id: Some("customscript_a"),
                deploy_id: Some("customdeploy_a"),
                relative_uri: Some("?id=5"),
                ..base
            })
            .as_deref(),
            Ok(
                "https://ns.example/app/site/hosting/restlet.nl?script=customscript_a&deploy=customdeploy_a&id=5"
            )
        );
        assert_eq!(
            url(ProxyRequest {
                relative_uri: Some("services/rest/record/v1/metadata-catalog"),
                ..base
            })
            .as_deref(),
            Ok("https://ns.example/services/rest/record/v1/metadata-catalog")
        );
        for (request, code) in [
            (base, "missing_header"),
            (
                ProxyRequest {
                    script_id: Some("customscript_a"),
                    ..base
                },
                "invalid_request",
            ),
            (
                ProxyRequest {
                    record_type: Some("customer/../x"),
                    ..base
                },
                "invalid_request",
            ),
            (
                ProxyRequest {
                    relative_uri: Some("https://elsewhere.example/steal"),
                    ..base
                },
                "invalid_url",
            ),
        ] {
            assert_eq!(url(request).expect_err("refused").code, code, "{request:?}");
        }
    }

    #[test]
    fn restlet_entries_give_each_record_its_result() {
        let ok = restlet_outcome(json!({"id": "7", "status": "created"}));
        assert!(ok.is_success());
        assert_eq!(ok.id, Some(json!("7")));
        let refused = restlet_outcome(json!({"error": {"code": "DUP", "message": "exists"}}));
        assert_eq!(refused.status_code, 422);
        assert_eq!(refused.errors[0].code, "DUP");
        assert_eq!(refused.errors[0].message, "exists");
        let unsuccessful = restlet_outcome(json!({"success": false, "message": "no"}));
        assert_eq!(unsuccessful.errors[0].code, "restlet_error");
        assert_eq!(restlet_outcome(json!(12)).id, Some(json!(12)));
    }

    #[test]
    fn suiteql_rows_lose_their_links() {
        assert_eq!(
            without_links(json!({"links": [], "id": "1", "companyname": "A"})),
            json!({"id": "1", "companyname": "A"})
        );
    }
}
