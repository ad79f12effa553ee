//! moto's S3 server mode on loopback, driven through the S3 API: a tiny blocking HTTP/1.1
//! client with AWS Signature Version 4, so it also works once authentication is switched on
//! ([`S3Server::require_auth`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{HOST, free_port, python_with, skip};

/// The region moto is addressed in.
const REGION: &str = "us-east-1";

/// Access key credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// An answer of the server.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn ok(self, what: &str) -> Answer {
        assert!(
            (200..300).contains(&self.status),
            "{what}: moto answered {}: {}",
            self.status,
            self.text()
        );
        self
    }
}

/// The server, killed when dropped. Objects live in moto's memory.
pub struct S3Server {
    child: Child,
    port: u16,
    credentials: Mutex<Credentials>,
    logs: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Start moto, or `None` (after saying why) when python3 with moto[server] is missing
    /// outside CI.
    pub fn start() -> Option<S3Server> {
        let Some(python) = python_with("import moto.server, flask, flask_cors") else {
            return skip(
                "python3 with moto[server] is missing (scripts/install-test-deps.sh installs it)",
            );
        };
        let logs = tempfile::tempdir().expect("a directory for moto's log");
        let log_path = logs.path().join("moto.log");
        let log = std::fs::File::create(&log_path).expect("moto's log file");
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", HOST, "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto's log file"))
            .stderr(log)
            .spawn()
            .expect("starting moto");
        let mut server = S3Server {
            child,
            port,
            credentials: Mutex::new(Credentials {
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                secret_access_key: "test-secret-key-never-shown".into(),
            }),
            logs,
        };
        let started = Instant::now();
        loop {
            if let Ok(answer) = server.http("GET", "/moto-api/data.json", &[], &[])
                && answer.status == 200
            {
                return Some(server);
            }
            let exited = server.child.try_wait().expect("moto's status");
            if exited.is_some() || started.elapsed() > Duration::from_secs(90) {
                panic!(
                    "moto did not start ({exited:?}): {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{HOST}:{}", self.port)
    }

    /// The region (`us-east-1`).
    pub fn region(&self) -> &'static str {
        REGION
    }

    /// The credentials that work (any, until [`S3Server::require_auth`]).
    pub fn credentials(&self) -> Credentials {
        self.credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The `s3` block of a connection to this server with [`S3Server::credentials`].
    pub fn block(&self) -> Value {
        let credentials = self.credentials();
        json!({
            "accessKeyId": credentials.access_key_id,
            "secretAccessKey": credentials.secret_access_key,
            "region": REGION,
            "endpoint": self.endpoint(),
        })
    }

    /// A connection document (`{"type": "s3", "s3": …}`) for this server.
    pub fn connection(&self) -> Value {
        json!({"type": "s3", "name": "Test S3 server", "s3": self.block()})
    }

    /// What moto logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("moto.log")).unwrap_or_default()
    }

    /// Create the bucket `name`.
    pub fn create_bucket(&self, name: &str) {
        self.s3("PUT", &format!("/{name}"), &[], b"")
            .ok(&format!("creating the bucket {name}"));
    }

    /// Put `bytes` at `path` (`bucket/key`).
    pub fn put(&self, path: &str, bytes: impl AsRef<[u8]>) {
        self.s3("PUT", &format!("/{path}"), &[], bytes.as_ref())
            .ok(&format!("putting {path}"));
    }

    /// The object at `path` (`bucket/key`), if there is one.
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        let answer = self.s3("GET", &format!("/{path}"), &[], b"");
        match answer.status {
            404 => None,
            _ => Some(answer.ok(&format!("getting {path}")).body),
        }
    }

    /// Delete the object at `path` (`bucket/key`).
    pub fn delete(&self, path: &str) {
        self.s3("DELETE", &format!("/{path}"), &[], b"")
            .ok(&format!("deleting {path}"));
    }

    /// The keys of `bucket` that start with `prefix`, with their sizes, sorted.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2".to_owned()), ("prefix", prefix.to_owned())];
            if let Some(t) = &token {
                query.push(("continuation-token", t.clone()));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let text = self
                .s3("GET", &format!("/{bucket}"), &query, b"")
                .ok(&format!("listing {bucket}/{prefix}"))
                .text();
            for contents in elements(&text, "Contents") {
                let key = unescape(&element(contents, "Key").unwrap_or_default());
                let size = element(contents, "Size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                all.push((key, size));
            }
            match element(&text, "NextContinuationToken") {
                Some(next) if element(&text, "IsTruncated").as_deref() == Some("true") => {
                    token = Some(unescape(&next));
                }
                _ => break,
            }
        }
        all.sort();
        all
    }

