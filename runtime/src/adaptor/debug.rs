//! The connection debug log (`GET /v1/connections/{_id}/debug`): the last requests and
//! responses of each stored connection — HTTP requests with their headers and the start of
//! their bodies (a wrapper's own requests too), file operations with their paths — kept in
//! memory, newest last, with every secret masked before it is stored.
//!
//! Masking is done twice over: the adaptors leave credentials out of what they record (the
//! `Authorization` header, the connection's own custom headers, a token sent as a URL
//! parameter are written as `******`), and every secret value of the connection document is
//! replaced wherever it still shows (a password echoed in a response body, a key in a URL).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// Entries kept per connection; older ones are dropped.
pub const ENTRIES: usize = 100;
/// Characters of a request or response body kept in an entry.
pub const BODY_CHARS: usize = 2048;
/// What a secret is replaced with.
pub const MASK: &str = "******";
/// Secrets shorter than this are not searched for (they would mask ordinary text).
const MIN_SECRET_CHARS: usize = 4;

type Ring = Mutex<VecDeque<Box<str>>>;

/// The debug logs of every connection of this server, by connection `_id`.
#[derive(Default)]
pub struct DebugLogs {
    logs: Mutex<HashMap<String, Arc<Ring>>>,
}

impl DebugLogs {
    /// The log of `connection` (secrets open): records go to its `_id`'s log, masked with its
    /// secrets. An unsaved connection (no `_id`) gets a log that keeps nothing.
    pub fn for_connection(&self, connection: &Value) -> ConnectionLog {
        let Some(id) = connection["_id"].as_str().filter(|id| !id.is_empty()) else {
            return ConnectionLog::default();
        };
        let ring = self
            .lock()
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(Mutex::new(VecDeque::with_capacity(16))))
            .clone();
        ConnectionLog {
            ring: Some(ring),
            secrets: secrets_of(connection)
                .into_iter()
                .flat_map(|secret| forms(&secret))
                .collect(),
        }
    }

    /// The entries of connection `id`, oldest first.
    pub fn entries(&self, id: &str) -> Vec<Value> {
        let Some(ring) = self.lock().get(id).cloned() else {
            return Vec::new();
        };
        let ring = ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Drop the log of connection `id` (deleted).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Ring>>> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where one connection's adaptor records what it sends and receives. Cheap to clone.
#[derive(Clone, Default)]
pub struct ConnectionLog {
    ring: Option<Arc<Ring>>,
    /// Every form each secret may take in a recorded string (see [`forms`]).
    secrets: Arc<[String]>,
}

// Never shows the secrets it masks.
impl std::fmt::Debug for ConnectionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionLog")
            .field("on", &self.is_on())
            .finish_non_exhaustive()
    }
}

impl ConnectionLog {
    /// Whether anything recorded is kept (false for unsaved connections).
    pub fn is_on(&self) -> bool {
        self.ring.is_some()
    }

    /// Keep `entry` (an object; `time` is added first), every secret of the connection masked.
    pub fn record(&self, entry: Map<String, Value>) {
        let Some(ring) = &self.ring else {
            return;
        };
        let mut object = Map::with_capacity(entry.len() + 1);
        object.insert("time".into(), Value::String(crate::util::now()));
        object.extend(entry);
        let mut value = Value::Object(object);
        mask(&mut value, &self.secrets);
        let line = serde_json::to_string(&value).unwrap_or_default();
        let mut ring = ring.lock().unwrap_or_else(|p| p.into_inner());
        if ring.len() == ENTRIES {
            ring.pop_front();
        }
        ring.push_back(line.into_boxed_str());
    }
}

