//! Extension runtime benchmark: `make bench-extension`, or
//! `cargo bench -p integrator --bench extension` (after `npm ci` in `benches/node-peer`).
//!
//! Side by side in one run, on one thread (so per-call CPU is the serving side's only):
//!
//! 1. new Store + instantiate + no-op call through [`Runtime::call`] (the `noop` preSavePage of
//!    `benches/components/presave`, `{}` options): pooling vs on-demand allocation;
//! 2. the `transform` preSavePage on a 20-record (~14 KB) and a 1,000-record (~700 KB) page of
//!    order records, three ways:
//!    - our Wasm runtime, through [`Runtime::call_json`]: the options' JSON text in, the
//!      result's JSON text out with its shape checked for the kind (the boundary at which the
//!      native floor and the express server are measured too: each gets the options as text and
//!      answers text, which its caller parses where it reads records); and through
//!      [`Runtime::call`], options as a `Value` (the platform's serialization of the options
//!      counted too — for express that is the caller's work, left out of its figures);
//!    - the same logic as a native Rust function (the floor): JSON bytes in, JSON bytes out;
//!    - the same logic in JavaScript behind an express server built on the published
//!      `integrator-extension` package (`benches/node-peer`), called over loopback HTTP the way
//!      integrator.io calls a server stack: `POST /function` with the stack's system token
//!      (options `Value` in, parsed `Value` out), one call in flight, then 4 in flight.
//!
//! The goal's "per core" counts the serving side only: for express, the Node process. A second
//! ratio, for comparison, also counts the caller's CPU time (for express, this thread's share of
//! each HTTP call: serializing the options, the client, parsing the answer); for wasm and native
//! the one thread already does both.
//!
//! The implementations take turns in rounds so that noise from other work on the machine spreads
//! over all of them. Before timing, all three must produce the same result for each page.
//! Prints a table and writes `bench-results/extension.json`.
//!
//! Knobs (environment): `BENCH_EXTENSION_SECONDS` [3] measured seconds per implementation and
//! scenario, `BENCH_EXTENSION_ROUNDS` [5] rounds they are split into, `BENCH_EXTENSION_WARMUP`
//! [1] warm-up seconds per implementation and scenario, `BENCH_EXTENSION_OUT`
//! [`bench-results/extension.json`], `NODE` [`node`].

#[path = "common/guest.rs"]
mod guest;

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use integrator::extension::{
    Allocation, CallInput, FunctionKind, Loaded, Output, Reach, Runtime, Shape, StackLimits, limits,
};
use serde_json::{Value, json};

// Like the `integrator` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The record transformation, shared with the guest component so both run the same code.
#[path = "../../benches/components/presave/src/transform.rs"]
mod transform;

/// Requests in flight in the saturating run against the Node server.
const NODE_CONCURRENCY: usize = 4;
/// Most calls of one implementation in one round (bounds the cheap ones).
const MAX_CALLS_PER_ROUND: usize = 200_000;
/// Page sizes: (records, the page size the issue names).
const PAGES: [(usize, &str); 2] = [(20, "~14 KB"), (1000, "~700 KB")];

struct Settings {
    root: PathBuf,
    seconds: f64,
    rounds: usize,
    warmup: f64,
    out: PathBuf,
    node: String,
    /// `BENCH_EXTENSION_ONLY`, for profiling: `pages` (print the page sizes), `instantiate`
    /// (part 1 only), `pooling` (its pooling side only) or `wasm` (the Wasm side of part 2
    /// only); prints, writes no results.
    only: Option<String>,
}

impl Settings {
    fn from_env() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("runtime/ is inside the workspace")?
            .to_owned();
        let number = |name: &str, default: f64| -> Result<f64> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|n| *n > 0.0)
                    .with_context(|| format!("{name}={v} is not a positive number")),
                Err(_) => Ok(default),
            }
        };
        Ok(Self {
            seconds: number("BENCH_EXTENSION_SECONDS", 3.0)?,
            rounds: number("BENCH_EXTENSION_ROUNDS", 5.0)?.round().max(1.0) as usize,
            warmup: number("BENCH_EXTENSION_WARMUP", 1.0)?,
            out: std::env::var_os("BENCH_EXTENSION_OUT")
                .map_or_else(|| root.join("bench-results/extension.json"), PathBuf::from),
            node: std::env::var("NODE").unwrap_or_else(|_| "node".into()),
            only: std::env::var("BENCH_EXTENSION_ONLY")
                .ok()
                .filter(|v| !v.is_empty()),
            root,
        })
    }

    /// Measured time of one implementation in one round.
    fn slice(&self) -> Duration {
        Duration::from_secs_f64(self.seconds / self.rounds as f64)
    }
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without it:
    // do not spend minutes benchmarking then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("extension benchmark: run it with `cargo bench -p integrator --bench extension`");
        return Ok(());
    }
    let settings = Settings::from_env()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(&settings))
}

