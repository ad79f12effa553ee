//! A fake remote application for flow tests: an HTTP server inside the test process on a free
//! loopback port that is both the source (orders, paged every way a REST API pages) and the
//! target (sinks that store what they receive) of the flows under test, plus the "Records API"
//! the example wrapper speaks. Tests configure it and look at what it received.
//!
//! Routes (every one also under `/secure/…`, which requires `Authorization: Bearer
//! secret-token`):
//!
//! | request | answer |
//! |---|---|
//! | `GET /ping` | 200 `{"ok":true}` |
//! | `GET /orders?page=N` | page N (from 1) as a JSON array; `[]` after the last page |
//! | `GET /orders-skip?offset=K&limit=L` | the orders after the first K, at most L |
//! | `GET /orders-url[?cursor=N]` | `{"items":[…],"next":"<absolute URL of the next page>"}`, no `next` on the last |
//! | `GET /orders-link[?page=N]` | a JSON array with `Link: <…>; rel="next"`, none on the last page |
//! | `GET /orders-token[?token=T]` | `{"items":[…],"nextToken":"…"}`, no `nextToken` on the last |
//! | `GET /changes?since=<ISO time>` | every order updated after `since` (all when empty) |
//! | `GET /slow?page=N[&delay=ms]` | page N of `slow_pages`, each after `slow_ms` (or `delay`) ms |
//! | `POST /sink…` | stores the JSON record, 201 `{"id":"rec-K"}`; 422 `rejected` when `fail` is true (unless `accept_failing`), 422 `duplicate` when `duplicate` is true |
//! | `* /echo` | 200 with what it received |
//! | `* /teapot` | 418 with an error body |
//! | `GET /api/ping`, `GET /api/records?page=N`, `POST /api/records` | the example wrapper's Records API (`Authorization: Bearer wrapper-key`) |

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The bearer token `/secure/…` requires.
pub const TOKEN: &str = "secret-token";
/// The API key of the Records API (`/api/…`).
pub const WRAPPER_KEY: &str = "wrapper-key";

/// How the remote behaves; change it with [`Remote::configure`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Orders per page of every paged order route.
    pub page_size: u64,
    /// Pages of orders (so there are `page_size * pages` orders, ids from 1).
    pub pages: u64,
    /// Orders that carry `fail: true` (the sinks refuse them).
    pub fail: BTreeSet<u64>,
    /// Orders that carry `duplicate: true` (the sinks answer 422 `duplicate`).
    pub duplicate: BTreeSet<u64>,
    /// Orders without a `customer`.
    pub nameless: BTreeSet<u64>,
    /// Sinks accept records with `fail: true` (the remote side was fixed).
    pub accept_failing: bool,
    /// How long `/slow` takes per page.
    pub slow_ms: u64,
    /// Pages `/slow` has.
    pub slow_pages: u64,
    /// `/changes` answers 503.
    pub changes_down: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            page_size: 4,
            pages: 3,
            fail: BTreeSet::new(),
            duplicate: BTreeSet::new(),
            nameless: BTreeSet::new(),
            accept_failing: false,
            slow_ms: 300,
            slow_pages: 50,
            changes_down: false,
        }
    }
}

/// One request the remote received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The path, e.g. `/secure/orders`.
    pub path: String,
    /// The query string as sent (empty when none).
    pub query: String,
    /// The decoded query parameters.
    pub params: HashMap<String, String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `X-Test` header.
    pub x_test: Option<String>,
    /// The body as JSON (`null` when empty or not JSON).
    pub body: Value,
}

impl Seen {
    /// `path?query` (just the path when there is no query).
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// A record a sink accepted, with the id it answered.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The id the sink gave the record (`rec-K`).
    pub id: String,
    /// The record as received.
    pub record: Value,
}

