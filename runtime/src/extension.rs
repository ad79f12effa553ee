//! The WebAssembly extension runtime: one wasmtime [`Engine`] per process, components compiled
//! once on upload and cached on disk by content hash, and [`Runtime::call`], the one path by
//! which anything calls customer code — a fresh store per call, with memory, deadline and output
//! limits, a one-time token, and every result validated before the platform uses it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, InstancePre, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub mod call;
pub mod kinds;
pub mod limits;
pub mod output;

pub use kinds::{FunctionKind, Interface};
use limits::{CallLimits, MemoryLimit};
pub use output::{Output, Shape};

/// The options of a call as the guest receives them: JSON text (an object holding the call's
/// token and common options), and how many records a per-record result must answer
/// ([`FunctionKind::input_records`]).
#[derive(Debug, Clone)]
pub struct CallInput {
    /// The options' JSON text.
    pub json: Vec<u8>,
    /// The length of the options' record field, for per-record kinds.
    pub records: usize,
}

/// Host bindings of the WIT package, generated once here and used from here only.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "extension",
        imports: { default: async },
        exports: { default: async },
    });
}

use bindings::exports::integrator::extension::{hooks, installer, settings, wrapper};

/// The WIT package version this runtime serves.
pub const WIT_VERSION: &str = "1.0.0";
/// The WIT package name.
pub const WIT_PACKAGE: &str = "integrator:extension";
/// How often the epoch advances: the granularity of call deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Most log lines kept per call.
const MAX_LOG_LINES: usize = 1000;
/// Longest log line kept.
const MAX_LOG_LINE: usize = 4096;

/// Why a call failed. Each has its own code; the host carries on after any of them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuestError {
    /// The call ran past its deadline.
    #[error("the call ran past its deadline of {timeout_ms} ms")]
    Timeout {
        /// The deadline.
        timeout_ms: u64,
    },
    /// The guest asked for more memory than the call may use.
    #[error(transparent)]
    MemoryLimit(#[from] MemoryLimit),
    /// The guest overflowed its stack (e.g. unbounded recursion).
    #[error("the guest overflowed its stack")]
    StackOverflow,
    /// The result is larger than the call may return.
    #[error("the result is {size} bytes; a call may return at most {max}")]
    OutputTooLarge {
        /// Size of the result.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The result is not what the function's kind must return.
    #[error("invalid result: {0}")]
    InvalidOutput(String),
    /// The guest trapped (panic, unreachable, out-of-bounds access, …).
    #[error("the guest trapped: {0}")]
    GuestTrap(String),
    /// The component has no function of this kind and name.
    #[error("the component has no {kind} function named '{function}'")]
    FunctionNotFound {
        /// The kind asked for.
        kind: &'static str,
        /// The name asked for.
        function: String,
    },
    /// The function reported a failure of its own.
    #[error("{message}")]
    Failed {
        /// The function's code.
        code: String,
        /// The function's message.
        message: String,
        /// Where it came from (`source` in the API).
        origin: Option<String>,
    },
    /// The fuel given to the call ran out (deterministic tests).
    #[error("the call ran out of fuel")]
    OutOfFuel,
    /// Every sandbox slot of the process is in use; the call may be retried.
    #[error("the extension runtime is at capacity ({0}); retry shortly")]
    AtCapacity(String),
    /// The host failed to run the call.
    #[error("the call could not be run: {0}")]
    Host(String),
}

impl GuestError {
    /// The error's code in API errors and job errors.
    pub fn code(&self) -> &str {
        match self {
            GuestError::Timeout { .. } => "timeout",
            GuestError::MemoryLimit(_) => "memory_limit",
            GuestError::StackOverflow => "stack_overflow",
            GuestError::OutputTooLarge { .. } => "output_too_large",
            GuestError::InvalidOutput(_) => "invalid_output",
            GuestError::GuestTrap(_) => "guest_trap",
            GuestError::FunctionNotFound { .. } => "function_not_found",
            GuestError::Failed { code, .. } => code,
            GuestError::OutOfFuel => "out_of_fuel",
            GuestError::AtCapacity(_) => "at_capacity",
            GuestError::Host(_) => "extension_error",
        }
    }
}

/// The limits a stack sets for its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackLimits {
    /// Linear memory a call may use.
    pub memory_bytes: usize,
    /// Deadline of a call.
    pub timeout_ms: u64,
    /// Largest result.
    pub output_bytes: usize,
    /// Fuel for deterministic runs (None: unmetered).
    pub fuel: Option<u64>,
}