async fn run(settings: &Settings) -> Result<()> {
    match settings.only.as_deref() {
        None | Some("instantiate" | "pooling" | "wasm") => {}
        Some("pages") => {
            for (records, nominal) in PAGES {
                let bytes = serde_json::to_vec(&page(records))?;
                println!(
                    "{records} records: {} bytes ({} per record; the issue says {nominal})",
                    bytes.len(),
                    bytes.len() / records
                );
            }
            return Ok(());
        }
        Some(other) => {
            bail!("BENCH_EXTENSION_ONLY={other}: expected pages, instantiate, pooling or wasm")
        }
    }
    let component = guest::build_guest(&settings.root, "bench-extension")?;
    let cache = tempfile::tempdir()?;
    let pooling = Runtime::new(&cache.path().join("pooling"), Allocation::Pooling)?;
    let on_demand = Runtime::new(&cache.path().join("on-demand"), Allocation::OnDemand)?;
    let pooled = pooling
        .upload(component.clone())
        .await
        .map_err(|e| anyhow!("uploading the guest (pooling): {e}"))?;
    let unpooled = on_demand
        .upload(component)
        .await
        .map_err(|e| anyhow!("uploading the guest (on-demand): {e}"))?;
    for name in ["noop", "transform"] {
        ensure!(
            pooled.has(FunctionKind::PreSavePage, name),
            "the guest has no preSavePage '{name}'"
        );
    }
    if settings.only.as_deref() == Some("wasm") {
        return profile_wasm(settings, &pooling, &pooled).await;
    }
    let node = NodePeer::start(settings)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(NODE_CONCURRENCY * 2)
        .build()?;
    let peer = NodeClient {
        client,
        url: format!("{}/function", node.base),
        token: node.token.clone(),
    };
    let node_cpu = Cpu::Process(node.child.id());

    println!(
        "bench-extension: {} CPUs shared with everything else on the machine (load average {}); {} s per implementation and scenario in {} rounds, after {} s of warm-up",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        settings.seconds,
        settings.rounds,
        settings.warmup
    );
    println!(
        "bench-extension: express extension server on node {} (pid {}) at {}",
        node.version,
        node.child.id(),
        node.base
    );

    // --- 1. new Store + instantiate + no-op call ---------------------------------------------
    let empty = json!({});
    let limits = StackLimits::default();
    let noop = |runtime: &'static str| {
        let (rt, loaded) = match runtime {
            "pooling" => (&pooling, &pooled),
            _ => (&on_demand, &unpooled),
        };
        let (rt, loaded, empty, limits) = (rt.as_ref(), loaded.as_ref(), &empty, &limits);
        move || wasm_call(rt, loaded, "noop", empty, limits)
    };
    let pooling_only = settings.only.as_deref() == Some("pooling");
    warm_up(settings, noop("pooling")).await?;
    warm_up(settings, noop("on-demand")).await?;
    let mut inst_pool = Series::new("pooling");
    let mut inst_demand = Series::new("on-demand");
    for _ in 0..settings.rounds {
        if pooling_only {
            measure(
                &mut inst_pool,
                &Cpu::Thread,
                settings.slice(),
                noop("pooling"),
            )
            .await?;
            continue;
        }
        measure(
            &mut inst_pool,
            &Cpu::Thread,
            settings.slice(),
            noop("pooling"),
        )
        .await?;
        measure(
            &mut inst_demand,
            &Cpu::Thread,
            settings.slice(),
            noop("on-demand"),
        )
        .await?;
    }
    let inst = Instantiate {
        pooling: inst_pool,
        on_demand: inst_demand,
    };
    inst.print();
    if settings.only.is_some() {
        return Ok(());
    }

    // --- 2. preSavePage transform, three ways ------------------------------------------------
    let mut scenarios = Vec::new();
    for (records, nominal) in PAGES {
        let peers = Peers {
            runtime: &pooling,
            loaded: &pooled,
            node: &peer,
            node_cpu: &node_cpu,
        };
        let scenario = transform_scenario(settings, &peers, inst.pooling.p50(), page(records))
            .await
            .with_context(|| format!("the {records}-record page"))?;
        scenario.print(nominal);
        scenarios.push(scenario);
    }
    drop(node);

    let report = report(settings, &inst, &scenarios);
    if let Some(dir) = settings.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.out, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", settings.out.display()))?;
    println!();
    summary(&inst, &scenarios);
    println!("results: {}", display_path(&settings.out, &settings.root));
    Ok(())
}

/// `BENCH_EXTENSION_ONLY=wasm`: only the Wasm side of part 2 (e.g. under `perf record`).
async fn profile_wasm(settings: &Settings, runtime: &Runtime, loaded: &Loaded) -> Result<()> {
    let limits = StackLimits::default();
    for (records, _) in PAGES {
        let options = page(records);
        let mut series = Series::new("wasm");
        let budget = Duration::from_secs_f64(settings.seconds);
        measure(&mut series, &Cpu::Thread, budget, || {
            wasm_call(runtime, loaded, "transform", &options, &limits)
        })
        .await?;
        println!(
            "wasm transform, {records} records: {} calls, p50 {:.1} µs, p99 {:.1} µs, {:.0} calls/s/core",
            series.calls(),
            series.p50(),
            series.p99(),
            series.per_core()
        );
    }
    Ok(())
}

