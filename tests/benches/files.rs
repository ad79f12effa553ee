//! File flow benchmark: `make bench-files`, or `scripts/bench-files.sh`.
//!
//! A CSV export → import of `BENCH_FILES_ROWS` rows (1,000,000 rows of 10 columns, ~100 MB)
//! from SFTP to S3, through the real release binary (`target/release/integrator serve
//! --no-rate-limit`, or `$INTEGRATOR_BIN`) on loopback, against OpenSSH's sshd and moto's S3
//! server (`test-servers`), and the same for `BENCH_FILES_SMALL_ROWS` rows (100,000, ~10 MB)
//! to show that memory does not grow with the file's size:
//!
//! 1. the CSV is generated straight into the SFTP user's directory (`in-<rows>/orders.csv`);
//! 2. a fresh server process per size; over its REST API: an SFTP connection (password), an S3
//!    connection (endpoint = moto), an export (CSV, `pageSize` = `BENCH_FILES_PAGE_SIZE`
//!    [1000]), an import (CSV, the same columns, aggregated: one file per run, uploaded at the
//!    end) and a flow; `POST /v1/flows/{id}/run`, then `GET /v1/jobs/{id}` until it ends;
//! 3. measured: wall time (run request → job done), rows/s and MB/s, the server's peak RSS
//!    (`VmHWM` of `/proc/<pid>/status`, the kernel's high-water mark of the fresh process) and
//!    VmRSS sampled every 100 ms, the server's CPU time (utime + stime);
//! 4. checked: the job completed with every row a success, the uploaded object has the same
//!    SHA-256 as the input file, and the input file was deleted.
//!
//! For comparison, on the big file:
//! - the **network path** alone: the same bytes downloaded from SFTP and uploaded to S3 with
//!   the product's own file clients (`integrator::adaptor::files::FileClient`), no parsing;
//! - **parse + serialize** alone, in memory, with the product's CSV reader and writer
//!   (`integrator::adaptor::format::FileFormat`): parse only (records dropped), serialize only
//!   (10,000 parsed records written over and over up to the file's size), and both streamed
//!   (each record parsed then written, as a flow does); best of three, MB/s of the CSV bytes.
//!
//! Goals (issue 5): peak RSS ≤ 256 MiB and not growing with the file (big over small ≤ 1.25),
//! and parse + serialize ≥ 100 MB/s.
//!
//! Prints a table and writes `BENCH_FILES_OUT` [`bench-results/files.json`]. Needs root (sshd
//! logs in a test user), sshd, python3 with moto[server] (`scripts/install-test-deps.sh`).

use std::cell::Cell;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integrator::adaptor::files::FileClient;
use integrator::adaptor::format::FileFormat;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use test_servers::{S3Server, SftpServer};

const BUCKET: &str = "bench";
const COLUMNS: [&str; 10] = [
    "id", "name", "email", "amount", "date", "city", "country", "status", "quantity", "notes",
];
/// How often the job is polled and VmRSS sampled.
const POLL: Duration = Duration::from_millis(100);
/// A run fails when it takes longer than this.
const RUN_LIMIT: Duration = Duration::from_secs(1800);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn round(x: f64, places: i32) -> f64 {
    let p = 10f64.powi(places);
    (x * p).round() / p
}

/// One CSV row of `COLUMNS` (~100 bytes), deterministic from `i`.
fn row(out: &mut String, i: u64) {
    let note = if i.is_multiple_of(10) {
        "\"quoted, with comma\""
    } else {
        "plain note"
    };
    let status = if i.is_multiple_of(3) {
        "open"
    } else {
        "closed"
    };
    let _ = writeln!(
        out,
        "{i},Customer {i},user{i}@example.com,{}.{:02},2024-{:02}-{:02},Springfield,US,{status},{},{note}",
        i * 7 % 10_000,
        i % 100,
        i % 12 + 1,
        i % 28 + 1,
        i % 50,
    );
}

