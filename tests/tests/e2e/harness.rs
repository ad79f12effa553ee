//! The real `integrator` binary on a free loopback port with a temporary data directory, and a
//! small HTTP client that keeps everything a test may want to look at (status, headers, body).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use integrator::store::Db;
pub use reqwest::Method;
pub use serde_json::{Value, json};

/// How long a server may take to start or stop before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// The `integrator` binary under test: `$INTEGRATOR_BIN`, else the workspace's debug build.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("INTEGRATOR_BIN") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/integrator");
    assert!(
        path.exists(),
        "the integrator binary is missing at {}: run `make test` (or `cargo build -p integrator --bin integrator`) \
         before `cargo test`, or point INTEGRATOR_BIN at a build",
        path.display()
    );
    path
}

/// How a server is started.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Per-token rate limit (on, as users run it, unless a test sends many requests).
    pub rate_limit: bool,
    /// Pass the address and data directory through `INTEGRATOR_LISTEN` / `INTEGRATOR_DATA_DIR`
    /// instead of flags.
    pub config_from_env: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit: true,
            config_from_env: false,
        }
    }
}

/// A running `integrator serve`, killed (and waited for) when dropped.
pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    options: Options,
    /// `http://127.0.0.1:<port>` of the current run.
    pub url: String,
    /// The owner account's API token (printed on the first start only).
    pub token: String,
    /// Everything every run printed on stdout and stderr.
    output: Arc<Mutex<Vec<u8>>>,
    client: reqwest::Client,
}

/// One run of the binary, once it listens.
struct Launched {
    child: Child,
    url: String,
    tokens: Vec<String>,
}

impl Server {
    /// A server with the rate limit on, on a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// A server without the rate limit (for tests that send many requests).
    pub fn start_unlimited() -> Self {
        Self::start_with(Options {
            rate_limit: false,
            ..Options::default()
        })
    }

    /// A server started with `options` on a fresh data directory.
    pub fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let output = Arc::new(Mutex::new(Vec::new()));
        let launched = launch(&dir.path().join("data"), options, &output);
        assert_eq!(
            launched.tokens.len(),
            1,
            "the first start must print exactly one `API token:` line; output:\n{}",
            text(&output)
        );
        let token = launched.tokens[0].clone();
        assert!(!token.is_empty(), "empty API token");
        Self {
            child: Some(launched.child),
            dir,
            options,
            url: launched.url,
            token,
            output,
            client: client(),
        }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A client with the owner's token.
    pub fn api(&self) -> Api {
        self.api_as(&self.token)
    }

    /// A client with `token`.
    pub fn api_as(&self, token: &str) -> Api {
        Api {
            client: self.client.clone(),
            url: self.url.clone(),
            token: Some(token.to_owned()),
        }
    }

    /// A client that sends no token.
    pub fn anonymous(&self) -> Api {
        Api {
            client: self.client.clone(),
            url: self.url.clone(),
            token: None,
        }
    }

    /// Everything the server printed so far (stdout and stderr of every run).
    pub fn output(&self) -> String {
        text(&self.output)
    }

    /// Shut down with SIGTERM and wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server is not running");
        signal(&child, libc::SIGTERM);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not stop within {PATIENCE:?} of SIGTERM; output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill with SIGKILL (a crash: no chance to flush or clean up) and reap the process.
    pub fn crash(&mut self) {
        let mut child = self.child.take().expect("the server is not running");
        child.kill().expect("sending SIGKILL");
        child.wait().expect("reaping the killed server");
    }