impl Default for StackLimits {
    fn default() -> Self {
        Self {
            memory_bytes: limits::DEFAULT_MEMORY_BYTES,
            timeout_ms: limits::DEFAULT_TIMEOUT_MS,
            output_bytes: limits::DEFAULT_OUTPUT_BYTES,
            fuel: None,
        }
    }
}

/// What a call may reach outside its sandbox.
#[derive(Clone, Default)]
pub struct Reach {
    /// The platform API (routed in-process); `None` outside a server (503 to the guest).
    pub platform: Option<Router>,
    /// Hosts a wrapper may send HTTP requests to (ignored for every other kind).
    pub outbound: Option<Vec<String>>,
    /// Where a wrapper's HTTP requests are recorded: its connection's debug log.
    pub debug: Option<crate::adaptor::debug::ConnectionLog>,
}

/// One log line written by a guest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// The text.
    pub message: String,
}

/// The store data of one call.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: CallLimits,
    platform: Option<Router>,
    /// Hosts a wrapper may reach; `None` for every other kind of function.
    outbound: Option<Vec<String>>,
    /// The wrapper's connection's debug log.
    debug: Option<crate::adaptor::debug::ConnectionLog>,
    logs: Vec<LogLine>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::integrator::extension::types::Host for HostState {}

impl bindings::integrator::extension::platform::Host for HostState {
    async fn request(
        &mut self,
        token: String,
        method: String,
        path: String,
        body: Option<Vec<u8>>,
    ) -> bindings::integrator::extension::platform::Response {
        use bindings::integrator::extension::platform::Response;
        let Some(router) = self.platform.clone() else {
            return Response {
                status: 503,
                body: error_body(
                    "platform_unavailable",
                    "the platform API is not available when a function runs outside a server (integrator invoke)",
                ),
            };
        };
        match platform_request(router, &token, &method, &path, body).await {
            Ok((status, body)) => Response { status, body },
            Err(message) => Response {
                status: 400,
                body: error_body("invalid_request", &message),
            },
        }
    }
}

impl bindings::integrator::extension::log::Host for HostState {
    async fn write(&mut self, level: bindings::integrator::extension::log::Level, message: String) {
        use bindings::integrator::extension::log::Level;
        if self.logs.len() >= MAX_LOG_LINES {
            return;
        }
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        self.logs.push(LogLine { level, message });
    }
}

impl bindings::integrator::extension::http::Host for HostState {
    async fn send(
        &mut self,
        request: bindings::integrator::extension::http::Request,
    ) -> Result<bindings::integrator::extension::http::Response, String> {
        use crate::adaptor::debug;
        let Some(allowed) = &self.outbound else {
            return Err("outbound HTTP is only available to wrapper functions".into());
        };
        let Some(log) = self.debug.as_ref().filter(|log| log.is_on()) else {
            return outbound_request(allowed, request).await;
        };
        let entry = debug::wrapper_request_entry(
            &request.method,
            &request.url,
            &request.headers,
            request.body.as_deref(),
        );
        let started = std::time::Instant::now();
        let result = outbound_request(allowed, request).await;
        let shown = match &result {
            Ok(r) => Ok(debug::WrapperAnswer {
                status: r.status,
                headers: &r.headers,
                body: &r.body,
            }),
            Err(message) => Err(message.as_str()),
        };
        debug::record_wrapper_exchange(log, entry, started, shown);
        result
    }
}

/// Largest response body handed to a wrapper.
const MAX_OUTBOUND_RESPONSE: usize = 64 * 1024 * 1024;