#[derive(Default)]
struct Inner {
    config: Config,
    requests: Vec<Seen>,
    sinks: HashMap<String, Vec<Stored>>,
    created: u64,
    updated: HashMap<u64, String>,
    in_flight: HashMap<String, usize>,
    max_in_flight: HashMap<String, usize>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake application.
pub struct Remote {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// `127.0.0.1:<port>`.
    pub host: String,
    inner: Shared,
}

impl Remote {
    /// Start a remote with the default [`Config`] on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port for the remote application");
        let host = listener
            .local_addr()
            .expect("the remote's address")
            .to_string();
        let inner = Shared::default();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state((inner.clone(), format!("http://{host}")));
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the remote application");
        });
        Self {
            url: format!("http://{host}"),
            host,
            inner,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change how the remote behaves from now on.
    pub fn configure(&self, change: impl FnOnce(&mut Config)) {
        change(&mut self.lock().config);
    }

    /// Order `n` as the remote serves it now.
    pub fn order(&self, n: u64) -> Value {
        let inner = self.lock();
        order(&inner, n)
    }

    /// Mark orders as changed now (their `updatedAt` becomes the current time).
    pub fn touch(&self, ids: &[u64]) {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut inner = self.lock();
        for id in ids {
            inner.updated.insert(*id, now.clone());
        }
    }

    /// Every request to `path` (exactly), in order.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// `path?query` of every request to `path`, in order.
    pub fn targets(&self, path: &str) -> Vec<String> {
        self.requests(path).iter().map(Seen::target).collect()
    }

    /// How many requests `path` got.
    pub fn count(&self, path: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// What the sink at `path` accepted, in order.
    pub fn stored(&self, path: &str) -> Vec<Stored> {
        self.lock().sinks.get(path).cloned().unwrap_or_default()
    }

    /// The records the sink at `path` accepted, in order.
    pub fn received(&self, path: &str) -> Vec<Value> {
        self.stored(path).into_iter().map(|s| s.record).collect()
    }

    /// The most requests to `path` that were in progress at the same time.
    pub fn max_in_flight(&self, path: &str) -> usize {
        self.lock().max_in_flight.get(path).copied().unwrap_or(0)
    }
}

/// The `total` of order `n`: ten times its id, except every fourth (0) and every eleventh
/// (negative), which `tagOrders` filters out.
pub fn total(n: u64) -> i64 {
    let n = i64::try_from(n).expect("a small id");
    if n % 4 == 0 {
        0
    } else if n % 11 == 0 {
        -10 * n
    } else {
        10 * n
    }
}

/// The `email` of order `n`: none for every third, one without `@` for every seventh.
pub fn email(n: u64) -> Option<String> {
    if n.is_multiple_of(3) {
        None
    } else if n.is_multiple_of(7) {
        Some(format!("User{n}.example.com"))
    } else {
        Some(format!("User{n}@Example.com"))
    }
}

/// The `updatedAt` orders have until they are touched: in 2020, `n` seconds after midnight.
pub fn original_updated_at(n: u64) -> String {
    format!("2020-01-01T00:{:02}:{:02}.000Z", n / 60 % 60, n % 60)
}

fn order(inner: &Inner, n: u64) -> Value {
    let config = &inner.config;
    let mut record = json!({
        "id": n,
        "total": total(n),
        "customer": {"name": format!("Customer {n}")},
        "lines": [{"sku": format!("A{n}"), "qty": 1}, {"sku": format!("B{n}"), "qty": n.to_string()}],
        "updatedAt": inner.updated.get(&n).cloned().unwrap_or_else(|| original_updated_at(n)),
    });
    if let Some(email) = email(n) {
        record["email"] = json!(email);
    }
    if config.nameless.contains(&n) {
        record
            .as_object_mut()
            .expect("an object")
            .remove("customer");
    }
    if config.fail.contains(&n) {
        record["fail"] = json!(true);
    }
    if config.duplicate.contains(&n) {
        record["duplicate"] = json!(true);
    }
    record
}

/// Orders `first..first + count`, only those that exist.
fn orders(inner: &Inner, first: u64, count: u64) -> Vec<Value> {
    let last = inner.config.page_size * inner.config.pages;
    (first..first.saturating_add(count))
        .filter(|n| (1..=last).contains(n))
        .map(|n| order(inner, n))
        .collect()
}

/// Page `page` (from 1) of the orders.
fn page_of(inner: &Inner, page: u64) -> Vec<Value> {
    if page == 0 {
        return Vec::new();
    }
    let size = inner.config.page_size;
    orders(inner, (page - 1) * size + 1, size)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn problem(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    reply(
        status,
        json!({"errors": [{"code": code, "message": message.into()}]}),
    )
}

fn number(params: &HashMap<String, String>, name: &str, default: u64) -> u64 {
    params
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn decode(query: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(unescape(key), unescape(value));
    }
    params
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or_default();
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

async fn handle(
    State((inner, base)): State<(Shared, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let params = decode(&query);
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header_text("authorization");
    let body = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .requests
        .push(Seen {
            path: path.clone(),
            query: query.clone(),
            params: params.clone(),
            authorization: authorization.clone(),
            x_test: header_text("x-test"),
            body: body.clone(),
        });

    let (route, base) = match path.strip_prefix("/secure") {
        Some(rest) if rest.starts_with('/') => {
            if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
                return problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the bearer token is not valid",
                );
            }
            (rest.to_owned(), format!("{base}/secure"))
        }
        _ => (path.clone(), base),
    };
    if let Some(rest) = route.strip_prefix("/api/") {
        if authorization.as_deref() != Some(&format!("Bearer {WRAPPER_KEY}")) {
            return problem(StatusCode::UNAUTHORIZED, "unauthorized", "unknown API key");
        }
        return records_api(&inner, &method, rest, &params, body);
    }
    if route == "/slow" {
        return slow(&inner, &path, &params).await;
    }
    if route.starts_with("/sink") && method == Method::POST {
        return sink(&inner, &path, body);
    }

    let inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    let config = inner.config.clone();
    match (method.as_str(), route.as_str()) {
        ("GET", "/ping") => reply(StatusCode::OK, json!({"ok": true})),
        ("GET", "/orders") => reply(
            StatusCode::OK,
            json!(page_of(&inner, number(&params, "page", 1))),
        ),
        ("GET", "/orders-skip") => {
            let offset = number(&params, "offset", 0);
            let limit = number(&params, "limit", config.page_size);
            reply(StatusCode::OK, json!(orders(&inner, offset + 1, limit)))
        }
        ("GET", "/orders-url") => {
            let cursor = number(&params, "cursor", 1);
            let mut answer = json!({"items": page_of(&inner, cursor)});
            if cursor < config.pages {
                answer["next"] = json!(format!("{base}/orders-url?cursor={}", cursor + 1));
            }
            reply(StatusCode::OK, answer)
        }
        ("GET", "/orders-link") => {
            let page = number(&params, "page", 1);
            let mut answer = reply(StatusCode::OK, json!(page_of(&inner, page)));
            if page < config.pages {
                let link = format!("<{base}/orders-link?page={}>; rel=\"next\"", page + 1);
                answer.headers_mut().insert(
                    header::LINK,
                    HeaderValue::from_str(&link).expect("a valid header"),
                );
            }
            answer
        }
        ("GET", "/orders-token") => {
            let page = params
                .get("token")
                .and_then(|t| t.strip_prefix('t'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let mut answer = json!({"items": page_of(&inner, page)});
            if page < config.pages {
                answer["nextToken"] = json!(format!("t{}", page + 1));
            }
            reply(StatusCode::OK, answer)
        }
        ("GET", "/changes") => {
            if config.changes_down {
                return problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "down for maintenance",
                );
            }
            let since = match params.get("since").filter(|s| !s.is_empty()) {
                None => None,
                Some(text) => match parse_time(text) {
                    Some(time) => Some(time),
                    None => {
                        return problem(
                            StatusCode::BAD_REQUEST,
                            "invalid_since",
                            format!("since={text} is not an ISO-8601 time"),
                        );
                    }
                },
            };
            let all = orders(&inner, 1, config.page_size * config.pages);
            let changed: Vec<Value> = all
                .into_iter()
                .filter(|r| {
                    since.is_none_or(|since| {
                        parse_time(r["updatedAt"].as_str().expect("updatedAt")).expect("a time")
                            > since
                    })
                })
                .collect();
            reply(StatusCode::OK, json!(changed))
        }
        (_, "/echo") => reply(
            StatusCode::OK,
            json!({"method": method.as_str(), "path": path, "query": query, "body": body,
                   "authorization": authorization}),
        ),
        (_, "/teapot") => problem(StatusCode::IM_A_TEAPOT, "teapot", "I'm a teapot"),
        _ => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route {method} {path}"),
        ),
    }
}

/// `POST /sink…`: store the record, or refuse it as the record asks.
fn sink(inner: &Shared, path: &str, record: Value) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    if !record.is_object() {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "a record must be a JSON object",
        );
    }
    let name = record["orderId"].clone();
    if record["fail"] == json!(true) && !inner.config.accept_failing {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            format!("order {name} was rejected"),
        );
    }
    if record["duplicate"] == json!(true) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate",
            format!("order {name} exists already"),
        );
    }
    inner.created += 1;
    let id = format!("rec-{}", inner.created);
    inner
        .sinks
        .entry(path.to_owned())
        .or_default()
        .push(Stored {
            id: id.clone(),
            record,
        });
    reply(StatusCode::CREATED, json!({"id": id}))
}