/// What the debug log shows of an HTTP request: method, URL (with any credential in it
/// already masked by the caller), headers (sensitive ones — credentials, custom headers —
/// masked) and the start of the body.
pub fn request_entry(
    method: &str,
    url: &str,
    headers: &reqwest::header::HeaderMap,
    body: Option<&[u8]>,
) -> Map<String, Value> {
    let mut shown = Map::new();
    for (name, value) in headers {
        let text = if value.is_sensitive() {
            MASK.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        shown.insert(name.as_str().to_owned(), text.into());
    }
    request_fields(Map::new(), method, url, shown, body)
}

/// An entry's request part: method, URL, the headers as shown, the start of the body.
fn request_fields(
    mut entry: Map<String, Value>,
    method: &str,
    url: &str,
    headers: Map<String, Value>,
    body: Option<&[u8]>,
) -> Map<String, Value> {
    entry.insert("method".into(), method.into());
    entry.insert("url".into(), url.into());
    entry.insert("requestHeaders".into(), Value::Object(headers));
    if let Some(text) = body.and_then(body_excerpt) {
        entry.insert("requestBody".into(), text.into());
    }
    entry
}

/// Record the HTTP exchange that `entry` (from [`request_entry`]) started at `started`: its
/// status, response headers (cookies masked) and the start of the response body, or why
/// nothing came back.
pub fn record_exchange(
    log: &ConnectionLog,
    mut entry: Map<String, Value>,
    started: std::time::Instant,
    result: &Result<super::http::HttpResponse, super::AdaptorError>,
) {
    entry.insert(
        "durationMs".into(),
        (started.elapsed().as_millis() as u64).into(),
    );
    match result {
        Ok(response) => response_fields(
            &mut entry,
            response.status,
            &response.headers,
            &response.body,
        ),
        Err(e) => {
            if let Some(status) = e.status {
                entry.insert("status".into(), status.into());
            }
            entry.insert("error".into(), e.message.clone().into());
        }
    }
    log.record(entry);
}

/// A wrapper's own HTTP request (sent for it by the extension runtime), as the debug log shows
/// it: like [`request_entry`], with the headers that carry credentials masked (the
/// connection's secrets are masked wherever they show when the entry is recorded) and
/// `"source": "wrapper"`.
pub fn wrapper_request_entry(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Map<String, Value> {
    const CREDENTIALS: [&str; 4] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
    ];
    let shown: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            let credential = CREDENTIALS.iter().any(|c| name.eq_ignore_ascii_case(c));
            let text = if credential { MASK } else { value.as_str() };
            (name.to_ascii_lowercase(), Value::from(text))
        })
        .collect();
    let mut entry = Map::new();
    entry.insert("source".into(), "wrapper".into());
    request_fields(entry, method, url, shown, body)
}

/// What came back to a wrapper's HTTP request.
pub struct WrapperAnswer<'a> {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: &'a [(String, String)],
    /// The response body.
    pub body: &'a [u8],
}

/// Record a wrapper's HTTP exchange that `entry` (from [`wrapper_request_entry`]) started at
/// `started`: its status, response headers and the start of its body, or why it failed.
pub fn record_wrapper_exchange(
    log: &ConnectionLog,
    mut entry: Map<String, Value>,
    started: std::time::Instant,
    result: Result<WrapperAnswer<'_>, &str>,
) {
    entry.insert(
        "durationMs".into(),
        (started.elapsed().as_millis() as u64).into(),
    );
    match result {
        Ok(answer) => response_fields(&mut entry, answer.status, answer.headers, answer.body),
        Err(message) => {
            entry.insert("error".into(), message.into());
        }
    }
    log.record(entry);
}

/// The response part of an entry: status, headers (cookies masked), the start of the body.
fn response_fields(
    entry: &mut Map<String, Value>,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) {
    entry.insert("status".into(), status.into());
    let shown: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            let text = if name.eq_ignore_ascii_case("set-cookie") {
                MASK
            } else {
                value.as_str()
            };
            (name.clone(), Value::from(text))
        })
        .collect();
    entry.insert("responseHeaders".into(), Value::Object(shown));
    if let Some(text) = body_excerpt(body) {
        entry.insert("responseBody".into(), text.into());
    }
}