/// Send a wrapper's request if its host is allowed.
async fn outbound_request(
    allowed: &[String],
    request: bindings::integrator::extension::http::Request,
) -> Result<bindings::integrator::extension::http::Response, String> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let url = reqwest::Url::parse(&request.url)
        .map_err(|e| format!("invalid URL '{}': {e}", request.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https URLs are allowed, not '{}'",
            url.scheme()
        ));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    if !allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&host) || a.eq_ignore_ascii_case(&host_port))
    {
        return Err(format!(
            "the connection does not allow requests to '{host_port}'"
        ));
    }
    let method: reqwest::Method = request
        .method
        .parse()
        .map_err(|_| format!("'{}' is not an HTTP method", request.method))?;
    let client = CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with default TLS-less settings builds")
    });
    let mut builder = client.request(method, url);
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_OUTBOUND_RESPONSE)
    {
        return Err(format!(
            "the response is larger than {MAX_OUTBOUND_RESPONSE} bytes"
        ));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?;
    if body.len() > MAX_OUTBOUND_RESPONSE {
        return Err(format!(
            "the response is larger than {MAX_OUTBOUND_RESPONSE} bytes"
        ));
    }
    Ok(bindings::integrator::extension::http::Response {
        status,
        headers,
        body: body.to_vec(),
    })
}

fn error_body(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"errors": [{"code": code, "message": message}]}))
        .expect("a serde_json::Value always serializes")
}

/// Largest platform API answer handed to a guest.
const MAX_PLATFORM_RESPONSE: usize = 64 * 1024 * 1024;

/// Route one request of a guest into the API router, in-process.
async fn platform_request(
    router: Router,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<(u16, Vec<u8>), String> {
    use tower::ServiceExt;
    let method: axum::http::Method = method
        .parse()
        .map_err(|_| format!("'{method}' is not an HTTP method"))?;
    if !path.starts_with("/v1/") {
        return Err(format!("the path must start with /v1/, not '{path}'"));
    }
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(axum::http::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(axum::body::Body::from(body.unwrap_or_default()))
        .map_err(|e| format!("invalid request: {e}"))?;
    let response = router.oneshot(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), MAX_PLATFORM_RESPONSE)
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok((status, bytes.to_vec()))
}

/// A component ready to be called: compiled, linked, with the functions it exports.
pub struct Loaded {
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// Function names by kind.
    pub functions: BTreeMap<FunctionKind, Vec<String>>,
    /// Compiled without fuel metering: what every call runs, unless its stack sets a fuel
    /// limit.
    fast: Linked,
    /// Compiled with fuel metering, for stacks that set `limits.fuel` (deterministic tests):
    /// made when such a stack is uploaded, or at its first metered call.
    metered: tokio::sync::OnceCell<Linked>,
    /// The size of the options of the last call, JSON: where the next call's buffer starts,
    /// so that serializing a page seldom grows (and copies) its buffer.
    options_size: std::sync::atomic::AtomicUsize,
}

/// A component linked for one engine: its `InstancePre` and the export indices of each
/// interface it exports.
struct Linked {
    pre: InstancePre<HostState>,
    hooks: Option<hooks::GuestIndices>,
    wrapper: Option<wrapper::GuestIndices>,
    installer: Option<installer::GuestIndices>,
    settings: Option<settings::GuestIndices>,
}

impl Loaded {
    /// Function names by kind, as the API shows them.
    pub fn functions_json(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .functions
            .iter()
            .map(|(k, names)| (k.api_name().to_owned(), Value::from(names.clone())))
            .collect();
        Value::Object(map)
    }

    /// Whether the component has a function `function` of `kind`.
    pub fn has(&self, kind: FunctionKind, function: &str) -> bool {
        self.functions
            .get(&kind)
            .is_some_and(|names| names.iter().any(|n| n == function))
    }
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Larger than the cap.
    #[error("the component is {size} bytes; the largest accepted is {max}")]
    TooLarge {
        /// Size sent.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// A core module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component: build it with `cargo build --target wasm32-wasip2` (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    /// Not WebAssembly.
    #[error("this is not a WebAssembly component (bad magic number or header)")]
    NotWasm,
    /// Malformed or unsupported component.
    #[error("the component is invalid: {0}")]
    Invalid(String),
    /// Exports none of the interfaces of this package version.
    #[error(
        "the component targets another world: it exports [{exports}] but none of {WIT_PACKAGE}/{{hooks,wrapper,installer,settings}}@{WIT_VERSION}"
    )]
    OtherWorld {
        /// What it exports.
        exports: String,
    },
    /// Built against another version of the package.
    #[error(
        "the component targets {WIT_PACKAGE}@{version}; this server serves {WIT_PACKAGE}@{WIT_VERSION}"
    )]
    OtherVersion {
        /// The version it targets.
        version: String,
    },
    /// Imports something the sandbox does not provide.
    #[error("the component cannot be linked in the sandbox: {0}")]
    Link(String),
    /// Listing its functions failed.
    #[error("listing the component's functions failed: {0}")]
    Functions(GuestError),
    /// The cache directory failed.
    #[error("storing the compiled component failed: {0}")]
    Cache(String),
}