    /// Start again on the same data directory (stopping it first if it runs). The owner token
    /// is not printed again; the port changes, so take new clients with [`Server::api`].
    pub fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.terminate();
            assert!(
                status.success(),
                "the server exited with {status} on SIGTERM"
            );
        }
        wait_for_store_lock(&self.data_dir());
        let launched = launch(&self.data_dir(), self.options, &self.output);
        assert!(
            launched.tokens.is_empty(),
            "a restart must not print a new API token; output:\n{}",
            self.output()
        );
        self.child = Some(launched.child);
        self.url = launched.url;
    }

    /// Stop the server, open its store with the library, let `f` read or write it (flushed
    /// afterwards), then start the server again. sled locks the directory, hence the stop.
    pub fn offline<T>(&mut self, f: impl FnOnce(&Db) -> T) -> T {
        if self.child.is_some() {
            let status = self.terminate();
            assert!(
                status.success(),
                "the server exited with {status} on SIGTERM"
            );
        }
        let result = {
            wait_for_store_lock(&self.data_dir());
            let db = Db::open(&self.data_dir()).expect("opening the stopped server's store");
            let result = f(&db);
            db.flush().expect("flushing the store");
            result
        };
        self.restart();
        result
    }

    /// The owner account's id (`_userId` of `GET /v1/tokenInfo`).
    pub async fn owner_id(&self) -> String {
        self.api().account_id().await
    }

    /// Create an account through the owner; returns (id, token).
    pub async fn new_account(&self, email: &str) -> (String, String) {
        let body = self
            .api()
            .post("/v1/accounts", &json!({"email": email, "name": email}))
            .await
            .expect(201);
        (string(&body, "_id"), string(&body, "token"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Wait until nobody holds sled's lock on the store. A handle is not released the instant it is
/// dropped: sled's background threads let go of it a moment later, and a child process that
/// another test forks meanwhile holds a copy of every open descriptor until it execs.
fn wait_for_store_lock(data_dir: &Path) {
    let path = data_dir.join("store").join("db");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => panic!("opening {}: {e}", path.display()),
        };
        match file.try_lock() {
            Ok(()) => {
                file.unlock().expect("releasing the store lock");
                return;
            }
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("the store {} stays locked: {e}", path.display()),
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("building the HTTP client")
}

fn text(output: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&output.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

#[allow(unsafe_code)]
fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own unreaped child.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Start the binary on `data_dir` and wait until it says where it listens. The port is picked
/// by the kernel (`127.0.0.1:0`), so parallel tests never collide.
fn launch(data_dir: &Path, options: Options, output: &Arc<Mutex<Vec<u8>>>) -> Launched {
    let mut command = Command::new(binary());
    command.arg("serve");
    for var in [
        "INTEGRATOR_LISTEN",
        "INTEGRATOR_DATA_DIR",
        "INTEGRATOR_SECRET_KEY",
        "INTEGRATOR_OWNER_EMAIL",
    ] {
        command.env_remove(var);
    }
    if options.config_from_env {
        command
            .env("INTEGRATOR_LISTEN", "127.0.0.1:0")
            .env("INTEGRATOR_DATA_DIR", data_dir);
    } else {
        command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir);
    }
    if !options.rate_limit {
        command.arg("--no-rate-limit");
    }
    command
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut command);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary().display()));

    let (lines, started) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("piped stdout");
    let sink = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut all = sink.lock().unwrap_or_else(|e| e.into_inner());
            all.extend_from_slice(line.as_bytes());
            all.push(b'\n');
            drop(all);
            // The receiver is gone once the server is up; keep draining into `output`.
            let _ = lines.send(line);
        }
    });
    let stderr = child.stderr.take().expect("piped stderr");
    let sink = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).split(b'\n') {
            let Ok(line) = line else { break };
            let mut all = sink.lock().unwrap_or_else(|e| e.into_inner());
            all.extend_from_slice(&line);
            all.push(b'\n');
        }
    });

    let deadline = Instant::now() + PATIENCE;
    let mut tokens = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match started.recv_timeout(left) {
            Ok(line) => {
                if let Some(token) = line.strip_prefix("API token: ") {
                    tokens.push(token.trim().to_owned());
                } else if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest.split('/').next().unwrap_or_default();
                    return Launched {
                        child,
                        url: format!("http://{address}"),
                        tokens,
                    };
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                // Give the readers a moment to collect the last words.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the server did not report its address (exit: {status:?}); output:\n{}",
                    text(output)
                );
            }
        }
    }
}

