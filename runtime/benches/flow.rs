//! Flow benchmark: `make bench-flow`, or `cargo bench -p integrator --bench flow`.
//!
//! Records per second and peak RSS of one flow run end to end, all in this process (a tokio
//! multi-thread runtime, one worker per CPU):
//!
//! - a **source** HTTP server (`GET /orders?total=T&size=S&page=N`) that generates order records
//!   on the fly (~700 bytes of JSON each: id, customer, shipping address, 3 lines, status,
//!   dates), deterministically from the record's index, never holding more than one response;
//! - a **sink** HTTP server (`POST /sink`, a JSON array of mapped records) that counts what it
//!   receives, checks each record arrives once (count and sum of ids) and answers one
//!   `{"id": n}` per record;
//! - the **platform**: the state `integrator serve` builds ([`integrator::server::open`], rate
//!   limit off) over a temporary data dir, [`integrator::app`] on a loopback port and the job
//!   engine ([`integrator::flow::start`]). The bench creates everything over the REST API: two
//!   HTTP connections, a stack holding `benches/components/presave` (built from source), an
//!   export (page paging against the source at `BENCH_FLOW_SOURCE_PAGE` records per request,
//!   re-cut by the engine into pages of `pageSize` records, the `transform` preSavePage hook),
//!   an import (one request per page: `batchSize` = the page size, a mapping of 5 fields with a
//!   nested extract and a list), and a flow; runs it with `POST /v1/flows/{id}/run` and polls
//!   `GET /v1/jobs/{id}` until it ends.
//!
//! Two variants of the hook: **wasm** (the component, through the extension runtime) and
//! **native** (the same `transform` as a Rust function registered with
//! [`integrator::AppState::register_native`] for a second stack: the floor). Before timing, both
//! must give the same result for a sample page (through `POST /v1/stacks/{id}/invoke`), and a
//! small warm-up run of each must deliver every record.
//!
//! Measured: `BENCH_FLOW_RECORDS` records with each variant, then `BENCH_FLOW_BIG` records
//! with the Wasm hook (flat memory: its peak RSS against the first run's). Per run: records/s
//! from the job's `startedAt`/`endedAt` and from wall time (run request → the sink's last
//! answer), process CPU time, the source's and sink's own CPU time, peak RSS (VmRSS sampled
//! every 100 ms; VmHWM, reset before each run through `/proc/self/clear_refs`). After each run
//! the job must be `completed` with `numExport` = `numSuccess` = the record count and the sink
//! must have received every record once. Prints a table and writes `bench-results/flow.json`.
//!
//! Knobs (environment): `BENCH_FLOW_RECORDS` [1000000], `BENCH_FLOW_BIG` [10000000; 0 skips
//! it], `BENCH_FLOW_PAGE_SIZE` [20] (the export's `pageSize`; 20 is the product default),
//! `BENCH_FLOW_SOURCE_PAGE` [1000] records per source response, `BENCH_FLOW_OUT`
//! [`bench-results/flow.json`]; `BENCH_FLOW_ONLY` = `wasm` or `native` runs that variant only
//! (`BENCH_FLOW_RECORDS` records; for profiling, e.g. under `perf record`), writing no results.

#[path = "common/guest.rs"]
mod guest;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use integrator::AppState;
use integrator::extension::FunctionKind;
use integrator::extension::call::NativeFunction;
use integrator::server::{ServeConfig, open};
use serde::Deserialize;
use serde_json::{Value, json};

// Like the `integrator` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The record transformation, shared with the guest component so both run the same code.
#[path = "../../benches/components/presave/src/transform.rs"]
mod transform;

/// Records of each warm-up run (not reported): enough for the allocator to settle after the
/// setup (compiling the component), so the first measured run does not start with its garbage.
const WARMUP_RECORDS: u64 = 20_000;
/// How often the job is polled.
const POLL: Duration = Duration::from_millis(100);
/// How often VmRSS is sampled.
const RSS_EVERY: Duration = Duration::from_millis(100);
/// A run fails when its job exports nothing new for this long.
const STALL: Duration = Duration::from_secs(60);
/// How often a long run prints its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);
/// The issue's goals.
const GOAL_RECORDS_PER_SEC: f64 = 50_000.0;
const GOAL_NATIVE_RATIO: f64 = 3.0;
const GOAL_RSS_MIB: f64 = 256.0;

struct Settings {
    root: PathBuf,
    records: u64,
    big: u64,
    page_size: u64,
    source_page: u64,
    out: PathBuf,
    only: Option<Variant>,
}