/// The extension runtime of a process.
pub struct Runtime {
    /// Compiles and runs components without fuel metering (which costs about 15% of guest
    /// speed, measured by `make bench-extension`).
    engine: Engine,
    linker: Linker<HostState>,
    /// Compiles and runs the metered variant of components whose stack sets a fuel limit.
    metered_engine: Engine,
    metered_linker: Linker<HostState>,
    cache_dir: PathBuf,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
}

/// An engine: pooled or on-demand instances, with or without fuel metering (a metered engine
/// gets a tenth of the pool: only stacks with a fuel limit use it).
fn new_engine(allocation: Allocation, metered: bool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(metered)
        .wasm_memory64(false)
        .max_wasm_stack(1 << 20);
    // For profiling guest code with `perf`: names for the compiled functions in
    // /tmp/perf-<pid>.map.
    if std::env::var_os("INTEGRATOR_PERF_MAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if allocation == Allocation::Pooling {
        let scale = if metered { 10 } else { 1 };
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(1000 / scale)
            .total_core_instances(4000 / scale)
            .total_memories(1000 / scale)
            .total_tables(2000 / scale)
            .max_memory_size(limits::MAX_MEMORY_BYTES)
            .max_memories_per_component(16)
            .max_tables_per_component(64)
            .max_core_instances_per_component(64)
            // Reusing a slot should not fault its memory in again page by page: keep what
            // a call touched resident and reset only the dirty pages (found with the
            // PAGEMAP_SCAN ioctl where the kernel has it). Measured by `make
            // bench-extension`: pooled new store + instantiate + call p50 29.7 -> 10.3 µs.
            .linear_memory_keep_resident(limits::DEFAULT_MEMORY_BYTES)
            .table_keep_resident(1 << 20)
            .pagemap_scan(wasmtime::Enabled::Auto)
            .decommit_batch_size(16);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Ok(Engine::new(&config)?)
}

/// The host side of the contract (WASI without files, sockets or environment; the platform
/// API and logging) for components of `engine`.
fn new_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    bindings::Extension::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// How the engine allocates instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Pre-reserved slots: instantiation without mmap/munmap (the default).
    Pooling,
    /// Allocate per instance (benchmarks compare against it).
    OnDemand,
}

impl Runtime {
    /// A runtime caching compiled components in `cache_dir`.
    pub fn new(cache_dir: &Path, allocation: Allocation) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(cache_dir)
            .with_context(|| format!("creating {}", cache_dir.display()))?;
        let engine = new_engine(allocation, false)?;
        let metered_engine = new_engine(allocation, true)?;
        let linker = new_linker(&engine)?;
        let metered_linker = new_linker(&metered_engine)?;
        let tickers = [engine.weak(), metered_engine.weak()];
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                loop {
                    let mut alive = false;
                    for ticker in &tickers {
                        if let Some(engine) = ticker.upgrade() {
                            engine.increment_epoch();
                            alive = true;
                        }
                    }
                    if !alive {
                        break;
                    }
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .context("starting the epoch thread")?;
        Ok(Arc::new(Self {
            engine,
            linker,
            metered_engine,
            metered_linker,
            cache_dir: cache_dir.to_owned(),
            loaded: RwLock::new(HashMap::new()),
        }))
    }

    /// The content digest of component bytes.
    pub fn digest(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }

    /// Validate, compile (on a blocking thread), cache on disk and load uploaded component
    /// bytes.
    pub async fn upload(self: &Arc<Self>, bytes: Vec<u8>) -> Result<Arc<Loaded>, UploadError> {
        if bytes.len() > limits::MAX_COMPONENT_BYTES {
            return Err(UploadError::TooLarge {
                size: bytes.len(),
                max: limits::MAX_COMPONENT_BYTES,
            });
        }
        if wasmparser::Parser::is_core_wasm(&bytes) {
            return Err(UploadError::CoreModule);
        }
        if !wasmparser::Parser::is_component(&bytes) {
            return Err(UploadError::NotWasm);
        }
        let digest = Self::digest(&bytes);
        if let Some(loaded) = self.cached(&digest) {
            return Ok(loaded);
        }
        let this = self.clone();
        let hex = digest.trim_start_matches("sha256:").to_owned();
        let size = bytes.len();
        let component = tokio::task::spawn_blocking(move || {
            let component = Component::new(&this.engine, &bytes)
                .map_err(|e| UploadError::Invalid(format!("{e:#}")))?;
            let compiled = component
                .serialize()
                .map_err(|e| UploadError::Cache(e.to_string()))?;
            let write = |name: String, data: &[u8]| {
                let path = this.cache_dir.join(name);
                std::fs::write(&path, data)
                    .map_err(|e| UploadError::Cache(format!("{}: {e}", path.display())))
            };
            write(format!("{hex}.wasm"), &bytes)?;
            write(format!("{hex}.cwasm"), &compiled)?;
            Ok::<_, UploadError>(component)
        })
        .await
        .map_err(|e| UploadError::Cache(e.to_string()))??;
        let loaded = Arc::new(self.prepare(&digest, size, component).await?);
        self.loaded
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest, loaded.clone());
        Ok(loaded)
    }

    fn cached(&self, digest: &str) -> Option<Arc<Loaded>> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest)
            .cloned()
    }

    /// The component with `digest`: from memory, else from the on-disk cache (the compiled
    /// artifact, or the original bytes when the artifact is from another engine version).
    pub async fn load(self: &Arc<Self>, digest: &str) -> anyhow::Result<Arc<Loaded>> {
        if let Some(loaded) = self.cached(digest) {
            return Ok(loaded);
        }
        let this = self.clone();
        let hex = digest.trim_start_matches("sha256:").to_owned();
        let (component, size) = tokio::task::spawn_blocking(move || {
            let original = this.cache_dir.join(format!("{hex}.wasm"));
            let size = std::fs::metadata(&original).map_or(0, |m| m.len() as usize);
            let component =
                match deserialize(&this.engine, &this.cache_dir.join(format!("{hex}.cwasm"))) {
                    Ok(component) => component,
                    Err(_) => {
                        let bytes = std::fs::read(&original)
                            .with_context(|| format!("component {hex} is not in the cache"))?;
                        Component::new(&this.engine, &bytes)?
                    }
                };
            Ok::<_, anyhow::Error>((component, size))
        })
        .await??;
        let loaded = Arc::new(self.prepare(digest, size, component).await?);
        self.loaded
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest.to_owned(), loaded.clone());
        Ok(loaded)
    }

    /// Check the component's exports, link it, and list its functions.
    async fn prepare(
        &self,
        digest: &str,
        size: usize,
        component: Component,
    ) -> Result<Loaded, UploadError> {
        let fast = link(&self.engine, &self.linker, &component)?;
        let mut loaded = Loaded {
            digest: digest.to_owned(),
            size,
            functions: BTreeMap::new(),
            fast,
            metered: tokio::sync::OnceCell::new(),
            options_size: std::sync::atomic::AtomicUsize::new(0),
        };
        loaded.functions = self
            .list_functions(&loaded)
            .await
            .map_err(UploadError::Functions)?;
        Ok(loaded)
    }

    /// Make the fuel-metered variant of `loaded` now (the stack sets a fuel limit), so that
    /// its calls never wait for a compilation.
    pub async fn prepare_metered(&self, loaded: &Loaded) -> Result<(), GuestError> {
        self.metered(loaded).await.map(|_| ())
    }

    /// The fuel-metered variant of `loaded`: compiled once, from the on-disk artifact when
    /// there is one, else from the component's bytes (and then cached on disk).
    async fn metered<'a>(&self, loaded: &'a Loaded) -> Result<&'a Linked, GuestError> {
        loaded
            .metered
            .get_or_try_init(|| async {
                let engine = self.metered_engine.clone();
                let dir = self.cache_dir.clone();
                let hex = loaded.digest.trim_start_matches("sha256:").to_owned();
                let component = tokio::task::spawn_blocking(move || {
                    let artifact = dir.join(format!("{hex}.fuel.cwasm"));
                    if let Ok(component) = deserialize(&engine, &artifact) {
                        return Ok(component);
                    }
                    let bytes = std::fs::read(dir.join(format!("{hex}.wasm")))
                        .with_context(|| format!("component {hex} is not in the cache"))?;
                    let component = Component::new(&engine, &bytes)?;
                    if let Ok(compiled) = component.serialize() {
                        // A cache: a failed write only means compiling again next time.
                        let _ = std::fs::write(&artifact, compiled);
                    }
                    Ok::<_, anyhow::Error>(component)
                })
                .await
                .map_err(|e| GuestError::Host(e.to_string()))?
                .map_err(|e| GuestError::Host(format!("{e:#}")))?;
                link(&self.metered_engine, &self.metered_linker, &component)
                    .map_err(|e| GuestError::Host(e.to_string()))
            })
            .await
    }

    fn new_store(
        &self,
        limits: &StackLimits,
        reach: Reach,
    ) -> Result<Store<HostState>, GuestError> {
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let metered = limits.fuel.is_some();
        let engine = if metered {
            &self.metered_engine
        } else {
            &self.engine
        };
        let mut store = Store::new(
            engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                limits: CallLimits::new(limits.memory_bytes),
                platform: reach.platform,
                outbound: reach.outbound,
                debug: reach.debug,
                logs: Vec::new(),
            },
        );
        store.limiter(|s| &mut s.limits);
        // At every epoch tick, guest code yields to the executor (so a guest computing without
        // end holds a worker thread for one tick at a time, never for its whole deadline, and
        // the rest of the server keeps answering), and traps once the deadline has passed.
        let deadline = std::time::Instant::now()
            + Duration::from_millis(limits.timeout_ms.min(limits::MAX_TIMEOUT_MS));
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if std::time::Instant::now() >= deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        if let Some(fuel) = limits.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| GuestError::Host(e.to_string()))?;
        }
        Ok(store)
    }

    async fn list_functions(
        &self,
        loaded: &Loaded,
    ) -> Result<BTreeMap<FunctionKind, Vec<String>>, GuestError> {
        let limits = StackLimits {
            timeout_ms: 10_000,
            ..StackLimits::default()
        };
        let mut store = self.new_store(&limits, Reach::default())?;
        let future = async {
            let linked = &loaded.fast;
            let instance = linked
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| classify_in(&store, e, &limits))?;
            let mut all: Vec<(FunctionKind, String)> = Vec::new();
            // The four interfaces have distinct generated types; the steps are the same.
            macro_rules! list {
                ($indices:expr, $kind:path) => {
                    if let Some(ix) = &$indices {
                        let guest = ix
                            .load(&mut store, &instance)
                            .map_err(|e| classify(e, &limits))?;
                        let names = guest
                            .call_functions(&mut store)
                            .await
                            .map_err(|e| classify_in(&store, e, &limits))?;
                        all.extend(names.into_iter().map(|(k, n)| ($kind(k), n)));
                    }
                };
            }
            list!(linked.hooks, FunctionKind::from_hook);
            list!(linked.wrapper, FunctionKind::from_wrapper);
            list!(linked.installer, FunctionKind::from_installer);
            list!(linked.settings, FunctionKind::from_settings);
            Ok::<_, GuestError>(all)
        };
        let timeout = Duration::from_millis(limits.timeout_ms);
        let all =
            tokio::time::timeout(timeout, future)
                .await
                .map_err(|_| GuestError::Timeout {
                    timeout_ms: limits.timeout_ms,
                })??;
        let mut by_kind: BTreeMap<FunctionKind, Vec<String>> = BTreeMap::new();
        for (kind, name) in all {
            by_kind.entry(kind).or_default().push(name);
        }
        Ok(by_kind)
    }

    /// Call `function` of `kind` in `loaded` with `options` (already holding the call's token
    /// and common options). Returns the result, its shape checked for the kind ([`Output`]),
    /// and the log lines the call wrote.
    pub async fn call(
        &self,
        loaded: &Loaded,
        kind: FunctionKind,
        function: &str,
        options: &Value,
        limits: &StackLimits,
        reach: Reach,
    ) -> (Result<Output, GuestError>, Vec<LogLine>) {
        let json = {
            use std::sync::atomic::Ordering::Relaxed;
            // A little more than last time (never more than 1 MiB ahead of need).
            let last = loaded.options_size.load(Relaxed).min(1 << 20);
            let mut json = Vec::with_capacity(last + last / 8 + 64);
            serde_json::to_writer(&mut json, options)
                .expect("a serde_json::Value always serializes");
            loaded.options_size.store(json.len(), Relaxed);
            json
        };
        let input = CallInput {
            json,
            records: kind.input_records(options),
        };
        self.call_json(loaded, kind, function, &input, limits, reach)
            .await
    }

    /// [`Runtime::call`] with the options already written as JSON text: the guest's side of a
    /// call, from the options' text to its checked result.
    pub async fn call_json(
        &self,
        loaded: &Loaded,
        kind: FunctionKind,
        function: &str,
        input: &CallInput,
        limits: &StackLimits,
        reach: Reach,
    ) -> (Result<Output, GuestError>, Vec<LogLine>) {
        if !loaded.has(kind, function) {
            let error = GuestError::FunctionNotFound {
                kind: kind.api_name(),
                function: function.to_owned(),
            };
            return (Err(error), Vec::new());
        }
        let wrapper = kind.interface() == Interface::Wrapper;
        let reach = Reach {
            outbound: reach.outbound.filter(|_| wrapper),
            debug: reach.debug.filter(|_| wrapper),
            ..reach
        };
        let linked = if limits.fuel.is_some() {
            match self.metered(loaded).await {
                Ok(linked) => linked,
                Err(e) => return (Err(e), Vec::new()),
            }
        } else {
            &loaded.fast
        };
        let mut store = match self.new_store(limits, reach) {
            Ok(store) => store,
            Err(e) => return (Err(e), Vec::new()),
        };
        let bytes = &input.json;
        let timeout = Duration::from_millis(limits.timeout_ms.min(limits::MAX_TIMEOUT_MS));
        let run = run_call(linked, &mut store, kind, function, bytes, limits);
        // The epoch deadline stops guest code; this one also stops a call blocked in a host
        // import (e.g. a sleep), by dropping the call's future.
        let outcome = match tokio::time::timeout(timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(GuestError::Timeout {
                timeout_ms: limits.timeout_ms,
            }),
        };
        let logs = std::mem::take(&mut store.data_mut().logs);
        let result = outcome.and_then(|raw| {
            if raw.len() > limits.output_bytes {
                return Err(GuestError::OutputTooLarge {
                    size: raw.len(),
                    max: limits.output_bytes,
                });
            }
            let shape = Shape::scan(&raw).map_err(|e| {
                GuestError::InvalidOutput(format!(
                    "{} '{function}' returned malformed JSON: {e}",
                    kind.api_name()
                ))
            })?;
            kind.check_result(input.records, &shape).map_err(|e| {
                GuestError::InvalidOutput(format!("{} '{function}' {e}", kind.api_name()))
            })?;
            Ok(Output::checked(raw))
        });
        (result, logs)
    }
}