// --- the three implementations --------------------------------------------------------------

/// One call through the runtime: fresh store, instantiate, call, validated result.
async fn wasm_call(
    runtime: &Runtime,
    loaded: &Loaded,
    function: &str,
    options: &Value,
    limits: &StackLimits,
) -> Result<Output> {
    let (result, _logs) = runtime
        .call(
            loaded,
            FunctionKind::PreSavePage,
            function,
            options,
            limits,
            Reach::default(),
        )
        .await;
    result.map_err(|e| anyhow!("{function}: {} ({})", e, e.code()))
}

/// One call through the runtime from the options' JSON text: fresh store, instantiate, call,
/// checked result.
async fn wasm_call_json(
    runtime: &Runtime,
    loaded: &Loaded,
    function: &str,
    input: &CallInput,
    limits: &StackLimits,
) -> Result<Output> {
    let (result, _logs) = runtime
        .call_json(
            loaded,
            FunctionKind::PreSavePage,
            function,
            input,
            limits,
            Reach::default(),
        )
        .await;
    result.map_err(|e| anyhow!("{function}: {} ({})", e, e.code()))
}

/// The native floor: the page's JSON bytes in, the result's JSON bytes out (parsed once,
/// written once), with the guest's own JSON library (integrator-json, as the SDK uses it).
fn native_transform(input: &[u8]) -> Result<Vec<u8>> {
    use integrator_json::Value as Record;
    let mut options = integrator_json::from_slice(input)?;
    let records = match options.get_mut("data").map(Record::take) {
        Some(Record::Array(records)) => records,
        _ => Vec::new(),
    };
    let errors = match options.get_mut("errors").map(Record::take) {
        Some(errors @ Record::Array(_)) => errors,
        _ => Record::Array(Vec::new()),
    };
    let mut result = integrator_json::Object::with_capacity(4);
    result.insert("data", Record::Array(transform::transform_records(records)));
    result.insert("errors", errors);
    result.insert("abort", Record::Bool(false));
    result.insert("newErrorsAndRetryData", Record::Array(Vec::new()));
    let mut out = Vec::with_capacity(input.len() + 256);
    integrator_json::to_writer(&Record::Object(result), &mut out);
    Ok(out)
}

/// Calls the express extension server the way integrator.io calls a stack of type server.
struct NodeClient {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl NodeClient {
    async fn call(&self, function: &str, options: &Value) -> Result<Value> {
        let mut body = format!(
            r#"{{"diy":true,"type":"hook","function":{},"maxResponseSize":{},"options":"#,
            serde_json::to_string(function)?,
            limits::DEFAULT_OUTPUT_BYTES
        )
        .into_bytes();
        serde_json::to_writer(&mut body, options)?;
        body.push(b'}');
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        ensure!(
            status == reqwest::StatusCode::OK,
            "the express server answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
        );
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The express extension server, started and killed by the benchmark.
struct NodePeer {
    child: Child,
    base: String,
    token: String,
    version: String,
}

impl NodePeer {
    fn start(settings: &Settings) -> Result<Self> {
        let dir = settings.root.join("benches/node-peer");
        ensure!(
            dir.join("node_modules/integrator-extension").is_dir()
                && dir.join("node_modules/express").is_dir(),
            "{}/node_modules is missing: run `npm ci` there (make bench-extension does)",
            dir.display()
        );
        let version = Command::new(&settings.node)
            .arg("--version")
            .output()
            .with_context(|| {
                format!(
                    "running `{} --version` (is Node.js installed?)",
                    settings.node
                )
            })?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        let token = format!("{:032x}", rand::random::<u128>());
        let mut child = Command::new(&settings.node)
            .arg("server.js")
            .current_dir(&dir)
            .env("SYSTEM_TOKEN", &token)
            .env("PORT", "0")
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} server.js", settings.node))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        // Read up to the line announcing the address, then keep draining what the package logs
        // for every call (as a log collector would), so the server never blocks on the pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if let Some(base) = line.trim().strip_prefix("listening on ") {
                            let _ = tx.send(base.to_owned());
                            break;
                        }
                    }
                }
            }
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        let mut peer = Self {
            child,
            base: String::new(),
            token,
            version,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) if base.starts_with("http://127.0.0.1:") => peer.base = base,
            Ok(base) => bail!("the express server listens on {base}, not on 127.0.0.1"),
            Err(_) => bail!("the express server did not start within 30 s"),
        }
        Ok(peer)
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- pages ----------------------------------------------------------------------------------