impl Settings {
    fn from_env() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("runtime/ is inside the workspace")?
            .to_owned();
        let count = |name: &str, default: u64, zero_ok: bool| -> Result<u64> {
            match std::env::var(name) {
                Ok(v) => v
                    .replace('_', "")
                    .parse::<u64>()
                    .ok()
                    .filter(|n| zero_ok || *n > 0)
                    .with_context(|| format!("{name}={v} is not a record count")),
                Err(_) => Ok(default),
            }
        };
        let only = match std::env::var("BENCH_FLOW_ONLY").ok().as_deref() {
            None | Some("") => None,
            Some("wasm") => Some(Variant::Wasm),
            Some("native") => Some(Variant::Native),
            Some(other) => bail!("BENCH_FLOW_ONLY={other}: expected wasm or native"),
        };
        Ok(Self {
            records: count("BENCH_FLOW_RECORDS", 1_000_000, false)?,
            big: count("BENCH_FLOW_BIG", 10_000_000, true)?,
            page_size: count("BENCH_FLOW_PAGE_SIZE", 20, false)?,
            source_page: count("BENCH_FLOW_SOURCE_PAGE", 1000, false)?,
            out: std::env::var_os("BENCH_FLOW_OUT")
                .map_or_else(|| root.join("bench-results/flow.json"), PathBuf::from),
            only,
            root,
        })
    }
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without it:
    // do not spend minutes benchmarking then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("flow benchmark: run it with `cargo bench -p integrator --bench flow`");
        return Ok(());
    }
    let settings = Settings::from_env()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&settings))
}

async fn run(settings: &Settings) -> Result<()> {
    let component = guest::build_guest(&settings.root, "bench-flow")?;
    let bench = Bench::start(settings, component).await?;
    println!(
        "bench-flow: {} CPUs shared with everything else on the machine (load average {}); records of ~{} bytes, {} per source response, pages of {} (one sink request each)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        bench.record_bytes,
        settings.source_page,
        settings.page_size
    );
    println!(
        "bench-flow: platform, source and sink up; RSS {:.0} MiB",
        kib_to_mib(bench.rss_after_setup_kib)
    );
    bench.check_hooks_agree().await?;
    for variant in [Variant::Wasm, Variant::Native] {
        let warm = bench.run_flow(variant, WARMUP_RECORDS, false).await?;
        println!(
            "bench-flow: warm-up {} ({} records) ok in {:.2} s",
            variant.name(),
            WARMUP_RECORDS,
            warm.job_seconds
        );
    }

    if let Some(variant) = settings.only {
        let run = bench.run_flow(variant, settings.records, true).await?;
        print_table(&[&run]);
        return Ok(());
    }

    let wasm = bench
        .run_flow(Variant::Wasm, settings.records, true)
        .await?;
    let native = bench
        .run_flow(Variant::Native, settings.records, true)
        .await?;
    let big = if settings.big > 0 {
        println!(
            "bench-flow: {} records with the Wasm hook next (about {:.0} s at the rate above)",
            settings.big,
            settings.big as f64 / wasm.rate_job()
        );
        Some(bench.run_flow(Variant::Wasm, settings.big, true).await?)
    } else {
        None
    };

    let mut runs = vec![&wasm, &native];
    runs.extend(big.as_ref());
    println!();
    print_table(&runs);
    let summary = Summary {
        wasm: &wasm,
        native: &native,
        big: big.as_ref(),
    };
    summary.print();
    let report = report(settings, &bench, &runs, &summary);
    if let Some(dir) = settings.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.out, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", settings.out.display()))?;
    println!("results: {}", display_path(&settings.out, &settings.root));
    Ok(())
}

// --- the variants -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// The preSavePage hook is the `transform` function of the Wasm component.
    Wasm,
    /// The same transform as a native Rust function (the floor).
    Native,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Wasm => "wasm",
            Variant::Native => "native",
        }
    }
}

/// The guest's `transform` on the platform's records: it works on the SDK's records
/// (integrator-json), converted to and from them here.
fn transform_page(records: Vec<Value>) -> Vec<Value> {
    let records = records
        .into_iter()
        .map(integrator_json::Value::from)
        .collect();
    transform::transform_records(records)
        .into_iter()
        .map(Value::from)
        .collect()
}

/// The native floor: what the guest's `transform` does, on the options the platform passes.
fn native_transform(busy_ns: Arc<AtomicU64>) -> NativeFunction {
    Arc::new(move |kind, function, options| {
        if kind != FunctionKind::PreSavePage || function != "transform" {
            return Err(format!(
                "the native floor has no {} function '{function}'",
                kind.api_name()
            ));
        }
        let start = Instant::now();
        // The transform works on the SDK's records (integrator-json), like the guest's.
        let records = options["data"].as_array().cloned().unwrap_or_default();
        let errors = match &options["errors"] {
            errors @ Value::Array(_) => errors.clone(),
            _ => json!([]),
        };
        // Built field by field: `json!` would copy the records once more (`to_value`).
        let mut result = serde_json::Map::new();
        result.insert("data".into(), Value::Array(transform_page(records)));
        result.insert("errors".into(), errors);
        result.insert("abort".into(), Value::Bool(false));
        result.insert("newErrorsAndRetryData".into(), Value::Array(Vec::new()));
        let result = Value::Object(result);
        busy_ns.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(result)
    })
}

// --- the bench's world --------------------------------------------------------------------------