/// Write `rows` rows (with a header) to `path`; its size.
fn generate(path: &Path, rows: u64) -> u64 {
    let file = std::fs::File::create(path).expect("creating the CSV");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut chunk = String::with_capacity(1 << 20);
    chunk.push_str(&COLUMNS.join(","));
    chunk.push('\n');
    for i in 1..=rows {
        row(&mut chunk, i);
        if chunk.len() > (1 << 20) - 200 {
            out.write_all(chunk.as_bytes()).expect("writing the CSV");
            chunk.clear();
        }
    }
    out.write_all(chunk.as_bytes()).expect("writing the CSV");
    out.flush().expect("writing the CSV");
    std::fs::metadata(path).expect("the CSV").len()
}

/// The SHA-256 of the file at `path`, in hex.
fn sha256(path: &Path) -> String {
    let mut file = std::fs::File::open(path).expect("opening a file to hash");
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).expect("hashing a file");
    format!("{:x}", hasher.finalize())
}

// ---------------------------------------------------------------------------------------------
// The server under test

/// The workspace's root directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The release binary.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("INTEGRATOR_BIN") {
        return PathBuf::from(path);
    }
    let path = workspace().join("target/release/integrator");
    assert!(
        path.exists(),
        "{} is missing: `cargo build --release -p integrator --bin integrator` (scripts/bench-files.sh does)",
        path.display()
    );
    path
}

