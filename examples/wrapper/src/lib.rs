//! Example wrapper: a custom adaptor for a simple JSON HTTP API ("Records API").
//!
//! Build (in `examples/`): `cargo build --target wasm32-wasip2 --release`, which writes
//! `target/wasm32-wasip2/release/example_wrapper.wasm`. Run it: upload that file to a stack
//! (`PUT /v1/stacks/{_id}/component`, `Content-Type: application/wasm`) and call
//! `POST /v1/stacks/{_id}/invoke` with `{"kind":"ping","function":"ping","options":{…},
//! "allowedHosts":["<host:port of the API>"]}` — see `examples/wrapper/README.md`.
//!
//! The API this wrapper talks to:
//!
//! | request | answer |
//! |---|---|
//! | `GET {baseURI}/ping` | 200, or 401 when the key is wrong |
//! | `GET {baseURI}/records?page=N[&since=<ISO time>]` | `{"records":[…], "next": N+1}`; no `next` on the last page |
//! | `POST {baseURI}/records` (one JSON record) | 200/201 `{"id":…}`, or 422 `{"errors":[{"code","message"}]}` |
//!
//! Every request carries `Authorization: Bearer <apiKey>`. The connection holds
//! `unencrypted.baseURI` and `encrypted.apiKey`; the platform only lets the wrapper reach the
//! hosts the connection allows (`allowedHosts`).
//!
//! Functions: `ping` (kind `ping`), `listRecords` (kind `export`: one page per call, paging via
//! `state` `{"page": N}`, delta via `delta.lastExecutionTime` sent as `since`, `test.limit`
//! honoured), `createRecords` (kind `import`: one `POST` per record, one result per record).

use integrator_sdk::http::{Request, Response};
use integrator_sdk::wrapper::{
    Connection, ExportOptions, ExportResponse, ImportOptions, ImportResult, PingOptions,
    PingResponse,
};
use integrator_sdk::{Failure, Result, Value, json, log};

/// Where and how to reach the API, from the connection.
struct Api {
    base: String,
    key: String,
}

impl Api {
    /// The connection's `unencrypted.baseURI` and `encrypted.apiKey`.
    fn from(connection: &Connection) -> Result<Self> {
        let base = connection.unencrypted["baseURI"]
            .as_str()
            .map(|b| b.trim().trim_end_matches('/').to_owned())
            .filter(|b| b.starts_with("http://") || b.starts_with("https://"))
            .ok_or_else(|| {
                Failure::new(
                    "invalid_connection",
                    "connection.unencrypted.baseURI must be an http:// or https:// URL",
                )
            })?;
        let key = connection.encrypted["apiKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(Self { base, key })
    }

    /// Send `request` with the API key; a request that cannot be sent (refused host,
    /// unreachable server) is a fatal failure naming the URL.
    fn send(&self, request: Request) -> Result<Response> {
        let url = request.url.clone();
        let method = request.method.clone();
        let request = if self.key.is_empty() {
            request
        } else {
            request.header("authorization", format!("Bearer {}", self.key))
        };
        let response = request
            .header("accept", "application/json")
            .send()
            .map_err(|reason| {
                Failure::new("request_failed", format!("{method} {url}: {reason}"))
            })?;
        log::debug(format!("{method} {url} -> {}", response.status));
        Ok(response)
    }
}

/// The errors an answer reports: its `errors` array, else its `message`/`error`, else the status.
fn errors_of(response: &Response) -> Vec<Failure> {
    let fallback = format!("the API answered {}", response.status);
    let body = response.json().unwrap_or(Value::Null);
    if let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty()) {
        return errors
            .iter()
            .map(|e| {
                Failure::new(
                    e["code"]
                        .as_str()
                        .map_or_else(|| format!("http_{}", response.status), str::to_owned),
                    e["message"]
                        .as_str()
                        .or_else(|| e.as_str())
                        .unwrap_or(&fallback),
                )
            })
            .collect();
    }
    let message = body["message"]
        .as_str()
        .or_else(|| body["error"].as_str())
        .unwrap_or(&fallback);
    vec![Failure::new(format!("http_{}", response.status), message)]
}