/// A small deterministic generator (the same pages on every run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A preSavePage options object with a page of `records` order records (~700 bytes of JSON
/// each, 5 lines each, about 1 in 10 marked deleted), as an export would deliver them.
fn page(records: usize) -> Value {
    const FIRST: &[&str] = &[
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
        "Linus",
    ];
    const LAST: &[&str] = &[
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Ritchie",
        "Allen", "Torvalds",
    ];
    const STREETS: &[&str] = &[
        "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine Rd", "Elm St",
    ];
    const CITIES: &[(&str, &str, &str)] = &[
        ("Springfield", "IL", "62701"),
        ("Portland", "OR", "97201"),
        ("Austin", "TX", "73301"),
        ("Madison", "WI", "53703"),
        ("Boulder", "CO", "80302"),
    ];
    const STATUS: &[&str] = &["pending", "processing", "shipped", "delivered", "on_hold"];
    const CHANNELS: &[&str] = &["web", "pos", "marketplace", "phone"];
    const PRODUCTS: &[&str] = &[
        "Water bottle 750 ml",
        "Wool socks, M",
        "USB-C cable 2 m",
        "Pour-over dripper",
        "Notebook A5",
        "Cutting board",
        "Desk lamp",
    ];
    let mut rng = Lcg(0x5eed ^ records as u64);
    let data: Vec<Value> = (0..records)
        .map(|i| {
            let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
            let (city, state, zip) = CITIES[rng.below(CITIES.len() as u64) as usize];
            let day = 1 + rng.below(28);
            let lines: Vec<Value> = (0..5)
                .map(|_| {
                    json!({
                        "sku": format!("SKU-{:05}", rng.below(100_000)),
                        "description": rng.pick(PRODUCTS),
                        "qty": 1 + rng.below(5),
                        "price": (199 + rng.below(19_800)) as f64 / 100.0,
                    })
                })
                .collect();
            json!({
                "id": format!("ord_{:08}", 10_000_000 + i),
                "orderNumber": format!("SO-{}", 400_000 + i),
                "status": rng.pick(STATUS),
                "channel": rng.pick(CHANNELS),
                "createdAt": format!("2024-05-{day:02}T{:02}:{:02}:{:02}Z", rng.below(24), rng.below(60), rng.below(60)),
                "customer": {
                    "id": format!("cus_{:06}", rng.below(1_000_000)),
                    "name": format!("{first} {last}"),
                    "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
                },
                "shippingAddress": {
                    "line1": format!("{} {}", 1 + rng.below(9999), rng.pick(STREETS)),
                    "city": city,
                    "state": state,
                    "postalCode": zip,
                },
                "deleted": rng.below(10) == 0,
                "lines": lines,
            })
        })
        .collect();
    json!({
        "data": data,
        "errors": [],
        "_exportId": "65a1f0c2e4b0a1b2c3d4e5f6",
        "_connectionId": "65a1f0c2e4b0a1b2c3d4e5f7",
        "_flowId": "65a1f0c2e4b0a1b2c3d4e5f8",
        "_integrationId": "65a1f0c2e4b0a1b2c3d4e5f9",
        "pageIndex": 0,
        "lastExportDateTime": "2024-06-01T00:00:00.000Z",
        "currentExportDateTime": "2024-06-02T00:00:00.000Z",
        "bearerToken": "one-time-token-for-the-benchmark",
        "settings": {},
    })
}

// --- measuring ------------------------------------------------------------------------------

/// Where the CPU time of the serving side is read.
enum Cpu {
    /// This thread (the runtime and the native function run on it).
    Thread,
    /// A whole process, all its threads (the Node server).
    Process(u32),
}

impl Cpu {
    fn now_ns(&self) -> Result<u64> {
        match self {
            Cpu::Thread => {
                let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
                stat.split_whitespace()
                    .next()
                    .and_then(|ns| ns.parse().ok())
                    .context("/proc/thread-self/schedstat")
            }
            Cpu::Process(pid) => {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
                // utime and stime are fields 14 and 15; the command name (field 2) may hold
                // spaces, so count from its closing parenthesis.
                let rest = stat.rsplit_once(')').context("/proc/<pid>/stat")?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let ticks = |i: usize| -> Result<u64> {
                    fields
                        .get(i)
                        .and_then(|t| t.parse::<u64>().ok())
                        .context("/proc/<pid>/stat")
                };
                // Fields after the name start at 3; USER_HZ is 100 on Linux.
                Ok((ticks(14 - 3)? + ticks(15 - 3)?) * 10_000_000)
            }
        }
    }
}

/// The calls of one implementation in one scenario.
struct Series {
    name: &'static str,
    samples_ns: Vec<u64>,
    cpu_ns: u64,
    /// When the serving side is another process (the Node server): this thread's CPU time,
    /// the caller's share (serialize the options, HTTP client, parse the answer).
    caller_ns: u64,
    wall_ns: u64,
}