// The generated bindings take `list<u8>` parameters as `&Vec<u8>`.
#[allow(clippy::ptr_arg)]
async fn run_call(
    loaded: &Linked,
    store: &mut Store<HostState>,
    kind: FunctionKind,
    function: &str,
    options: &Vec<u8>,
    limits: &StackLimits,
) -> Result<Vec<u8>, GuestError> {
    let instance = loaded
        .pre
        .instantiate_async(&mut *store)
        .await
        .map_err(|e| classify_in(store, e, limits))?;
    let missing = || GuestError::FunctionNotFound {
        kind: kind.api_name(),
        function: function.to_owned(),
    };
    // The four interfaces have distinct generated types; the steps are the same.
    macro_rules! call {
        ($indices:expr, $to:ident) => {{
            let ix = $indices.as_ref().ok_or_else(missing)?;
            let guest = ix
                .load(&mut *store, &instance)
                .map_err(|e| classify(e, limits))?;
            let k = kind.$to().ok_or_else(missing)?;
            guest.call_call(&mut *store, k, function, options).await
        }};
    }
    let answer = match kind.interface() {
        Interface::Hooks => call!(loaded.hooks, to_hook),
        Interface::Wrapper => call!(loaded.wrapper, to_wrapper),
        Interface::Installer => call!(loaded.installer, to_installer),
        Interface::Settings => call!(loaded.settings, to_settings),
    };
    let answer = answer.map_err(|e| classify_in(store, e, limits));
    match answer? {
        Ok(bytes) => Ok(bytes),
        Err(failure) => {
            // A failure is output too: the cap bounds it as it bounds a result.
            let size = failure.code.len()
                + failure.message.len()
                + failure.source.as_ref().map_or(0, String::len);
            if size > limits.output_bytes {
                return Err(GuestError::OutputTooLarge {
                    size,
                    max: limits.output_bytes,
                });
            }
            Err(GuestError::Failed {
                code: failure.code,
                message: failure.message,
                origin: failure.source,
            })
        }
    }
}