/// Have the kernel kill the server if the test process dies without dropping it (e.g. killed by
/// a timeout), so no server outlives the tests. The signal follows the thread that spawned the
/// child: tests start, restart and drop their server on their own thread.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// An HTTP client for one server and token.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Api {
    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(json_bytes(body))).await
    }

    /// `POST path` without a body.
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.send(Method::POST, path, None).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(json_bytes(body))).await
    }

    /// `PUT path` without a body.
    pub async fn put_empty(&self, path: &str) -> Reply {
        self.send(Method::PUT, path, None).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Any request; `body` is `(content type, bytes)`.
    pub async fn send(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: the request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the answer failed: {e}"));
        Reply {
            request: format!("{method} {path}"),
            status,
            headers,
            text,
        }
    }

    /// `POST /v1/{collection}` that must answer 201; the created document.
    pub async fn create(&self, collection: &str, body: Value) -> Value {
        self.post(&format!("/v1/{collection}"), &body)
            .await
            .expect(201)
    }

    /// Like [`Api::create`], returning only the new `_id`.
    pub async fn create_id(&self, collection: &str, body: Value) -> String {
        string(&self.create(collection, body).await, "_id")
    }

    /// A `rest` connection to `https://a.example.com` (never reached): the `_id`.
    pub async fn rest_connection(&self) -> String {
        let body = json!({"type": "rest", "rest": {"baseURI": "https://a.example.com"}});
        self.create_id("connections", body).await
    }

    /// The `_id` of every document `GET path` lists.
    pub async fn list_ids(&self, path: &str) -> Vec<String> {
        let list = self.get(path).await.expect(200);
        list.as_array()
            .unwrap_or_else(|| panic!("GET {path} must answer an array, not {list}"))
            .iter()
            .map(|doc| string(doc, "_id"))
            .collect()
    }

    /// The account of this client's token.
    pub async fn account_id(&self) -> String {
        string(&self.get("/v1/tokenInfo").await.expect(200), "_userId")
    }
}

/// `application/json` bytes of `body`.
pub fn json_bytes(body: &Value) -> (&'static str, Vec<u8>) {
    (
        "application/json",
        serde_json::to_vec(body).expect("JSON serializes"),
    )
}