/// `ping`: `GET {baseURI}/ping`. 2xx → `{statusCode: 200}`; 401/403 → `{statusCode: 401,
/// errors}`; anything else is a failure saying what the API answered.
fn ping(options: PingOptions) -> Result<PingResponse> {
    let api = Api::from(&options.connection)?;
    let response = api.send(Request::get(format!("{}/ping", api.base)))?;
    match response.status {
        200..=299 => Ok(PingResponse {
            status_code: 200,
            errors: Vec::new(),
        }),
        401 | 403 => Ok(PingResponse {
            status_code: 401,
            errors: errors_of(&response),
        }),
        status => Err(Failure::new(
            "ping_failed",
            format!(
                "GET {}/ping answered {status}: {}",
                api.base,
                errors_of(&response)[0].message
            ),
        )),
    }
}

/// Percent-encode a query parameter value (RFC 3986 unreserved characters stay as they are).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `export`: one page per call. The first call (no `state`) reads page 1; each answer hands
/// back `state: {page: <next>}` until the API has no `next` or returns an empty page, which is
/// the `lastPage`. Delta exports send `delta.lastExecutionTime` as `since`; test exports stop
/// after `test.limit` records.
fn list_records(options: ExportOptions) -> Result<ExportResponse> {
    let api = Api::from(&options.connection)?;
    let page = options.state["page"].as_u64().unwrap_or(1);
    let mut url = format!("{}/records?page={page}", api.base);
    let delta = options.kind.as_deref() == Some("delta");
    if let Some(since) = options
        .delta
        .as_ref()
        .and_then(|d| d.last_execution_time.as_deref())
        .filter(|_| delta)
    {
        url.push_str(&format!("&since={}", encode(since)));
    }
    let response = api.send(Request::get(&url))?;
    match response.status {
        200..=299 => {}
        401 | 403 => {
            return Err(Failure::new(
                "unauthorized",
                format!(
                    "GET {url}: the API refused the key: {}",
                    errors_of(&response)[0].message
                ),
            ));
        }
        status => {
            return Err(Failure::new(
                "export_failed",
                format!(
                    "GET {url} answered {status}: {}",
                    errors_of(&response)[0].message
                ),
            ));
        }
    }
    let body = response
        .json()
        .map_err(|e| Failure::new("invalid_response", format!("GET {url}: {e}")))?;
    let mut data = match &body["records"] {
        Value::Array(records) => records.clone(),
        Value::Null => Vec::new(),
        _ => {
            return Err(Failure::new(
                "invalid_response",
                format!("GET {url}: `records` must be an array"),
            ));
        }
    };
    // The next page: a number, or the page after this one when `next` is any other value.
    let next = match &body["next"] {
        Value::Null | Value::Bool(false) => None,
        Value::Number(n) => n.as_u64(),
        _ => Some(page + 1),
    };
    let mut last_page = next.is_none() || data.is_empty();
    if options.kind.as_deref() == Some("test") {
        let limit = options.test.as_ref().and_then(|t| t.limit).unwrap_or(1) as usize;
        data.truncate(limit);
        last_page = true;
    }
    log::info(format!(
        "page {page}: {} record{}{}",
        data.len(),
        if data.len() == 1 { "" } else { "s" },
        if last_page { " (last page)" } else { "" }
    ));
    Ok(ExportResponse {
        data,
        last_page,
        state: match next {
            Some(next) if !last_page => json!({ "page": next }),
            _ => Value::Null,
        },
        ..Default::default()
    })
}

/// `import`: `POST {baseURI}/records` for each mapped record. 2xx → `{statusCode: 200, id}`;
/// 401/403 → `{statusCode: 401, errors}`; any other answer → `{statusCode: 422, errors}`.
fn create_records(options: ImportOptions) -> Result<Vec<ImportResult>> {
    let api = Api::from(&options.connection)?;
    let url = format!("{}/records", api.base);
    let mut results = Vec::with_capacity(options.post_map_data.len());
    for record in &options.post_map_data {
        let response = api.send(Request::post_json(&url, record))?;
        results.push(match response.status {
            200..=299 => ImportResult {
                status_code: 200,
                id: response.json().ok().and_then(|b| b.get("id").cloned()),
                ..Default::default()
            },
            401 | 403 => ImportResult {
                status_code: 401,
                errors: errors_of(&response),
                ..Default::default()
            },
            _ => ImportResult {
                status_code: 422,
                errors: errors_of(&response),
                ..Default::default()
            },
        });
    }
    let ok = results.iter().filter(|r| r.status_code == 200).count();
    log::info(format!("imported {ok} of {} records", results.len()));
    Ok(results)
}

integrator_sdk::functions! {
    wrapper_ping: { "ping" => ping },
    wrapper_export: { "listRecords" => list_records },
    wrapper_import: { "createRecords" => create_records },
}