impl Series {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            samples_ns: Vec::new(),
            cpu_ns: 0,
            caller_ns: 0,
            wall_ns: 0,
        }
    }

    fn calls(&self) -> usize {
        self.samples_ns.len()
    }

    /// The `q` quantile of the call latencies, in µs (nearest rank).
    fn quantile_us(&self, q: f64) -> f64 {
        let mut sorted = self.samples_ns.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64 / 1000.0
    }

    fn p50(&self) -> f64 {
        self.quantile_us(0.50)
    }

    fn p99(&self) -> f64 {
        self.quantile_us(0.99)
    }

    /// Calls per second of wall time.
    fn wall_rate(&self) -> f64 {
        self.calls() as f64 / (self.wall_ns as f64 / 1e9)
    }

    /// Calls per CPU-second of the serving side.
    fn per_core(&self) -> f64 {
        self.calls() as f64 / (self.cpu_ns as f64 / 1e9)
    }

    /// Calls per CPU-second of caller and serving side together.
    fn per_core_whole(&self) -> f64 {
        self.calls() as f64 / ((self.cpu_ns + self.caller_ns) as f64 / 1e9)
    }

    /// Adds the CPU time since `start` (of `cpu` and, when that is another process, of this
    /// thread).
    fn add_cpu(&mut self, cpu: &Cpu, start: (u64, u64)) -> Result<()> {
        self.cpu_ns += cpu.now_ns()?.saturating_sub(start.0);
        if matches!(cpu, Cpu::Process(_)) {
            self.caller_ns += Cpu::Thread.now_ns()?.saturating_sub(start.1);
        }
        Ok(())
    }

    fn json(&self) -> Value {
        json!({
            "calls": self.calls(),
            "p50_us": round(self.p50()),
            "p99_us": round(self.p99()),
            "mean_us": round(self.samples_ns.iter().sum::<u64>() as f64 / self.calls().max(1) as f64 / 1000.0),
            "calls_per_sec_wall": round(self.wall_rate()),
            "calls_per_sec_per_core": round(self.per_core()),
            "serving_cpu_s": round(self.cpu_ns as f64 / 1e9),
            "caller_cpu_s": round(self.caller_ns as f64 / 1e9),
        })
    }
}

/// Run `call` one at a time for `budget` (at least once), adding to `series`.
async fn measure<F, Fut, T>(
    series: &mut Series,
    cpu: &Cpu,
    budget: Duration,
    mut call: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let cpu0 = (cpu.now_ns()?, Cpu::Thread.now_ns()?);
    let start = Instant::now();
    let mut n = 0;
    while n == 0 || (n < MAX_CALLS_PER_ROUND && start.elapsed() < budget) {
        let t = Instant::now();
        let out = call().await?;
        std::hint::black_box(out);
        series.samples_ns.push(t.elapsed().as_nanos() as u64);
        n += 1;
    }
    series.wall_ns += start.elapsed().as_nanos() as u64;
    series.add_cpu(cpu, cpu0)
}

async fn warm_up<F, Fut, T>(settings: &Settings, call: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut scratch = Series::new("warm-up");
    let budget = Duration::from_secs_f64(settings.warmup);
    measure(&mut scratch, &Cpu::Thread, budget, call).await
}

/// `NODE_CONCURRENCY` calls in flight against the Node server for `budget`.
async fn saturate(
    series: &mut Series,
    peer: &Arc<NodeClient>,
    options: &Arc<Value>,
    cpu: &Cpu,
    budget: Duration,
) -> Result<()> {
    let cpu0 = (cpu.now_ns()?, Cpu::Thread.now_ns()?);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..NODE_CONCURRENCY {
        let (peer, options) = (peer.clone(), options.clone());
        tasks.spawn(async move {
            let mut samples = Vec::new();
            while samples.is_empty() || start.elapsed() < budget {
                let t = Instant::now();
                peer.call("transform", &options).await?;
                samples.push(t.elapsed().as_nanos() as u64);
            }
            Ok::<_, anyhow::Error>(samples)
        });
    }
    while let Some(done) = tasks.join_next().await {
        series.samples_ns.extend(done??);
    }
    series.wall_ns += start.elapsed().as_nanos() as u64;
    series.add_cpu(cpu, cpu0)
}

// --- scenarios ------------------------------------------------------------------------------

struct Instantiate {
    pooling: Series,
    on_demand: Series,
}

impl Instantiate {
    fn ratio(&self) -> f64 {
        self.on_demand.p50() / self.pooling.p50()
    }

    fn goal_p50(&self) -> bool {
        self.pooling.p50() <= 10.0
    }

    fn goal_ratio(&self) -> bool {
        self.ratio() >= 2.0
    }

    fn print(&self) {
        println!();
        println!(
            "1. new Store + instantiate + no-op call (Runtime::call, preSavePage \"noop\", {{}} options)"
        );
        println!(
            "   {:<12} {:>9} {:>10} {:>10} {:>14}",
            "allocation", "calls", "p50 µs", "p99 µs", "calls/s/core"
        );
        for s in [&self.pooling, &self.on_demand] {
            println!(
                "   {:<12} {:>9} {:>10.1} {:>10.1} {:>14.0}",
                s.name,
                s.calls(),
                s.p50(),
                s.p99(),
                s.per_core()
            );
        }
        println!(
            "   on-demand p50 / pooling p50 = {:.2}x    goals: pooled p50 <= 10 µs: {}; >= 2x faster than on-demand: {}",
            self.ratio(),
            met(self.goal_p50()),
            met(self.goal_ratio())
        );
    }
}

