//! A NetSuite stand-in on loopback (`netsuite.py`, Python's `http.server`): SuiteQL, the
//! record API and a RESTlet behind OAuth 1.0a token-based authentication whose HMAC-SHA256
//! signatures are checked with oauthlib — an implementation independent of the runtime's.
//!
//! Wrong signatures, unknown consumers or tokens, another realm, reused nonces and stale
//! timestamps answer 401 with NetSuite's `INVALID_LOGIN` body. What was written and asked is
//! read back without authentication ([`NetSuiteServer::records`],
//! [`NetSuiteServer::requests`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{HOST, python_with, skip};

/// The server script.
const SERVER: &str = include_str!("netsuite.py");
/// The account (sandbox style: the realm is `TSTDRV1234567_SB1`).
const ACCOUNT: &str = "tstdrv1234567-sb1";
/// The realm NetSuite expects for [`ACCOUNT`].
const REALM: &str = "TSTDRV1234567_SB1";
/// The integration record's consumer key and secret.
const CONSUMER_KEY: &str = "c0nsumer-key-4f0d9a";
const CONSUMER_SECRET: &str = "c0nsumer-secret-never-shown";
/// The access token's id and secret.
const TOKEN_ID: &str = "t0ken-id-77a1c2";
const TOKEN_SECRET: &str = "t0ken-secret-never-shown";
/// Customers when [`NetSuiteServer::start`] is not told otherwise.
const CUSTOMERS: usize = 25;

/// The server, killed when dropped. Records live in its memory.
pub struct NetSuiteServer {
    child: Child,
    port: u16,
    /// What the server wrote to stderr: shown only when the test using it fails.
    log: tempfile::NamedTempFile,
}

impl Drop for NetSuiteServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking()
            && let Ok(text) = std::fs::read_to_string(self.log.path())
            && !text.is_empty()
        {
            eprintln!("--- the NetSuite test server's stderr ---\n{text}");
        }
    }
}

impl NetSuiteServer {
    /// Start the server with 25 customers, or `None` (after saying why) when python3 with
    /// oauthlib is missing outside CI.
    pub fn start() -> Option<NetSuiteServer> {
        Self::with_customers(CUSTOMERS)
    }

    /// Start the server with `customers` customers (ids `1`..=`customers`, `companyName`
    /// `Customer N`, `email` `customerN@example.com`).
    pub fn with_customers(customers: usize) -> Option<NetSuiteServer> {
        let Some(python) = python_with("import oauthlib.oauth1.rfc5849.signature") else {
            return skip(
                "python3 with oauthlib is missing (scripts/install-test-deps.sh installs it)",
            );
        };
        let config = json!({
            "realm": REALM,
            "consumers": {CONSUMER_KEY: CONSUMER_SECRET},
            "tokens": {TOKEN_ID: {"secret": TOKEN_SECRET, "consumer": CONSUMER_KEY}},
            "customers": customers,
        });
        let log = tempfile::NamedTempFile::new().expect("a file for the server's stderr");
        let mut child = Command::new(python)
            .args(["-c", SERVER])
            .arg(config.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("the server's stderr file"))
            .spawn()
            .expect("starting the NetSuite server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("the server's stdout"))
            .read_line(&mut line)
            .expect("the server's port");
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("the NetSuite server did not start: {line:?}\n{stderr}");
        };
        Some(NetSuiteServer { child, port, log })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: the connection's `baseURI`.
    pub fn url(&self) -> String {
        format!("http://{HOST}:{}", self.port)
    }

    /// The account id (`tstdrv1234567-sb1`; NetSuite writes it `TSTDRV1234567_SB1`).
    pub fn account(&self) -> &'static str {
        ACCOUNT
    }

    /// The OAuth realm the server expects.
    pub fn realm(&self) -> &'static str {
        REALM
    }

    /// The consumer key of the integration record.
    pub fn consumer_key(&self) -> &'static str {
        CONSUMER_KEY
    }

    /// The consumer secret of the integration record.
    pub fn consumer_secret(&self) -> &'static str {
        CONSUMER_SECRET
    }

    /// The access token's id.
    pub fn token_id(&self) -> &'static str {
        TOKEN_ID
    }

    /// The access token's secret.
    pub fn token_secret(&self) -> &'static str {
        TOKEN_SECRET
    }

    /// The `netsuite` block of a connection to this server with every credential on it.
    pub fn block(&self) -> Value {
        json!({
            "account": ACCOUNT,
            "tokenId": TOKEN_ID,
            "tokenSecret": TOKEN_SECRET,
            "consumerKey": CONSUMER_KEY,
            "consumerSecret": CONSUMER_SECRET,
            "baseURI": self.url(),
        })
    }

    /// A connection document (`{"type": "netsuite", "netsuite": …}`) for this server.
    pub fn connection(&self) -> Value {
        json!({"type": "netsuite", "name": "Test NetSuite", "netsuite": self.block()})
    }

    /// The records of `record_type` the server holds, by internal id (each with its `id`).
    pub fn records(&self, record_type: &str) -> Vec<Value> {
        match self.admin("GET", &format!("/__admin/records/{record_type}"), None) {
            Value::Array(records) => records,
            other => panic!("records of {record_type}: {other}"),
        }
    }

    /// Every request the server received but the admin ones, in order: `method`, `path`,
    /// `query` (object), `prefer`, `contentType`, `body` (text), `auth` (`ok` or why it was
    /// refused).
    pub fn requests(&self) -> Vec<Value> {
        match self.admin("GET", "/__admin/requests", None) {
            Value::Array(requests) => requests,
            other => panic!("requests: {other}"),
        }
    }

    /// The next `count` authenticated requests answer 429 (NetSuite's concurrency limit).
    pub fn busy(&self, count: usize) {
        self.admin("POST", "/__admin/busy", Some(json!({ "count": count })));
    }

    /// One admin request (blocking, `Connection: close`); the JSON answer.
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect((HOST, self.port)).expect("connecting to the server");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {HOST}:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("sending an admin request");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .expect("reading an admin answer");
        let text = String::from_utf8_lossy(&answer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "{method} {path}: {head}"
        );
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"))
    }
}