/// The platform, its API client, the source and the sink, and the resources the runs share.
struct Bench {
    api: Api,
    source: Arc<Source>,
    sink: Arc<Sink>,
    /// CPU time spent in the native transform (native variant only).
    native_ns: Arc<AtomicU64>,
    source_connection: String,
    wasm_stack: String,
    native_stack: String,
    import: String,
    page_size: u64,
    source_page: u64,
    record_bytes: usize,
    /// VmRSS once everything is created (the component compiled), before any run.
    rss_after_setup_kib: u64,
    _data: tempfile::TempDir,
    _state: AppState,
}

impl Bench {
    async fn start(settings: &Settings, component: Vec<u8>) -> Result<Self> {
        let source = Arc::new(Source::default());
        let sink = Arc::new(Sink::default());
        let source_url = serve(
            Router::new()
                .route("/orders", get(source_orders))
                .with_state(source.clone()),
        )
        .await?;
        let sink_url = serve(
            Router::new()
                .route("/sink", post(sink_records))
                .with_state(sink.clone()),
        )
        .await?;

        // The platform, as `integrator serve --no-rate-limit` builds it.
        let data = tempfile::tempdir()?;
        let config = ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data.path().join("data"),
            rate_limit: false,
            secret_key: None,
            owner_email: "bench@example.com".into(),
        };
        let (state, token) = open(&config)?;
        let token = token.context("a fresh data dir makes the owner account")?;
        let base = serve(integrator::app(state.clone())).await?;
        integrator::flow::start(state.clone()).context("starting the job engine")?;
        let api = Api {
            client: reqwest::Client::builder()
                .no_proxy()
                .tcp_nodelay(true)
                .build()?,
            base,
            token,
        };