/// The start of `body` as text: at most [`BODY_CHARS`] characters (with `…` when cut), binary
/// bytes replaced; None when empty.
pub fn body_excerpt(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let head = &body[..body.len().min(BODY_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out: String = text.chars().take(BODY_CHARS).collect();
    if out.len() < body.len() {
        out.push('…');
    }
    Some(out)
}

/// Every secret string of `connection` (secrets open): the values of its secret fields (all
/// the strings inside a secret object, such as a wrapper's `encrypted` block), longest first so
/// that a secret containing another is masked whole.
fn secrets_of(connection: &Value) -> Vec<String> {
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) if s.chars().count() >= MIN_SECRET_CHARS && s != MASK => {
                out.push(s.clone())
            }
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for path in (crate::model::CONNECTIONS.secrets)(connection) {
        if let Some(value) = crate::model::check::get(connection, &path) {
            strings(value, &mut out);
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// The forms `secret` takes in recorded text: as is, JSON-escaped (in a JSON body quoted as
/// text) and percent-encoded (in URLs and form bodies); each once.
fn forms(secret: &str) -> Vec<String> {
    let escaped = serde_json::to_string(secret).unwrap_or_default();
    let escaped = escaped[1..escaped.len().saturating_sub(1)].to_owned();
    let mut forms = vec![secret.to_owned(), escaped, percent_encode(secret)];
    forms.retain(|f| !f.is_empty());
    forms.dedup();
    forms
}

/// Every string in `value` with each of `forms` (of the secrets) replaced by [`MASK`].
fn mask(value: &mut Value, forms: &[String]) {
    match value {
        Value::String(text) => {
            for form in forms {
                if text.contains(form.as_str()) {
                    *text = text.replace(form.as_str(), MASK);
                }
            }
        }
        Value::Object(map) => map.values_mut().for_each(|v| mask(v, forms)),
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, forms)),
        _ => {}
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn secrets_are_masked_in_every_form_they_take() {
        let logs = DebugLogs::default();
        let connection = json!({
            "_id": "c1", "type": "http",
            "http": {"baseURI": "http://x", "basicAuth": {"username": "ann", "password": "p@ss \"word\""},
                     "bearerToken": "tok-123456"}
        });
        let log = logs.for_connection(&connection);
        log.record(entry(json!({
            "url": "http://x/a?key=tok-123456&pw=p%40ss%20%22word%22",
            "responseBody": "{\"echo\":\"p@ss \\\"word\\\"\"}",
            "note": "user ann"
        })));
        let entries = logs.entries("c1");
        assert_eq!(entries.len(), 1);
        let text = entries[0].to_string();
        assert!(!text.contains("tok-123456"), "{text}");
        assert!(!text.contains("p@ss"), "{text}");
        assert!(!text.contains("p%40ss"), "{text}");
        assert_eq!(entries[0]["url"], "http://x/a?key=******&pw=******");
        // Usernames are not secrets; short strings are never searched for.
        assert_eq!(entries[0]["note"], "user ann");
        assert!(entries[0]["time"].is_string());
    }

    #[test]
    fn a_wrapper_s_encrypted_block_is_secret_as_a_whole() {
        let logs = DebugLogs::default();
        let log = logs.for_connection(&json!({
            "_id": "w", "type": "wrapper",
            "wrapper": {"_stackId": "s", "encrypted": {"apiKey": "k-abcdef", "nested": ["n-123456"]}}
        }));
        log.record(entry(json!({"a": "k-abcdef", "b": "x n-123456 y"})));
        assert_eq!(logs.entries("w")[0]["a"], MASK);
        assert_eq!(logs.entries("w")[0]["b"], "x ****** y");
    }

    #[test]
    fn only_the_last_entries_are_kept_and_unsaved_connections_keep_none() {
        let logs = DebugLogs::default();
        let log = logs.for_connection(&json!({"_id": "c", "type": "s3", "s3": {}}));
        for i in 0..ENTRIES + 5 {
            log.record(entry(json!({"n": i})));
        }
        let entries = logs.entries("c");
        assert_eq!(entries.len(), ENTRIES);
        assert_eq!(entries[0]["n"], 5);
        assert_eq!(entries[ENTRIES - 1]["n"], ENTRIES + 4);

        let unsaved = logs.for_connection(&json!({"type": "s3", "s3": {}}));
        assert!(!unsaved.is_on());
        unsaved.record(entry(json!({"n": 1})));
        logs.forget("c");
        assert!(logs.entries("c").is_empty());
    }

    #[test]
    fn bodies_are_cut_to_their_start() {
        assert_eq!(body_excerpt(b""), None);
        assert_eq!(body_excerpt(b"abc").as_deref(), Some("abc"));
        let long = vec![b'a'; BODY_CHARS + 10];
        let cut = body_excerpt(&long).expect("an excerpt");
        assert_eq!(cut.chars().count(), BODY_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
