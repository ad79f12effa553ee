//! Parse and write speed of integrator-json against `serde_json::Value` on a page of 1,000
//! order records (~700 bytes each).
//!
//! Run with `cargo run --release -p integrator-json --example speed`. Set `SPEED_DUMP_PAGE` to
//! a path to save the page's JSON text there.
//!
//! Natively, parsing is dominated by the system allocator (every key and string is an
//! allocation for both libraries, and glibc's malloc trims and consolidates its heap between
//! runs); extension functions run with a bump arena instead. To see the parsers with a cheaper
//! allocator, try `GLIBC_TUNABLES=glibc.malloc.trim_threshold=4000000000:glibc.malloc.top_pad=67108864:glibc.malloc.tcache_count=65000`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use integrator_json::json;

/// A deterministic page of `n` order records, as compact JSON text.
fn page(n: usize) -> Vec<u8> {
    let statuses = ["open", "paid", "shipped", "cancelled"];
    let cities = ["Amsterdam", "Berlin", "Lisbon", "Zürich", "Oslo"];
    let records: Vec<integrator_json::Value> = (0..n)
        .map(|i| {
            let lines: Vec<integrator_json::Value> = (0..5)
                .map(|l| {
                    let cents = 199 + (i * 7919 + l * 104_729) % 50_000;
                    json!({
                        "sku": format!("SKU-{:05}", (i * 31 + l * 17) % 100_000),
                        "description": format!("Widget {}, {}", l + 1, ["matte", "gloss", "brushed"][l % 3]),
                        "qty": 1 + (i + l) % 9,
                        "price": format!("{}.{:02}", cents / 100, cents % 100).parse::<integrator_json::Number>().ok(),
                    })
                })
                .collect();
            let mut record = json!({
                "id": 100_000 + i,
                "orderNumber": format!("SO-2026-{:06}", i),
                "externalRef": format!("ext-{:x}", i * 2_654_435_761usize % 0xffff_ffff),
                "status": statuses[i % statuses.len()],
                "currency": "EUR",
                "createdAt": format!("2026-01-{:02}T10:{:02}:00Z", 1 + i % 28, i % 60),
                "updatedAt": format!("2026-01-{:02}T11:{:02}:30Z", 1 + i % 28, (i * 7) % 60),
                "customer": {
                    "id": 5_000 + i % 700,
                    "name": format!("Customer {}", i % 700),
                    "email": format!("customer{}@example.com", i % 700),
                    "address": {
                        "street": format!("{} Main Street", 1 + i % 250),
                        "city": cities[i % cities.len()],
                        "zip": format!("{:05}", (i * 37) % 100_000),
                        "country": "NL",
                    },
                },
                "lines": lines,
                "notes": if i % 10 == 0 { "Leave at the \"back door\"\nthanks" } else { "" },
            });
            if i % 7 == 0 {
                record["deleted"] = true.into();
            }
            record
        })
        .collect();
    integrator_json::Value::from(records).to_vec()
}

/// The best time of `runs` runs of `f`; what `f` returns is dropped outside the timing.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let result = black_box(f());
            let elapsed = start.elapsed();
            drop(result);
            elapsed
        })
        .min()
        .unwrap_or_default()
}

/// The measurements, in this order.
const MEASURES: [&str; 4] = [
    "parse (drop not timed)",
    "parse + drop",
    "write: to_vec (new buffer)",
    "write: to_writer (reused)",
];

/// Measures one library in this process; returns the best times in seconds.
fn measure(library: &str, text: &[u8], runs: usize) -> [f64; 4] {
    let times = if library == "integrator-json" {
        let value = integrator_json::from_slice(text).unwrap_or_default();
        let mut buffer = Vec::with_capacity(4 * text.len());
        [
            best(runs, || integrator_json::from_slice(black_box(text)).ok()),
            best(runs, || {
                drop(integrator_json::from_slice(black_box(text)).ok())
            }),
            best(runs, || integrator_json::to_vec(black_box(&value))),
            best(runs, || {
                buffer.clear();
                integrator_json::to_writer(black_box(&value), &mut buffer);
                buffer.len()
            }),
        ]
    } else {
        let value: serde_json::Value = serde_json::from_slice(text).unwrap_or_default();
        let mut buffer = Vec::with_capacity(4 * text.len());
        [
            best(runs, || {
                serde_json::from_slice::<serde_json::Value>(black_box(text)).ok()
            }),
            best(runs, || {
                drop(serde_json::from_slice::<serde_json::Value>(black_box(text)).ok())
            }),
            best(runs, || serde_json::to_vec(black_box(&value)).ok()),
            best(runs, || {
                buffer.clear();
                serde_json::to_writer(&mut buffer, black_box(&value)).ok();
                buffer.len()
            }),
        ]
    };
    times.map(|time| time.as_secs_f64())
}

/// Measures `library` in a child process (so that each library starts from a fresh heap and
/// the other's garbage does not skew the allocator), or here if that fails.
fn measure_apart(library: &str, text: &[u8], runs: usize) -> [f64; 4] {
    let child = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .arg("--only")
            .arg(library)
            .output()
    });
    if let Ok(output) = child {
        let times: Vec<f64> = String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        if let Ok(times) = <[f64; 4]>::try_from(times) {
            return times;
        }
    }
    measure(library, text, runs)
}

fn main() {
    let text = page(1_000);
    let runs = 100;
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, library] = args.as_slice()
        && flag == "--only"
    {
        let times = measure(library, &text, runs);
        println!("{}", times.map(|t| t.to_string()).join(" "));
        return;
    }
    if let Ok(path) = std::env::var("SPEED_DUMP_PAGE") {
        let _ = std::fs::write(path, &text);
    }
    let ours = integrator_json::from_slice(&text).unwrap_or_default();
    assert_eq!(
        ours.to_vec(),
        text,
        "integrator-json must write the page back unchanged"
    );

    println!(
        "page: 1,000 records, {} bytes ({} bytes/record); best of {runs} runs, each library in \
         its own process; MB/s of the page's size",
        text.len(),
        text.len() / 1_000
    );
    let ours = measure_apart("integrator-json", &text, runs);
    let theirs = measure_apart("serde_json", &text, runs);
    let mb_per_s = |seconds: f64| text.len() as f64 / seconds / 1e6;
    for ((what, ours), theirs) in MEASURES.iter().zip(ours).zip(theirs) {
        println!(
            "{what:<28} integrator-json {:>6.0} MB/s ({:>6.3} ms)   serde_json {:>6.0} MB/s ({:>6.3} ms)   {:>5.2}x",
            mb_per_s(ours),
            ours * 1e3,
            mb_per_s(theirs),
            theirs * 1e3,
            theirs / ours,
        );
    }
}