        let source_connection = api
            .create(
                "connections",
                json!({"type": "http", "name": "bench source", "http": {"baseURI": source_url}}),
            )
            .await?;
        let sink_connection = api
            .create(
                "connections",
                json!({"type": "http", "name": "bench sink", "http": {"baseURI": sink_url}}),
            )
            .await?;
        let wasm_stack = api
            .create("stacks", json!({"name": "presave (wasm)", "type": "wasm"}))
            .await?;
        let status = api
            .client
            .put(format!("{}/v1/stacks/{wasm_stack}/component", api.base))
            .bearer_auth(&api.token)
            .header(header::CONTENT_TYPE, "application/wasm")
            .body(component)
            .send()
            .await?
            .status();
        ensure!(
            status == StatusCode::OK,
            "uploading the component: {status}"
        );
        // A stack without a component: calls of its functions go to the native function.
        let native_stack = api
            .create(
                "stacks",
                json!({"name": "presave (native floor)", "type": "wasm"}),
            )
            .await?;
        let native_ns = Arc::new(AtomicU64::new(0));
        state.register_native(&native_stack, native_transform(native_ns.clone()));
        let import = api
            .create(
                "imports",
                json!({
                    "name": "bench sink",
                    "_connectionId": sink_connection,
                    "http": {
                        "relativeURI": "/sink",
                        "method": "POST",
                        "batchSize": settings.page_size,
                        "response": {"idPath": "id"},
                    },
                    "mapping": mapping(),
                }),
            )
            .await?;
        let sample = source_page(0, 1, 1);
        let record_bytes = sample.len() - r#"{"items":[]}"#.len();
        Ok(Self {
            api,
            source,
            sink,
            native_ns,
            source_connection,
            wasm_stack,
            native_stack,
            import,
            page_size: settings.page_size,
            source_page: settings.source_page,
            record_bytes,
            rss_after_setup_kib: rss_kib("VmRSS")?,
            _data: data,
            _state: state,
        })
    }

    fn stack(&self, variant: Variant) -> &str {
        match variant {
            Variant::Wasm => &self.wasm_stack,
            Variant::Native => &self.native_stack,
        }
    }

    /// The Wasm and the native hook give the same result for a sample page, and it is the
    /// transform's.
    async fn check_hooks_agree(&self) -> Result<()> {
        let page: Value = serde_json::from_str(&source_page(0, 20, 1000))?;
        let options = json!({"data": page["items"], "errors": [], "pageIndex": 0});
        let mut results = Vec::new();
        for variant in [Variant::Wasm, Variant::Native] {
            let (status, body) = self
                .api
                .send(
                    reqwest::Method::POST,
                    &format!("/v1/stacks/{}/invoke", self.stack(variant)),
                    Some(
                        json!({"kind": "preSavePage", "function": "transform", "options": options}),
                    ),
                )
                .await?;
            ensure!(
                status == StatusCode::OK,
                "invoking the {} hook: {status} {body}",
                variant.name()
            );
            results.push(body["result"].clone());
        }
        same("wasm", &results[0], "native", &results[1])?;
        let records = page["items"].as_array().cloned().unwrap_or_default();
        let expected = transform_page(records.clone());
        same("wasm", &results[0]["data"], "transform", &json!(expected))?;
        ensure!(
            expected.len() == records.len(),
            "the source's records must all pass the transform"
        );
        println!(
            "bench-flow: the wasm and native hooks agree on a 20-record page ({} bytes)",
            serde_json::to_vec(&options)?.len()
        );
        Ok(())
    }

    /// One measured (or warm-up) run of a new flow over `records` records.
    async fn run_flow(&self, variant: Variant, records: u64, report: bool) -> Result<Run> {
        let api = &self.api;
        let export = api
            .create(
                "exports",
                json!({
                    "name": format!("orders ({records}, {})", variant.name()),
                    "_connectionId": self.source_connection,
                    "pageSize": self.page_size,
                    "http": {
                        "relativeURI": format!(
                            "/orders?total={records}&size={}&page={{{{export.http.paging.page}}}}",
                            self.source_page
                        ),
                        "method": "GET",
                        "paging": {"method": "page", "page": 1},
                        "response": {"resourcePath": "items"},
                    },
                    "hooks": {"preSavePage": {"_stackId": self.stack(variant), "function": "transform"}},
                }),
            )
            .await?;
        let flow = api
            .create(
                "flows",
                json!({
                    "name": format!("bench {} {records}", variant.name()),
                    "_exportId": export,
                    "_importId": self.import,
                }),
            )
            .await?;
        self.source.reset();
        self.sink.reset();
        let native0 = self.native_ns.load(Ordering::Relaxed);
        let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let rss_before = rss_kib("VmRSS")?;
        let sampler = RssSampler::start();
        let cpu0 = process_cpu_ns()?;
        let t0 = Instant::now();

        let (status, body) = api
            .send(
                reqwest::Method::POST,
                &format!("/v1/flows/{flow}/run"),
                None,
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED,
            "running the flow: {status} {body}"
        );
        let job_id = body["_jobId"]
            .as_str()
            .context("the run's _jobId")?
            .to_owned();
        let mut last_progress = (0u64, Instant::now());
        let mut printed = Instant::now();
        let job = loop {
            tokio::time::sleep(POLL).await;
            let job = api.get(&format!("/v1/jobs/{job_id}")).await?;
            if matches!(
                job["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                break job;
            }
            let exported = job["numExport"].as_u64().unwrap_or(0);
            if exported != last_progress.0 {
                last_progress = (exported, Instant::now());
            } else if last_progress.1.elapsed() > STALL {
                bail!(
                    "the {} run of {records} records made no progress for {STALL:?}: {job}",
                    variant.name()
                );
            }
            if report && printed.elapsed() >= PROGRESS_EVERY {
                printed = Instant::now();
                println!(
                    "bench-flow:   {} {records}: {exported} exported, {} delivered, {:.0} records/s so far, RSS {:.0} MiB",
                    variant.name(),
                    self.sink.records.load(Ordering::Relaxed),
                    exported as f64 / t0.elapsed().as_secs_f64(),
                    kib_to_mib(rss_kib("VmRSS")?)
                );
            }
        };
        let polled = t0.elapsed();
        let cpu_ns = process_cpu_ns()?.saturating_sub(cpu0);
        let rss = sampler.stop();
        let hwm = rss_kib("VmHWM")?;

        if job["status"].as_str() != Some("completed") {
            let (_, errors) = api
                .send(
                    reqwest::Method::GET,
                    &format!("/v1/jobs/{job_id}/joberrors"),
                    None,
                )
                .await?;
            bail!(
                "the {} run of {records} records ended {}: {job}\nerrors: {errors}",
                variant.name(),
                job["status"]
            );
        }
        let count = |field: &str| job[field].as_u64().unwrap_or(u64::MAX);
        ensure!(
            count("numExport") == records
                && count("numSuccess") == records
                && count("numError") == 0
                && count("numIgnore") == 0,
            "the {} run of {records} records counted otherwise: {job}",
            variant.name()
        );
        let delivered = self.sink.records.load(Ordering::Relaxed);
        let id_sum = self.sink.id_sum.load(Ordering::Relaxed);
        let expected_sum = records * records.saturating_sub(1) / 2;
        ensure!(
            delivered == records && id_sum == expected_sum,
            "the sink received {delivered} records (id sum {id_sum}), not {records} (id sum {expected_sum})"
        );
        let requests = self.sink.requests.load(Ordering::Relaxed);
        ensure!(
            requests == records.div_ceil(self.page_size),
            "the sink got {requests} requests for {records} records in pages of {}",
            self.page_size
        );
        self.check_first_delivered()?;

        let seconds = |field: &str| -> Result<f64> {
            let text = job[field]
                .as_str()
                .with_context(|| format!("job {field}"))?;
            Ok(chrono::DateTime::parse_from_rfc3339(text)?.timestamp_millis() as f64 / 1000.0)
        };
        let job_seconds = seconds("endedAt")? - seconds("startedAt")?;
        let last_answer = Duration::from_nanos(self.sink.last_ns.load(Ordering::Relaxed));
        let wall = last_answer
            .checked_sub(self.sink.since(t0))
            .unwrap_or(polled);
        let run = Run {
            variant,
            records,
            job_seconds,
            wall_seconds: wall.as_secs_f64(),
            cpu_seconds: cpu_ns as f64 / 1e9,
            source_cpu_seconds: self.source.busy_ns.load(Ordering::Relaxed) as f64 / 1e9,
            sink_cpu_seconds: self.sink.busy_ns.load(Ordering::Relaxed) as f64 / 1e9,
            hook_cpu_seconds: match variant {
                Variant::Native => {
                    Some((self.native_ns.load(Ordering::Relaxed) - native0) as f64 / 1e9)
                }
                Variant::Wasm => None,
            },
            source_requests: self.source.requests.load(Ordering::Relaxed),
            source_bytes: self.source.bytes.load(Ordering::Relaxed),
            sink_requests: requests,
            rss_before_kib: rss_before,
            rss_peak_kib: rss
                .iter()
                .copied()
                .max()
                .unwrap_or(rss_before)
                .max(rss_before),
            rss_samples_kib: rss,
            hwm_kib: hwm_reset.then_some(hwm),
        };
        if report {
            println!(
                "bench-flow: {} {records}: {:.0} records/s (job), {:.0} records/s (wall), peak RSS {:.0} MiB, {:.1} CPU-s",
                variant.name(),
                run.rate_job(),
                run.rate_wall(),
                kib_to_mib(run.rss_peak_kib),
                run.cpu_seconds
            );
        }
        Ok(run)
    }

    /// The first record the sink got is the mapping of the transformed record 0.
    fn check_first_delivered(&self) -> Result<()> {
        let first = self
            .sink
            .first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .context("the sink kept no record")?;
        let page: Value = serde_json::from_str(&source_page(0, 1, 1))?;
        let records = page["items"].as_array().cloned().unwrap_or_default();
        let transformed = transform_page(records);
        let expected = expected_mapping(transformed.first().context("record 0")?);
        same("delivered", &first, "expected", &expected)
    }
}