/// `integrator serve` on a free loopback port with a temporary data dir, killed when dropped.
struct Platform {
    child: Child,
    url: String,
    token: String,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Platform {
    fn start() -> Platform {
        let dir = tempfile::tempdir().expect("a data dir");
        let mut child = Command::new(binary())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--no-rate-limit")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the integrator binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut token = None;
        let url = loop {
            let line = lines
                .next()
                .expect("the server printed where it listens")
                .expect("a line");
            if let Some(t) = line.strip_prefix("API token: ") {
                token = Some(t.trim().to_owned());
            } else if let Some(rest) = line.split("listening on http://").nth(1) {
                break format!("http://{}", rest.split('/').next().unwrap_or_default());
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Platform {
            child,
            url,
            token: token.expect("the first start prints the API token"),
            _dir: dir,
            http: reqwest::Client::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("an answer");
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn create(&self, collection: &str, body: Value) -> String {
        let doc = self
            .send(
                reqwest::Method::POST,
                &format!("/v1/{collection}"),
                Some(&body),
            )
            .await;
        doc["_id"].as_str().expect("an _id").to_owned()
    }
}

/// A line of `/proc/<pid>/status` in MiB (`VmRSS`, `VmHWM`).
fn status_mib(pid: u32, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

// ---------------------------------------------------------------------------------------------
// One flow run

struct Run {
    rows: u64,
    bytes: u64,
    wall_seconds: f64,
    job_seconds: f64,
    cpu_seconds: f64,
    rss_before_mib: f64,
    peak_rss_mib: f64,
    median_rss_mib: f64,
    rss_samples: Vec<f64>,
}

impl Run {
    fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.wall_seconds
    }

    fn mb_per_sec(&self) -> f64 {
        mb(self.bytes) / self.wall_seconds
    }

    fn json(&self) -> Value {
        json!({
            "rows": self.rows,
            "csv_mb": round(mb(self.bytes), 1),
            "wall_seconds": round(self.wall_seconds, 2),
            "job_seconds": round(self.job_seconds, 2),
            "rows_per_sec": round(self.rows_per_sec(), 0),
            "mb_per_sec": round(self.mb_per_sec(), 2),
            "server_cpu_seconds": round(self.cpu_seconds, 2),
            "rows_per_server_cpu_second": round(self.rows as f64 / self.cpu_seconds.max(0.01), 0),
            "rss_before_mib": round(self.rss_before_mib, 1),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "median_rss_mib": round(self.median_rss_mib, 1),
            "rss_mib_every_second": self.rss_samples.iter().step_by(10).map(|r| round(*r, 1)).collect::<Vec<_>>(),
        })
    }
}

/// Milliseconds between two of the job's timestamps.
fn job_seconds(job: &Value) -> f64 {
    let at = |field: &str| {
        job[field]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (at("startedAt"), at("endedAt")) {
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    }
}

async fn run_flow(sftp: &SftpServer, s3: &S3Server, rows: u64, page_size: u64) -> Run {
    let dir = format!("in-{rows}");
    sftp.mkdir(&dir);
    let input = sftp.path(&format!("{dir}/orders.csv"));
    print!("generating {rows} rows … ");
    let _ = std::io::stdout().flush();
    let bytes = generate(&input, rows);
    sftp.own(&input);
    let input_sha = sha256(&input);
    println!("{:.1} MB", mb(bytes));

    let platform = Platform::start();
    let pid = platform.pid();
    let from = platform.create("connections", sftp.connection()).await;
    let to = platform.create("connections", s3.connection()).await;
    let export = platform
        .create(
            "exports",
            json!({"name": "CSV on SFTP", "_connectionId": from, "pageSize": page_size,
                   "ftp": {"directoryPath": sftp.remote(&dir)}, "file": {"type": "csv"}}),
        )
        .await;
    let key = format!("orders-{rows}.csv");
    let import = platform
        .create(
            "imports",
            json!({"name": "CSV on S3", "_connectionId": to,
                   "s3": {"bucket": BUCKET, "prefix": "out", "fileKey": key},
                   "file": {"type": "csv", "csv": {"columns": COLUMNS}}}),
        )
        .await;
    let flow = platform
        .create(
            "flows",
            json!({"name": "SFTP to S3", "_exportId": export, "_importId": import}),
        )
        .await;
    // Let the fresh process settle before the run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before_mib = status_mib(pid, "VmRSS");
    let cpu_before = cpu_seconds(pid);

    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let samples = samples.clone();
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                samples
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(status_mib(pid, "VmRSS"));
                std::thread::sleep(POLL);
            }
        })
    };
    let started = Instant::now();
    let body = platform
        .send(
            reqwest::Method::POST,
            &format!("/v1/flows/{flow}/run"),
            None,
        )
        .await;
    let job_id = body["_jobId"].as_str().expect("a job id").to_owned();
    let job = loop {
        let job = platform
            .send(reqwest::Method::GET, &format!("/v1/jobs/{job_id}"), None)
            .await;
        if matches!(
            job["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            break job;
        }
        assert!(
            started.elapsed() < RUN_LIMIT,
            "the run takes too long: {job}"
        );
        tokio::time::sleep(POLL).await;
    };
    let wall_seconds = started.elapsed().as_secs_f64();
    let peak_rss_mib = status_mib(pid, "VmHWM");
    let cpu = cpu_seconds(pid) - cpu_before;
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.join();

    let errors = platform
        .send(
            reqwest::Method::GET,
            &format!("/v1/jobs/{job_id}/joberrors"),
            None,
        )
        .await;
    assert_eq!(
        job["status"], "completed",
        "the run failed: {job}\n{errors}"
    );
    assert_eq!(
        job["numSuccess"].as_u64(),
        Some(rows),
        "every row: {job}\n{errors}"
    );
    assert_eq!(job["numError"].as_u64(), Some(0), "{job}\n{errors}");
    let listed = s3.list(BUCKET, &format!("out/{key}"));
    assert_eq!(
        listed,
        vec![(format!("out/{key}"), bytes)],
        "one object, as big as the input"
    );
    let local = tempfile::NamedTempFile::new().expect("a temp file");
    std::fs::write(
        local.path(),
        s3.get(&format!("{BUCKET}/out/{key}")).expect("the object"),
    )
    .expect("writing the object");
    assert_eq!(
        sha256(local.path()),
        input_sha,
        "the object is the input, byte for byte"
    );
    assert!(!input.exists(), "the input file is deleted after the run");
    s3.delete(&format!("{BUCKET}/out/{key}"));

    let mut sorted = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let rss_samples = sorted.clone();
    sorted.sort_by(f64::total_cmp);
    let median_rss_mib = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    Run {
        rows,
        bytes,
        wall_seconds,
        job_seconds: job_seconds(&job),
        cpu_seconds: cpu,
        rss_before_mib,
        peak_rss_mib,
        median_rss_mib,
        rss_samples,
    }
}

// ---------------------------------------------------------------------------------------------
// The network path and the format alone

/// Seconds to download `rel` from SFTP and to upload it to S3 with the product's clients.
async fn network_path(sftp: &SftpServer, s3: &S3Server, rel: &str) -> (f64, f64, u64) {
    let local = tempfile::NamedTempFile::new().expect("a temp file");
    let mut from = FileClient::connect(&sftp.connection())
        .await
        .expect("SFTP connects");
    let started = Instant::now();
    let bytes = from
        .download(&sftp.remote(rel), local.path())
        .await
        .expect("download");
    let download = started.elapsed().as_secs_f64();
    let mut to = FileClient::connect(&s3.connection())
        .await
        .expect("S3 connects");
    let started = Instant::now();
    to.upload(local.path(), &format!("{BUCKET}/raw/{rel}"))
        .await
        .expect("upload");
    let upload = started.elapsed().as_secs_f64();
    s3.delete(&format!("{BUCKET}/raw/{rel}"));
    (download, upload, bytes)
}

struct Throughput {
    parse: f64,
    serialize: f64,
    both: f64,
}

/// MB/s of parsing, serializing and both, in memory, best of three.
fn format_throughput(input: &[u8]) -> Throughput {
    let format = FileFormat::from_block(&json!({"type": "csv", "csv": {"columns": COLUMNS}}))
        .expect("a CSV format");
    let megabytes = mb(input.len() as u64);
    let best = |run: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                run();
                started.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let parse = best(&mut || {
        let mut n = 0u64;
        for record in format.reader(input) {
            record.expect("a record");
            n += 1;
        }
        assert!(n > 0);
    });
    // 10,000 records written over and over, up to the input's size.
    let sample: Vec<Value> = format
        .reader(input)
        .take(10_000)
        .map(|r| r.expect("a record"))
        .collect();
    let serialize = best(&mut || {
        let counted = Rc::new(Cell::new(0u64));
        let mut writer = format.writer(Counter(counted.clone()));
        while counted.get() < input.len() as u64 {
            for record in &sample {
                writer.write(record).expect("written");
            }
        }
        writer.finish().expect("finished");
    });
    let both = best(&mut || {
        let counted = Rc::new(Cell::new(0u64));
        let mut writer = format.writer(Counter(counted.clone()));
        for record in format.reader(input) {
            writer.write(&record.expect("a record")).expect("written");
        }
        writer.finish().expect("finished");
        assert_eq!(
            counted.get(),
            input.len() as u64,
            "the same bytes after a round trip"
        );
    });
    Throughput {
        parse: megabytes / parse,
        serialize: megabytes / serialize,
        both: megabytes / both,
    }
}

/// A writer that only counts the bytes (serialized output goes nowhere, as to a fast disk).
struct Counter(Rc<Cell<u64>>);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + buf.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let rows = env_u64("BENCH_FILES_ROWS", 1_000_000);
    let small_rows = env_u64("BENCH_FILES_SMALL_ROWS", 100_000);
    let page_size = env_u64("BENCH_FILES_PAGE_SIZE", 1000);
    let out = std::env::var("BENCH_FILES_OUT").unwrap_or_else(|_| {
        workspace()
            .join("bench-results/files.json")
            .display()
            .to_string()
    });
    println!("binary: {}", binary().display());
    let sftp = SftpServer::start().expect("sshd (see scripts/install-test-deps.sh)");
    let s3 = S3Server::start().expect("moto (see scripts/install-test-deps.sh)");
    s3.create_bucket(BUCKET);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let (small, big) = runtime.block_on(async {
        let small = run_flow(&sftp, &s3, small_rows, page_size).await;
        let big = run_flow(&sftp, &s3, rows, page_size).await;
        (small, big)
    });

    // The same big file again, for the network path and the format alone.
    sftp.mkdir("raw");
    let raw = sftp.path("raw/orders.csv");
    let bytes = generate(&raw, rows);
    sftp.own(&raw);
    let (download, upload, moved) = runtime.block_on(network_path(&sftp, &s3, "raw/orders.csv"));
    assert_eq!(moved, bytes);
    let input = std::fs::read(&raw).expect("the CSV");
    let _ = std::fs::remove_file(&raw);
    let format = format_throughput(&input);
    drop(input);
    let network_seconds = download + upload;

    let growth = big.peak_rss_mib / small.peak_rss_mib;
    let goals = json!({
        "peak_rss_at_most_256_mib": big.peak_rss_mib <= 256.0 && small.peak_rss_mib <= 256.0,
        "peak_rss_does_not_grow_with_file_size": growth <= 1.25,
        "parse_plus_serialize_at_least_100_mb_per_sec": format.both >= 100.0,
    });
    let results = json!({
        "benchmark": "files",
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "commit": Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        "host": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_average_at_end": std::fs::read_to_string("/proc/loadavg").ok()
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
        },
        "setup": {
            "flow": "CSV export from SFTP (OpenSSH sshd, password) -> CSV import to S3 (moto), aggregated: one object per run",
            "page_size": page_size,
            "columns": COLUMNS.len(),
            "server": "target/release/integrator serve --no-rate-limit, a fresh process per run",
        },
        "runs": [small.json(), big.json()],
        "network_path": {
            "csv_mb": round(mb(bytes), 1),
            "sftp_download_seconds": round(download, 2),
            "s3_upload_seconds": round(upload, 2),
            "mb_per_sec": round(mb(bytes) / network_seconds, 1),
        },
        "format": {
            "csv_mb": round(mb(bytes), 1),
            "parse_mb_per_sec": round(format.parse, 1),
            "serialize_mb_per_sec": round(format.serialize, 1),
            "parse_plus_serialize_streamed_mb_per_sec": round(format.both, 1),
        },
        "ratios": {
            "big_peak_rss_over_small_peak_rss": round(growth, 2),
            "flow_seconds_over_network_path_seconds": round(big.wall_seconds / network_seconds, 2),
            "parse_plus_serialize_seconds_over_flow_seconds": round((mb(bytes) / format.both) / big.wall_seconds, 3),
        },
        "goals": goals,
    });
    if let Some(dir) = Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&results).expect("JSON") + "\n",
    )
    .expect("writing the results");

    println!();
    println!("CSV SFTP -> S3 through the release binary (pageSize {page_size}, aggregated upload)");
    println!(
        "{:>10} {:>8} {:>9} {:>10} {:>8} {:>9} {:>11} {:>10}",
        "rows", "MB", "wall s", "rows/s", "MB/s", "CPU s", "RSS before", "peak RSS"
    );
    for run in [&small, &big] {
        println!(
            "{:>10} {:>8.1} {:>9.2} {:>10.0} {:>8.2} {:>9.2} {:>7.1} MiB {:>6.1} MiB",
            run.rows,
            mb(run.bytes),
            run.wall_seconds,
            run.rows_per_sec(),
            run.mb_per_sec(),
            run.cpu_seconds,
            run.rss_before_mib,
            run.peak_rss_mib,
        );
    }
    println!(
        "network path alone ({:.1} MB): SFTP download {download:.2} s + S3 upload {upload:.2} s = {:.1} MB/s",
        mb(bytes),
        mb(bytes) / network_seconds
    );
    println!(
        "CSV format alone: parse {:.0} MB/s, serialize {:.0} MB/s, parse+serialize streamed {:.0} MB/s",
        format.parse, format.serialize, format.both
    );
    println!("peak RSS big/small: {growth:.2}");
    println!("goals: {goals}");
    println!("results: {out}");
}