struct Scenario {
    records: usize,
    kept: usize,
    input_bytes: usize,
    output_bytes: usize,
    /// `Runtime::call_json`: options as JSON text, like the native floor and express.
    wasm: Series,
    /// `Runtime::call`: options as a `Value`, serialized by the runtime.
    wasm_value: Series,
    native: Series,
    node: Series,
    node_loaded: Series,
    /// What `Runtime::call_json` does natively around the guest: scan and check the result
    /// (p50 µs).
    host_json_p50: f64,
    /// What `Runtime::call` adds: serializing the options (p50 µs).
    serialize_p50: f64,
    /// A pooled no-op call (store, instantiate, call; p50 µs), from the instantiate benchmark.
    noop_p50: f64,
}

impl Scenario {
    /// Calls per core of the express server: the better of its two runs.
    fn node_per_core(&self) -> f64 {
        self.node.per_core().max(self.node_loaded.per_core())
    }

    fn throughput_ratio(&self) -> f64 {
        self.wasm.per_core() / self.node_per_core()
    }

    /// Like [`Self::throughput_ratio`], with the options given to the runtime as a `Value`:
    /// the platform's serialization of them counted on our side only.
    fn value_ratio(&self) -> f64 {
        self.wasm_value.per_core() / self.node_per_core()
    }

    /// Like [`Self::throughput_ratio`], counting the caller's CPU too: for express, the
    /// platform's side of the HTTP call (serialize, send, parse), which the goal leaves out.
    fn whole_ratio(&self) -> f64 {
        let node = self
            .node
            .per_core_whole()
            .max(self.node_loaded.per_core_whole());
        self.wasm_value.per_core_whole() / node
    }

    fn latency_ratio(&self) -> f64 {
        self.node.p50() / self.wasm.p99()
    }

    fn native_ratio(&self) -> f64 {
        self.wasm.p50() / self.native.p50()
    }

    /// The guest's share of a call: what is left of the p50 without the host's JSON and the
    /// store, instantiate and call overhead.
    fn guest_work_p50(&self) -> f64 {
        self.wasm.p50() - self.host_json_p50 - self.noop_p50
    }

    fn print(&self, nominal: &str) {
        println!();
        println!(
            "2. preSavePage \"transform\", {} records ({nominal}: {:.1} KB in; {} records, {:.1} KB out)",
            self.records,
            self.input_bytes as f64 / 1024.0,
            self.kept,
            self.output_bytes as f64 / 1024.0
        );
        println!(
            "   {:<38} {:>7} {:>10} {:>10} {:>12} {:>14}",
            "way", "calls", "p50 µs", "p99 µs", "calls/s wall", "calls/s/core"
        );
        let rows = [
            ("wasm: Runtime::call_json (pooling)", &self.wasm),
            ("wasm: Runtime::call, Value in", &self.wasm_value),
            ("native Rust (bytes in, bytes out)", &self.native),
            ("node express, HTTP, 1 in flight", &self.node),
            ("node express, HTTP, 4 in flight", &self.node_loaded),
        ];
        for (label, s) in rows {
            println!(
                "   {:<38} {:>7} {:>10.1} {:>10.1} {:>12.0} {:>14.0}",
                label,
                s.calls(),
                s.p50(),
                s.p99(),
                s.wall_rate(),
                s.per_core()
            );
        }
        println!(
            "   wasm per core / express per core = {:.2}x (goal >= 3x: {});  express p50 / wasm p99 = {:.2}x (goal >= 1x: {});  wasm p50 / native p50 = {:.2}x (goal <= 3x: {})",
            self.throughput_ratio(),
            met(self.throughput_ratio() >= 3.0),
            self.latency_ratio(),
            met(self.latency_ratio() >= 1.0),
            self.native_ratio(),
            met(self.native_ratio() <= 3.0)
        );
        println!(
            "   options as a Value (Runtime::call: their serialization, the caller's work for express, counted for wasm only): wasm per core / express per core = {:.2}x",
            self.value_ratio()
        );
        println!(
            "   counting the caller's CPU too (wasm: Runtime::call; express: serialize, HTTP client, parse on the platform's side): wasm per core / express per core = {:.2}x (not a goal; for comparison)",
            self.whole_ratio()
        );
        println!(
            "   wasm p50 {:.1} µs = host: scan + check the result {:.1} + store/instantiate/no-op call {:.1} + guest work (copy in, parse, transform, serialize, copy out) {:.1} µs = {:.2}x the native transform ({:.1} µs); serializing the options (Runtime::call) {:.1} µs more",
            self.wasm.p50(),
            self.host_json_p50,
            self.noop_p50,
            self.guest_work_p50(),
            self.guest_work_p50() / self.native.p50(),
            self.native.p50(),
            self.serialize_p50
        );
    }