/// Check that `component` exports the contract's interfaces at this version, and link it
/// with `linker` (of `engine`).
fn link(
    engine: &Engine,
    linker: &Linker<HostState>,
    component: &Component,
) -> Result<Linked, UploadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let prefix = format!("{WIT_PACKAGE}/");
    let ours: Vec<&String> = exports.iter().filter(|e| e.starts_with(&prefix)).collect();
    if ours.is_empty() {
        return Err(UploadError::OtherWorld {
            exports: exports.join(", "),
        });
    }
    if let Some(other) = ours
        .iter()
        .find(|e| !e.ends_with(&format!("@{WIT_VERSION}")))
    {
        let version = other
            .rsplit_once('@')
            .map_or("(unversioned)", |(_, v)| v)
            .to_owned();
        return Err(UploadError::OtherVersion { version });
    }
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| UploadError::Link(format!("{e:#}")))?;
    Ok(Linked {
        hooks: indices(&exports, Interface::Hooks, || {
            hooks::GuestIndices::new(&pre)
        })?,
        wrapper: indices(&exports, Interface::Wrapper, || {
            wrapper::GuestIndices::new(&pre)
        })?,
        installer: indices(&exports, Interface::Installer, || {
            installer::GuestIndices::new(&pre)
        })?,
        settings: indices(&exports, Interface::Settings, || {
            settings::GuestIndices::new(&pre)
        })?,
        pre,
    })
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: the file is an artifact this runtime wrote itself with `Component::serialize`
    // into its private cache directory; wasmtime checks that it was produced by a compatible
    // engine and configuration and refuses it otherwise.
    Ok(unsafe { Component::deserialize_file(engine, path) }?)
}