/// `/slow`: a page of orders after a delay; counts requests in progress.
async fn slow(inner: &Shared, path: &str, params: &HashMap<String, String>) -> Response {
    let (delay, pages, size) = {
        let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = {
            let n = inner.in_flight.entry(path.to_owned()).or_default();
            *n += 1;
            *n
        };
        let max = inner.max_in_flight.entry(path.to_owned()).or_default();
        *max = (*max).max(now);
        let config = &inner.config;
        (
            number(params, "delay", config.slow_ms),
            config.slow_pages,
            config.page_size,
        )
    };
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = inner.in_flight.get_mut(path) {
        *n -= 1;
    }
    let page = number(params, "page", 1);
    let records: Vec<Value> = if (1..=pages).contains(&page) {
        ((page - 1) * size + 1..=page * size)
            .map(|n| json!({"id": n, "total": 10 * n, "customer": {"name": format!("Customer {n}")}}))
            .collect()
    } else {
        Vec::new()
    };
    reply(StatusCode::OK, json!(records))
}

/// The Records API of the example wrapper (`/api/…`, already authorized).
fn records_api(
    inner: &Shared,
    method: &Method,
    route: &str,
    params: &HashMap<String, String>,
    record: Value,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    match (method.as_str(), route) {
        ("GET", "ping") => reply(StatusCode::OK, json!({"ok": true})),
        ("GET", "records") => {
            let page = number(params, "page", 1);
            let mut answer = json!({"records": page_of(&inner, page)});
            if page < inner.config.pages {
                answer["next"] = json!(page + 1);
            }
            reply(StatusCode::OK, answer)
        }
        ("POST", "records") => {
            if record["name"].as_str().is_none_or(str::is_empty) {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "missing_name",
                    "name is required",
                );
            }
            inner.created += 1;
            let id = format!("rec-{}", inner.created);
            inner
                .sinks
                .entry("/api/records".to_owned())
                .or_default()
                .push(Stored {
                    id: id.clone(),
                    record,
                });
            reply(StatusCode::CREATED, json!({"id": id}))
        }
        _ => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route {method} /api/{route}"),
        ),
    }
}