/// The import's mapping: five fields (one a nested extract into a nested generate) and a list.
fn mapping() -> Value {
    json!({
        "fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "customer.email", "generate": "customer.email"},
            {"extract": "customer.name", "generate": "customer.name"},
            {"extract": "total", "generate": "amount", "dataType": "number"},
            {"extract": "status", "generate": "status"},
        ],
        "lists": [{"generate": "items", "fields": [
            {"extract": "lines[*].sku", "generate": "sku"},
            {"extract": "lines[*].qty", "generate": "quantity", "dataType": "number"},
            {"extract": "lines[*].price", "generate": "unitPrice"},
        ]}],
    })
}

/// What [`mapping`] makes of `record`, written out by hand.
fn expected_mapping(record: &Value) -> Value {
    let items: Vec<Value> = record["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| json!({"sku": l["sku"], "quantity": l["qty"], "unitPrice": l["price"]}))
        .collect();
    json!({
        "orderId": record["id"],
        "customer": {"email": record["customer"]["email"], "name": record["customer"]["name"]},
        "amount": record["total"],
        "status": record["status"],
        "items": items,
    })
}

// --- the source -----------------------------------------------------------------------------------

#[derive(Default)]
struct Source {
    requests: AtomicU64,
    bytes: AtomicU64,
    busy_ns: AtomicU64,
}

impl Source {
    fn reset(&self) {
        for counter in [&self.requests, &self.bytes, &self.busy_ns] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

#[derive(Deserialize)]
struct OrdersQuery {
    total: u64,
    size: u64,
    page: u64,
}

/// `GET /orders?total=T&size=S&page=N` (pages from 1): `{"items": [...]}`, empty after `T`.
async fn source_orders(
    State(source): State<Arc<Source>>,
    Query(q): Query<OrdersQuery>,
) -> Response {
    let start = Instant::now();
    let from = q.page.saturating_sub(1).saturating_mul(q.size).min(q.total);
    let body = source_page(from, q.size, q.total);
    source.requests.fetch_add(1, Ordering::Relaxed);
    source.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    source
        .busy_ns
        .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// `{"items": [...]}` with records `from..min(from + size, total)`.
fn source_page(from: u64, size: u64, total: u64) -> String {
    let to = from.saturating_add(size).min(total);
    let mut out = String::with_capacity(16 + (to - from) as usize * 720);
    out.push_str(r#"{"items":["#);
    for i in from..to {
        if i > from {
            out.push(',');
        }
        write_record(&mut out, i);
    }
    out.push_str("]}");
    out
}

/// Order record `i` as JSON (~700 bytes; never deleted, so every record reaches the sink).
fn write_record(out: &mut String, i: u64) {
    const NAMES: &[(&str, &str)] = &[
        ("Ada", "ada"),
        ("Grace", "grace"),
        ("Alan", "alan"),
        ("Edsger", "edsger"),
        ("Barbara", "barbara"),
        ("Ken", "ken"),
        ("Margaret", "margaret"),
        ("Dennis", "dennis"),
        ("Frances", "frances"),
        ("Linus", "linus"),
    ];
    const SURNAMES: &[(&str, &str)] = &[
        ("Lovelace", "lovelace"),
        ("Hopper", "hopper"),
        ("Turing", "turing"),
        ("Dijkstra", "dijkstra"),
        ("Liskov", "liskov"),
        ("Thompson", "thompson"),
        ("Hamilton", "hamilton"),
        ("Ritchie", "ritchie"),
        ("Allen", "allen"),
        ("Torvalds", "torvalds"),
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
    let mut rng = Rng(i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let (first, first_lc) = rng.pick(NAMES);
    let (last, last_lc) = rng.pick(SURNAMES);
    let (city, state, zip) = rng.pick(CITIES);
    let day = 1 + rng.below(28);
    let _ = write!(
        out,
        r#"{{"id":{i},"orderNumber":"SO-{}","status":"{}","channel":"{}","currency":"USD","createdAt":"2024-05-{day:02}T{:02}:{:02}:{:02}.000Z","updatedAt":"2024-06-{:02}T{:02}:{:02}:{:02}.000Z","customer":{{"id":"cus_{:06}","name":"{first} {last}","email":"{first_lc}.{last_lc}@example.com","phone":"+1-555-{:04}"}},"shippingAddress":{{"line1":"{} {}","city":"{city}","state":"{state}","postalCode":"{zip}","country":"US"}},"lines":["#,
        400_000 + i,
        rng.pick(STATUS),
        rng.pick(CHANNELS),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1_000_000),
        rng.below(10_000),
        1 + rng.below(9999),
        rng.pick(STREETS),
    );
    for line in 0..3 {
        if line > 0 {
            out.push(',');
        }
        let cents = 199 + rng.below(19_800);
        let _ = write!(
            out,
            r#"{{"line":{},"sku":"SKU-{:05}","description":"{}","qty":{},"price":{}.{:02}}}"#,
            line + 1,
            rng.below(100_000),
            rng.pick(PRODUCTS),
            1 + rng.below(5),
            cents / 100,
            cents % 100
        );
    }
    out.push_str(
        r#"],"total":0,"notes":"Leave at the front desk if nobody answers.","deleted":false}"#,
    );
}

// --- the sink -----------------------------------------------------------------------------------

struct Sink {
    base: Instant,
    records: AtomicU64,
    requests: AtomicU64,
    id_sum: AtomicU64,
    busy_ns: AtomicU64,
    /// When the last answer was made, in ns since `base`.
    last_ns: AtomicU64,
    /// The first record received since the last reset.
    first: Mutex<Option<Value>>,
}

impl Default for Sink {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            records: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            id_sum: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            first: Mutex::new(None),
        }
    }
}

impl Sink {
    fn reset(&self) {
        for counter in [
            &self.records,
            &self.requests,
            &self.id_sum,
            &self.busy_ns,
            &self.last_ns,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        *self.first.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// `at` as a time since `base`.
    fn since(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.base)
    }
}

/// What the sink reads of a mapped record (the rest is checked on the first record only).
#[derive(Deserialize)]
struct Delivered {
    #[serde(rename = "orderId")]
    order_id: u64,
}

/// `POST /sink` with a JSON array of records: `[{"id": orderId}, ...]`.
async fn sink_records(State(sink): State<Arc<Sink>>, body: Bytes) -> Response {
    let start = Instant::now();
    let records: Vec<Delivered> = match serde_json::from_slice(&body) {
        Ok(records) => records,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("not a batch: {e}")).into_response(),
    };
    {
        let mut first = sink.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none()
            && let Ok(Value::Array(mut all)) = serde_json::from_slice::<Value>(&body)
            && !all.is_empty()
        {
            *first = Some(all.swap_remove(0));
        }
    }
    let mut answer = String::with_capacity(2 + records.len() * 20);
    answer.push('[');
    let mut sum = 0u64;
    for (n, record) in records.iter().enumerate() {
        if n > 0 {
            answer.push(',');
        }
        let _ = write!(answer, r#"{{"id":{}}}"#, record.order_id);
        sum = sum.wrapping_add(record.order_id);
    }
    answer.push(']');
    sink.records
        .fetch_add(records.len() as u64, Ordering::Relaxed);
    sink.id_sum.fetch_add(sum, Ordering::Relaxed);
    sink.requests.fetch_add(1, Ordering::Relaxed);
    sink.busy_ns
        .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    sink.last_ns.fetch_max(
        sink.since(Instant::now()).as_nanos() as u64,
        Ordering::Relaxed,
    );
    ([(header::CONTENT_TYPE, "application/json")], answer).into_response()
}

// --- plumbing -------------------------------------------------------------------------------------

/// Serve `router` on a loopback port; its base URL.
async fn serve(router: Router) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("bench-flow: a server stopped: {e}");
        }
    });
    Ok(format!("http://{addr}"))
}

/// The platform's REST API, as the owner.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&body)?);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }

    /// `POST /v1/{kind}`: the new resource's `_id`.
    async fn create(&self, kind: &str, doc: Value) -> Result<String> {
        let (status, body) = self
            .send(reqwest::Method::POST, &format!("/v1/{kind}"), Some(doc))
            .await?;
        ensure!(
            status == StatusCode::CREATED,
            "creating {kind}: {status} {body}"
        );
        body["_id"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("creating {kind}: no _id in {body}"))
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let (status, body) = self.send(reqwest::Method::GET, path, None).await?;
        ensure!(status == StatusCode::OK, "GET {path}: {status} {body}");
        Ok(body)
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn rss_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("{field} in /proc/self/status"))
}