    fn json(&self) -> Value {
        json!({
            "records": self.records,
            "records_kept": self.kept,
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
            "wasm": self.wasm.json(),
            "wasm_value_in": self.wasm_value.json(),
            "native": self.native.json(),
            "node_express": self.node.json(),
            "node_express_loaded": { "in_flight": NODE_CONCURRENCY, "series": self.node_loaded.json() },
            "breakdown_p50_us": {
                "host_scan_and_check_result": round(self.host_json_p50),
                "serialize_options_value": round(self.serialize_p50),
                "store_instantiate_noop_call": round(self.noop_p50),
                "guest_work": round(self.guest_work_p50()),
                "native_transform": round(self.native.p50()),
            },
            "ratios": {
                "wasm_per_core_over_express_per_core": round(self.throughput_ratio()),
                "express_p50_over_wasm_p99": round(self.latency_ratio()),
                "wasm_p50_over_native_p50": round(self.native_ratio()),
                "native_per_core_over_wasm_per_core": round(self.native.per_core() / self.wasm.per_core()),
                "value_in_wasm_per_core_over_express_per_core": round(self.value_ratio()),
                "with_caller_cpu_wasm_per_core_over_express_per_core": round(self.whole_ratio()),
            },
            "goals": {
                "throughput_per_core_at_least_3x_express": self.throughput_ratio() >= 3.0,
                "wasm_p99_at_most_express_p50": self.latency_ratio() >= 1.0,
                "within_3x_of_native": self.native_ratio() <= 3.0,
            },
        })
    }
}

/// The three ways of running the hook (and where the Node server's CPU time is read).
struct Peers<'a> {
    runtime: &'a Runtime,
    loaded: &'a Loaded,
    node: &'a NodeClient,
    node_cpu: &'a Cpu,
}

async fn transform_scenario(
    settings: &Settings,
    peers: &Peers<'_>,
    noop_p50: f64,
    options: Value,
) -> Result<Scenario> {
    let Peers {
        runtime,
        loaded,
        node: peer,
        node_cpu,
    } = *peers;
    let bytes = serde_json::to_vec(&options)?;
    let limits = StackLimits::default();
    let records = options["data"].as_array().map_or(0, Vec::len);

    // Correctness, once, before timing: the same result three ways.
    let from_wasm = wasm_call(runtime, loaded, "transform", &options, &limits)
        .await?
        .into_value()?;
    let native_bytes = native_transform(&bytes)?;
    let from_native: Value = serde_json::from_slice(&native_bytes)?;
    let from_node = peer.call("transform", &options).await?;
    same("wasm", &from_wasm, "native", &from_native)?;
    same("node", &from_node, "native", &from_native)?;
    let kept = check_transformed(&options, &from_native)?;

    // What the runtime does natively around the guest: scan and check the result; and, in
    // Runtime::call, serialize the options.
    let p50_of = async |call: &dyn Fn() -> Result<usize>| -> Result<f64> {
        let mut s = Series::new("host");
        let budget = Duration::from_secs_f64(settings.warmup.min(1.0));
        measure(&mut s, &Cpu::Thread, budget, || async { call() }).await?;
        Ok(s.p50())
    };
    let host_json_p50 = p50_of(&|| {
        let back = Shape::scan(&native_bytes)?;
        FunctionKind::PreSavePage
            .check_result(0, &back)
            .map_err(|e| anyhow!(e))?;
        Ok(native_bytes.len())
    })
    .await?;
    let serialize_p50 = p50_of(&|| Ok(serde_json::to_vec(&options)?.len())).await?;

    let (options_ref, bytes_ref) = (&options, bytes.as_slice());
    let lim = &limits;
    let input = CallInput {
        json: bytes.clone(),
        records: FunctionKind::PreSavePage.input_records(&options),
    };
    let input = &input;
    let from_wasm_json = wasm_call_json(runtime, loaded, "transform", input, lim)
        .await?
        .into_value()?;
    same("wasm (JSON in)", &from_wasm_json, "native", &from_native)?;
    let wasm = move || wasm_call_json(runtime, loaded, "transform", input, lim);
    let wasm_value = move || wasm_call(runtime, loaded, "transform", options_ref, lim);
    let native = move || async move { native_transform(bytes_ref) };
    let node = move || peer.call("transform", options_ref);
    warm_up(settings, wasm).await?;
    warm_up(settings, wasm_value).await?;
    warm_up(settings, native).await?;
    warm_up(settings, node).await?;

    let mut s = Scenario {
        records,
        kept,
        input_bytes: bytes.len(),
        output_bytes: native_bytes.len(),
        wasm: Series::new("wasm"),
        wasm_value: Series::new("wasm-value-in"),
        native: Series::new("native"),
        node: Series::new("node"),
        node_loaded: Series::new("node-loaded"),
        host_json_p50,
        serialize_p50,
        noop_p50,
    };
    for _ in 0..settings.rounds {
        measure(&mut s.wasm, &Cpu::Thread, settings.slice(), wasm).await?;
        measure(
            &mut s.wasm_value,
            &Cpu::Thread,
            settings.slice(),
            wasm_value,
        )
        .await?;
        measure(&mut s.native, &Cpu::Thread, settings.slice(), native).await?;
        measure(&mut s.node, node_cpu, settings.slice(), node).await?;
    }
    // The express server's throughput with requests queued, in case it does better per core
    // than one call at a time (its throughput per core is the better of the two).
    let shared_peer = Arc::new(NodeClient {
        client: peer.client.clone(),
        url: peer.url.clone(),
        token: peer.token.clone(),
    });
    let shared_options = Arc::new(options.clone());
    saturate(
        &mut s.node_loaded,
        &shared_peer,
        &shared_options,
        node_cpu,
        Duration::from_secs_f64(settings.seconds),
    )
    .await?;
    Ok(s)
}