    /// The names of the objects directly under `bucket/prefix/` (not in deeper "folders").
    pub fn names(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        self.list(bucket, &prefix)
            .into_iter()
            .filter_map(|(key, _)| key.strip_prefix(&prefix).map(str::to_owned))
            .filter(|rest| !rest.contains('/'))
            .collect()
    }

    /// Switch authentication on: create an IAM user with an access key allowed `s3:*`, make
    /// moto check every request's signature from now on, and use that key from now on (also
    /// in [`S3Server::block`]). Returns the key. Create buckets before or after, as you like.
    pub fn require_auth(&self) -> Credentials {
        let iam = |params: &[(&str, &str)]| {
            let mut query = params.to_vec();
            query.push(("Version", "2010-05-08"));
            self.signed("POST", "/", &query, b"", "iam")
                .ok(&format!("IAM {params:?}"))
                .text()
        };
        iam(&[("Action", "CreateUser"), ("UserName", "integrator")]);
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        ]})
        .to_string();
        iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "integrator"),
            ("PolicyName", "s3"),
            ("PolicyDocument", &policy),
        ]);
        let key = iam(&[("Action", "CreateAccessKey"), ("UserName", "integrator")]);
        let credentials = Credentials {
            access_key_id: element(&key, "AccessKeyId").expect("an access key id"),
            secret_access_key: element(&key, "SecretAccessKey").expect("a secret access key"),
        };
        self.http("POST", "/moto-api/reset-auth", &[], b"0")
            .expect("moto answers")
            .ok("switching authentication on");
        *self.credentials.lock().unwrap_or_else(|p| p.into_inner()) = credentials.clone();
        credentials
    }

    /// One S3 request, signed with [`S3Server::credentials`].
    pub fn s3(&self, method: &str, path: &str, query: &[(&str, &str)], body: &[u8]) -> Answer {
        self.signed(method, path, query, body, "s3")
    }

    fn signed(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: &[u8],
        service: &str,
    ) -> Answer {
        let credentials = self.credentials();
        let now = chrono::Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let date = now.format("%Y%m%d").to_string();
        let host = format!("{HOST}:{}", self.port);
        let payload = hex::encode(Sha256::digest(body));
        let uri = encode(path, false);
        // moto rebuilds the query it checks the signature against from the URL as werkzeug
        // re-encodes it, which leaves `/` alone: so `/` goes unencoded (S3 accepts both).
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (encode(k, true), encode(v, false)))
            .collect();
        pairs.sort();
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let signed_headers = "host;x-amz-content-sha256;x-amz-date";
        let canonical = format!(
            "{method}\n{uri}\n{query}\nhost:{host}\nx-amz-content-sha256:{payload}\n\
             x-amz-date:{amz_date}\n\n{signed_headers}\n{payload}"
        );
        let scope = format!("{date}/{REGION}/{service}/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(
            format!("AWS4{}", credentials.secret_access_key).as_bytes(),
            date.as_bytes(),
        );
        for part in [REGION, service, "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, \
             Signature={signature}",
            credentials.access_key_id
        );
        let target = if query.is_empty() {
            uri
        } else {
            format!("{uri}?{query}")
        };
        self.http(
            method,
            &target,
            &[
                ("Authorization", authorization.as_str()),
                ("x-amz-content-sha256", payload.as_str()),
                ("x-amz-date", amz_date.as_str()),
                ("Content-Type", "application/octet-stream"),
            ],
            body,
        )
        .unwrap_or_else(|e| panic!("{method} {target}: moto does not answer: {e}"))
    }

    /// One HTTP/1.1 request (`Connection: close`), the answer read to the end.
    fn http(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Answer> {
        let mut stream = TcpStream::connect((HOST, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {HOST}:{}\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("an answer without a header end"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
        let chunked = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") && l.contains("chunked")
        });
        if chunked {
            body = dechunk(&body);
        }
        Ok(Answer { status, body })
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4 URI encoding: everything but `A-Za-z0-9-._~` (and `/` unless `slash`) as `%XX`.
fn encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A chunked body, decoded.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&raw[..end]);
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        raw = &raw[end + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

/// The text of the first `<name>…</name>` in `text`.
fn element(text: &str, name: &str) -> Option<String> {
    elements(text, name).next().map(str::to_owned)
}

/// The texts of every `<name>…</name>` in `text`.
fn elements<'a>(text: &'a str, name: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let end = rest[start..].find(&close)? + start;
        let found = &rest[start..end];
        rest = &rest[end + close.len()..];
        Some(found)
    })
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