/// User + system CPU time of this process so far.
fn process_cpu_ns() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count
    // from its closing parenthesis. USER_HZ is 100 on Linux.
    let rest = stat.rsplit_once(')').context("/proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i - 3)
            .and_then(|t| t.parse::<u64>().ok())
            .context("/proc/self/stat")
    };
    Ok((ticks(14)? + ticks(15)?) * 10_000_000)
}

/// VmRSS every [`RSS_EVERY`] on a thread of its own, until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib("VmRSS") {
                    samples.push(kib);
                }
                std::thread::sleep(RSS_EVERY);
            }
            samples
        });
        Self { stop, thread }
    }

    fn stop(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

// --- results ------------------------------------------------------------------------------------

struct Run {
    variant: Variant,
    records: u64,
    job_seconds: f64,
    wall_seconds: f64,
    cpu_seconds: f64,
    source_cpu_seconds: f64,
    sink_cpu_seconds: f64,
    /// Time in the native transform (native variant).
    hook_cpu_seconds: Option<f64>,
    source_requests: u64,
    source_bytes: u64,
    sink_requests: u64,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    rss_samples_kib: Vec<u64>,
    /// VmHWM of the run (None when it could not be reset before the run).
    hwm_kib: Option<u64>,
}

impl Run {
    fn rate_job(&self) -> f64 {
        self.records as f64 / self.job_seconds
    }

    fn rate_wall(&self) -> f64 {
        self.records as f64 / self.wall_seconds
    }

    /// CPU time of the platform: the process's, less what the source and sink spent in their
    /// handlers (their HTTP serving is still counted).
    fn platform_cpu_seconds(&self) -> f64 {
        self.cpu_seconds - self.source_cpu_seconds - self.sink_cpu_seconds
    }

    /// The median VmRSS sample of the run.
    fn rss_median_kib(&self) -> u64 {
        let mut sorted = self.rss_samples_kib.clone();
        sorted.sort_unstable();
        sorted
            .get(sorted.len() / 2)
            .copied()
            .unwrap_or(self.rss_before_kib)
    }

    fn label(&self) -> String {
        format!("{} {}", self.variant.name(), self.records)
    }

    fn json(&self) -> Value {
        json!({
            "variant": self.variant.name(),
            "records": self.records,
            "job_seconds": round(self.job_seconds),
            "wall_seconds": round(self.wall_seconds),
            "records_per_sec_job": round(self.rate_job()),
            "records_per_sec_wall": round(self.rate_wall()),
            "process_cpu_seconds": round(self.cpu_seconds),
            "cpu_utilisation_of_one_core": round(self.cpu_seconds / self.job_seconds),
            "source_handler_cpu_seconds": round(self.source_cpu_seconds),
            "sink_handler_cpu_seconds": round(self.sink_cpu_seconds),
            "native_hook_cpu_seconds": self.hook_cpu_seconds.map(round),
            "records_per_platform_cpu_second": round(self.records as f64 / self.platform_cpu_seconds()),
            "source_requests": self.source_requests,
            "source_bytes": self.source_bytes,
            "sink_requests": self.sink_requests,
            "rss_before_mib": round(kib_to_mib(self.rss_before_kib)),
            "peak_rss_mib": round(kib_to_mib(self.rss_peak_kib)),
            "median_rss_mib": round(kib_to_mib(self.rss_median_kib())),
            "vm_hwm_mib": self.hwm_kib.map(|k| round(kib_to_mib(k))),
            "rss_mib_every_second": self
                .rss_samples_kib
                .iter()
                .step_by((1000 / RSS_EVERY.as_millis()) as usize)
                .map(|k| round(kib_to_mib(*k)))
                .collect::<Vec<_>>(),
        })
    }
}

fn print_table(runs: &[&Run]) {
    println!(
        "   {:<16} {:>8} {:>10} {:>11} {:>9} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9}",
        "run",
        "job s",
        "rec/s job",
        "rec/s wall",
        "CPU s",
        "src+sink",
        "rec/plat-s",
        "RSS MiB",
        "med MiB",
        "peak MiB",
        "HWM MiB"
    );
    for run in runs {
        println!(
            "   {:<16} {:>8.2} {:>10.0} {:>11.0} {:>9.1} {:>9.1} {:>11.0} {:>9.0} {:>9.0} {:>9.0} {:>9}",
            run.label(),
            run.job_seconds,
            run.rate_job(),
            run.rate_wall(),
            run.cpu_seconds,
            run.source_cpu_seconds + run.sink_cpu_seconds,
            run.records as f64 / run.platform_cpu_seconds(),
            kib_to_mib(run.rss_before_kib),
            kib_to_mib(run.rss_median_kib()),
            kib_to_mib(run.rss_peak_kib),
            run.hwm_kib
                .map_or_else(|| "-".into(), |k| format!("{:.0}", kib_to_mib(k)))
        );
    }
    println!(
        "   (rec/s job: records / (endedAt - startedAt); wall: run request to the sink's last answer; CPU s: the whole process; src+sink: the bench's own handlers; rec/plat-s: records per CPU-second of the rest; RSS: before the run; med, peak: of VmRSS sampled every 100 ms; HWM: VmHWM since the run started)"
    );
    for run in runs {
        if let Some(hook) = run.hook_cpu_seconds {
            println!(
                "   {}: {hook:.2} CPU-s in the native transform ({:.1} µs per page of {} records)",
                run.label(),
                hook * 1e6 / run.sink_requests.max(1) as f64,
                run.records.div_ceil(run.sink_requests.max(1))
            );
        }
    }
}

struct Summary<'a> {
    wasm: &'a Run,
    native: &'a Run,
    big: Option<&'a Run>,
}