/// Fail unless `a` and `b` are the same JSON (numbers compared as values: `12` == `12.0`).
fn same(a_name: &str, a: &Value, b_name: &str, b: &Value) -> Result<()> {
    fn walk(a: &Value, b: &Value, path: &mut String) -> Result<(), String> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                if x.as_f64() == y.as_f64() {
                    Ok(())
                } else {
                    Err(format!("{path}: {x} vs {y}"))
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                if x.len() != y.len() {
                    return Err(format!("{path}: {} vs {} entries", x.len(), y.len()));
                }
                for (i, (x, y)) in x.iter().zip(y).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(x, y, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            (Value::Object(x), Value::Object(y)) => {
                if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                    let keys = |m: &serde_json::Map<String, Value>| {
                        m.keys().cloned().collect::<Vec<_>>().join(",")
                    };
                    return Err(format!("{path}: keys [{}] vs [{}]", keys(x), keys(y)));
                }
                for (k, x) in x {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    walk(x, &y[k], path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ if a == b => Ok(()),
            _ => Err(format!("{path}: {a} vs {b}")),
        }
    }
    walk(a, b, &mut String::from("$")).map_err(|e| anyhow!("{a_name} and {b_name} disagree at {e}"))
}

/// Check the native result against the rules themselves; returns how many records it kept.
fn check_transformed(options: &Value, result: &Value) -> Result<usize> {
    let input = options["data"].as_array().context("the page has data")?;
    let output = result["data"].as_array().context("the result has data")?;
    let expected: Vec<&Value> = input
        .iter()
        .filter(|r| r["deleted"] != json!(true))
        .collect();
    ensure!(
        expected.len() < input.len() && output.len() == expected.len(),
        "kept {} of {} records; expected {}",
        output.len(),
        input.len(),
        expected.len()
    );
    for (before, after) in expected.iter().zip(output) {
        ensure!(after["id"] == before["id"], "records out of order");
        ensure!(
            after["processed"] == json!(true),
            "record {} not processed",
            before["id"]
        );
        let status = before["status"].as_str().unwrap_or_default().to_uppercase();
        ensure!(
            after["status"] == json!(status),
            "status of {}",
            before["id"]
        );
        let total: f64 = before["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["qty"].as_f64().unwrap_or(0.0) * l["price"].as_f64().unwrap_or(0.0))
            .sum();
        let got = after["total"].as_f64().unwrap_or(f64::NAN);
        ensure!(
            (got - total).abs() < 1e-6,
            "total of {}: {got} vs {total}",
            before["id"]
        );
    }
    Ok(output.len())
}

// --- building the guest, reporting ------------------------------------------------------------

fn report(settings: &Settings, inst: &Instantiate, scenarios: &[Scenario]) -> Value {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(&settings.root)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    json!({
        "benchmark": "extension",
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "commit": commit,
        "host": {
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "kernel": kernel,
            "load_average_at_end": load_average(),
        },
        "settings": {
            "seconds_per_implementation": settings.seconds,
            "rounds": settings.rounds,
            "warmup_seconds": settings.warmup,
            "calls_per_core": "calls per CPU-second of the serving side: this thread for wasm and native, the whole Node process for express",
            "caller_cpu_s": "for express, this thread's CPU time (the platform's side of each HTTP call); the with_caller_cpu ratio adds it to the Node process's",
        },
        "instantiate": {
            "pooling": inst.pooling.json(),
            "on_demand": inst.on_demand.json(),
            "on_demand_p50_over_pooling_p50": round(inst.ratio()),
            "goals": {
                "pooled_p50_at_most_10us": inst.goal_p50(),
                "pooled_at_least_2x_faster": inst.goal_ratio(),
            },
        },
        "transform": scenarios.iter().map(Scenario::json).collect::<Vec<_>>(),
    })
}

fn summary(inst: &Instantiate, scenarios: &[Scenario]) {
    println!("summary (goals of issue 3):");
    println!(
        "  instantiate: pooled p50 {:.1} µs (<= 10 µs: {}), {:.2}x faster than on-demand (>= 2x: {})",
        inst.pooling.p50(),
        met(inst.goal_p50()),
        inst.ratio(),
        met(inst.goal_ratio())
    );
    for s in scenarios {
        println!(
            "  {:>4} records: throughput/core {:.2}x express (>= 3x: {}; {:.2}x with options as a Value); wasm p99 {:.0} µs vs express p50 {:.0} µs ({}); wasm {:.2}x native p50 (<= 3x: {})",
            s.records,
            s.throughput_ratio(),
            met(s.throughput_ratio() >= 3.0),
            s.value_ratio(),
            s.wasm.p99(),
            s.node.p50(),
            met(s.latency_ratio() >= 1.0),
            s.native_ratio(),
            met(s.native_ratio() <= 3.0)
        );
    }
}

/// The 1, 5 and 15 minute load averages (other work competing for the CPUs).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn round(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        0.0
    }
}

fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