/// The export indices of `interface` when the component exports it: `None` when it does not,
/// an upload error when it exports the name with other types than the contract's.
fn indices<T>(
    exports: &[String],
    interface: Interface,
    find: impl FnOnce() -> wasmtime::Result<T>,
) -> Result<Option<T>, UploadError> {
    let name = format!("{WIT_PACKAGE}/{}@{WIT_VERSION}", interface.wit_name());
    if !exports.contains(&name) {
        return Ok(None);
    }
    find().map(Some).map_err(|e| {
        UploadError::Invalid(format!(
            "it exports {name} with other types than the contract's: {e:#}"
        ))
    })
}

/// [`classify`] for an error of a call in `store`: a guest that trapped after its memory
/// could not grow ran out of memory (`memory_limit`), whatever its trap says.
fn classify_in(
    store: &Store<HostState>,
    error: wasmtime::Error,
    limits: &StackLimits,
) -> GuestError {
    match (classify(error, limits), store.data().limits.refused) {
        (GuestError::GuestTrap(_), Some(limit)) => GuestError::MemoryLimit(limit),
        (error, _) => error,
    }
}

/// Turn a wasmtime error into the guest error it stands for.
fn classify(error: wasmtime::Error, limits: &StackLimits) -> GuestError {
    if let Some(limit) = error.downcast_ref::<MemoryLimit>() {
        return GuestError::MemoryLimit(*limit);
    }
    if let Some(full) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return GuestError::AtCapacity(full.to_string());
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => GuestError::Timeout {
            timeout_ms: limits.timeout_ms,
        },
        Some(Trap::StackOverflow) => GuestError::StackOverflow,
        Some(Trap::OutOfFuel) => GuestError::OutOfFuel,
        Some(trap) => GuestError::GuestTrap(trap.to_string()),
        None => GuestError::GuestTrap(format!("{error:#}")),
    }
}