impl Summary<'_> {
    /// How many times faster the native floor is (job time).
    fn native_ratio(&self) -> f64 {
        self.native.rate_job() / self.wasm.rate_job()
    }

    fn peak_mib(run: &Run) -> f64 {
        kib_to_mib(run.rss_peak_kib)
    }

    fn goals(&self) -> Value {
        json!({
            "wasm_at_least_50000_records_per_sec": self.wasm.rate_job() >= GOAL_RECORDS_PER_SEC,
            "wasm_within_3x_of_native": self.native_ratio() <= GOAL_NATIVE_RATIO,
            "peak_rss_at_most_256_mib": Self::peak_mib(self.wasm) <= GOAL_RSS_MIB,
            "big_peak_rss_at_most_256_mib": self.big.map(|b| Self::peak_mib(b) <= GOAL_RSS_MIB),
        })
    }

    fn print(&self) {
        println!("summary (goals of the issue):");
        println!(
            "  wasm {:.0} records/s (>= {GOAL_RECORDS_PER_SEC:.0}: {}); native floor {:.0} records/s: wasm is {:.2}x slower (<= {GOAL_NATIVE_RATIO}x: {})",
            self.wasm.rate_job(),
            met(self.wasm.rate_job() >= GOAL_RECORDS_PER_SEC),
            self.native.rate_job(),
            self.native_ratio(),
            met(self.native_ratio() <= GOAL_NATIVE_RATIO)
        );
        println!(
            "  peak RSS: wasm {} records {:.0} MiB, native {:.0} MiB (<= {GOAL_RSS_MIB:.0} MiB: {})",
            self.wasm.records,
            Self::peak_mib(self.wasm),
            Self::peak_mib(self.native),
            met(Self::peak_mib(self.wasm) <= GOAL_RSS_MIB)
        );
        if let Some(big) = self.big {
            println!(
                "  flat memory: wasm {} records peak RSS {:.0} MiB (median {:.0}) vs {:.0} MiB (median {:.0}) at {} records ({:+.0} MiB; <= {GOAL_RSS_MIB:.0} MiB: {})",
                big.records,
                Self::peak_mib(big),
                kib_to_mib(big.rss_median_kib()),
                Self::peak_mib(self.wasm),
                kib_to_mib(self.wasm.rss_median_kib()),
                self.wasm.records,
                Self::peak_mib(big) - Self::peak_mib(self.wasm),
                met(Self::peak_mib(big) <= GOAL_RSS_MIB)
            );
        }
    }
}