/// The string field `field` of `doc`, or a failure naming it.
pub fn string(doc: &Value, field: &str) -> String {
    doc[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` must be a string in {doc}"))
        .to_owned()
}

/// What the server answered.
#[derive(Debug)]
pub struct Reply {
    /// `METHOD path`, for failure messages.
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Raw body.
    pub text: String,
}

/// One entry of an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `code`.
    pub code: String,
    /// `message`.
    pub message: String,
    /// `field`, when present.
    pub field: Option<String>,
}

impl Reply {
    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> Value {
        if self.text.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{}: the body is not JSON ({e}): {}",
                self.request, self.text
            )
        })
    }

    /// Assert the status and return the body as JSON.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "{} answered {} (expected {status}): {}",
            self.request, self.status, self.text
        );
        self.json()
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The entries of an error body, checking its documented shape.
    #[track_caller]
    pub fn problems(&self) -> Vec<Problem> {
        let body = self.json();
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: not an error body: {}", self.request, self.text));
        assert!(!errors.is_empty(), "{}: empty `errors`", self.request);
        errors
            .iter()
            .map(|e| Problem {
                code: e["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("error without code: {e}"))
                    .to_owned(),
                message: e["message"]
                    .as_str()
                    .unwrap_or_else(|| panic!("error without message: {e}"))
                    .to_owned(),
                field: e
                    .get("field")
                    .map(|f| f.as_str().expect("`field` is a string").to_owned()),
            })
            .collect()
    }

    /// Assert the status and that the error body has an entry with `code`; returns the entries.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Vec<Problem> {
        assert_eq!(
            self.status, status,
            "{} answered {} (expected {status} {code}): {}",
            self.request, self.status, self.text
        );
        let problems = self.problems();
        assert!(
            problems.iter().any(|p| p.code == code),
            "{}: no `{code}` error in {}",
            self.request,
            self.text
        );
        problems
    }

    /// Assert a 422 with exactly one problem, of `code` and naming `field`; returns its message.
    #[track_caller]
    pub fn expect_invalid(&self, code: &str, field: &str) -> String {
        let problems = self.expect_error(422, code);
        let found = problems
            .iter()
            .find(|p| p.code == code && p.field.as_deref() == Some(field))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no `{code}` error for field `{field}` in {}",
                    self.request, self.text
                )
            });
        found.message.clone()
    }
}

/// Whether `s` is a resource id: 24 lowercase hex characters.
pub fn is_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` is an ISO-8601 UTC time with milliseconds: `2026-01-31T09:08:07.123Z`.
pub fn is_timestamp(s: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    s.len() == SHAPE.len()
        && s.bytes().zip(SHAPE).all(|(c, &want)| {
            if want == b'd' {
                c.is_ascii_digit()
            } else {
                c == want
            }
        })
}

/// A valid id that names nothing.
pub const MISSING_ID: &str = "0123456789abcdef01234567";

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("reading a directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Whether `haystack` contains `needle`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The JSON array `GET path` answers (200), e.g. a list of jobs.
pub async fn list_of(api: &Api, path: &str) -> Vec<Value> {
    let list = api.get(path).await.expect(200);
    list.as_array()
        .unwrap_or_else(|| panic!("GET {path}: a list, not {list}"))
        .clone()
}

/// The child jobs of a flow job.
pub async fn children(api: &Api, flow_job: &str) -> Vec<Value> {
    list_of(api, &format!("/v1/jobs?_flowJobId={flow_job}")).await
}

/// The job errors of a job.
pub async fn job_errors(api: &Api, id: &str) -> Vec<Value> {
    list_of(api, &format!("/v1/jobs/{id}/joberrors")).await
}

// ---------------------------------------------------------------------------------------------
// Flow runs and jobs

/// How long a flow run may take in the tests.
pub const JOB_DEADLINE: Duration = Duration::from_secs(30);
/// How often a job is looked at while waiting for it.
pub const POLL: Duration = Duration::from_millis(50);

/// `POST /v1/flows/{flow}/run`: the new job's id.
pub async fn run(api: &Api, flow: &str) -> String {
    let body = api
        .post_empty(&format!("/v1/flows/{flow}/run"))
        .await
        .expect(201);
    let id = string(&body, "_jobId");
    assert!(is_id(&id), "a job id: {body}");
    id
}

/// `GET /v1/jobs/{id}`.
pub async fn job(api: &Api, id: &str) -> Value {
    api.get(&format!("/v1/jobs/{id}")).await.expect(200)
}

/// A job's `status`.
pub fn status(job: &Value) -> &str {
    job["status"].as_str().unwrap_or_default()
}

/// Poll the job until `done` holds (every [`POLL`], at most [`JOB_DEADLINE`]); panics with the
/// last job document.
pub async fn wait_until(api: &Api, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + JOB_DEADLINE;
    loop {
        let doc = job(api, id).await;
        if done(&doc) {
            return doc;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} did not get {what} within {JOB_DEADLINE:?}; last seen: {doc}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the job has ended: completed, failed or cancelled.
pub fn has_ended(job: &Value) -> bool {
    matches!(status(job), "completed" | "failed" | "cancelled")
}

/// Wait until the job is completed, failed or cancelled.
pub async fn finished(api: &Api, id: &str) -> Value {
    wait_until(api, id, "completed, failed or cancelled", has_ended).await
}

/// Wait until the job completed; panics with its errors otherwise.
pub async fn completed(api: &Api, id: &str) -> Value {
    let doc = finished(api, id).await;
    if status(&doc) != "completed" {
        let errors = job_errors(api, id).await;
        panic!(
            "job {id} ended {}: {doc}\nerrors: {errors:#?}",
            status(&doc)
        );
    }
    doc
}

/// Run the flow to its end: the flow job.
pub async fn run_to_end(api: &Api, flow: &str) -> Value {
    let id = run(api, flow).await;
    finished(api, &id).await
}

/// The number `field` of a job.
pub fn num(job: &Value, field: &str) -> i64 {
    job[field]
        .as_i64()
        .unwrap_or_else(|| panic!("`{field}` must be a number in {job}"))
}

/// `[numSuccess, numError, numIgnore]` of a job.
pub fn outcome(job: &Value) -> [i64; 3] {
    [
        num(job, "numSuccess"),
        num(job, "numError"),
        num(job, "numIgnore"),
    ]
}

/// Deep-merge the object `fields` into `doc`.
pub fn merge(doc: &mut Value, fields: Value) {
    match (doc, fields) {
        (Value::Object(doc), Value::Object(fields)) => {
            for (k, v) in fields {
                match doc.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        doc.insert(k, v);
                    }
                }
            }
        }
        (doc, fields) => *doc = fields,
    }
}

/// `base` with `fields` deep-merged in.
pub fn with(mut base: Value, fields: Value) -> Value {
    merge(&mut base, fields);
    base
}

/// `POST /v1/connections/{conn}/proxy` with `headers` (the `Integrator-…` ones) and an optional
/// body (its content type and bytes): the answer's status, content type and body.
pub async fn proxy_request(
    server: &Server,
    conn: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> (u16, String, Vec<u8>) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/connections/{conn}/proxy", server.url))
        .bearer_auth(&server.token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some((content_type, bytes)) = body {
        request = request.header("Content-Type", content_type).body(bytes);
    }
    let response = request.send().await.expect("the proxy request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.expect("the proxy answer").to_vec();
    (status, content_type, bytes)
}