fn report(settings: &Settings, bench: &Bench, runs: &[&Run], summary: &Summary<'_>) -> Value {
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
        "benchmark": "flow",
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "commit": commit,
        "host": {
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "kernel": kernel,
            "load_average_at_end": load_average(),
        },
        "settings": {
            "records": settings.records,
            "big_records": settings.big,
            "page_size": settings.page_size,
            "source_records_per_response": settings.source_page,
            "record_bytes": bench.record_bytes,
            "rss_after_setup_mib": round(kib_to_mib(bench.rss_after_setup_kib)),
            "flow": "HTTP export (page paging) -> preSavePage 'transform' -> mapping (5 fields, 1 list) -> HTTP import (one batch request per page)",
            "in_one_process": "source, sink, platform and the bench share one tokio runtime and the process's CPU and RSS",
        },
        "runs": runs.iter().map(|r| r.json()).collect::<Vec<_>>(),
        "ratios": {
            "native_records_per_sec_over_wasm": round(summary.native_ratio()),
            "big_peak_rss_over_first_peak_rss": summary.big.map(|b| round(b.rss_peak_kib as f64 / summary.wasm.rss_peak_kib as f64)),
            "big_median_rss_over_first_median_rss": summary.big.map(|b| round(b.rss_median_kib() as f64 / summary.wasm.rss_median_kib() as f64)),
        },
        "goals": summary.goals(),
    })
}

/// Fail unless `a` and `b` are the same JSON (numbers compared as values, to 1e-9 relative).
fn same(a_name: &str, a: &Value, b_name: &str, b: &Value) -> Result<()> {
    fn walk(a: &Value, b: &Value, path: &mut String) -> Result<(), String> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0) {
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
                    let _ = write!(path, "[{i}]");
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

/// The 1, 5 and 15 minute load averages (other work competing for the CPUs).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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
