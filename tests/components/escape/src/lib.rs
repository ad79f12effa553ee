//! Hostile fixture: `escape` tries every way out of the sandbox a guest might try — files,
//! environment variables, TCP/UDP sockets, name lookups, stdout/stderr — and reports, for each,
//! `"allowed: ..."` or `"denied: <error>"`. `fetch` sends an outbound HTTP GET to
//! `configuration.url` (allowed to wrappers only, and only to their allowed hosts): as a wrapper
//! export and as a hook.

use std::io::Read;

use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};
use integrator_sdk::wrapper::{ExportOptions, ExportResponse};
use integrator_sdk::{Result, Value, http, json};

fn report<T: std::fmt::Debug, E: std::fmt::Display>(outcome: std::result::Result<T, E>) -> Value {
    match outcome {
        Ok(value) => json!(format!("allowed: {value:?}")),
        Err(e) => json!(format!("denied: {e}")),
    }
}

fn escape(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let config = &options.common.configuration;
    let addr = config["addr"].as_str().unwrap_or("127.0.0.1:9").to_owned();
    println!("ESCAPE-STDOUT-MARKER");
    eprintln!("ESCAPE-STDERR-MARKER");
    let env: Vec<(String, String)> = std::env::vars().collect();
    let found = json!({
        "readDir": report(std::fs::read_dir("/").map(|d| d.count())),
        "readFile": report(std::fs::File::open("/etc/passwd").and_then(|mut f| {
            let mut text = String::new();
            f.read_to_string(&mut text).map(|_| text.len())
        })),
        "writeFile": report(std::fs::write("escaped.txt", b"out")),
        "env": if env.is_empty() { json!("denied: empty") } else { json!(format!("allowed: {env:?}")) },
        "tcp": report(std::net::TcpStream::connect(&addr)),
        "udp": report(std::net::UdpSocket::bind("127.0.0.1:0")),
        "dns": report(std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80)).map(|a| a.count())),
    });
    Ok(PreSavePageResponse {
        data: vec![found],
        ..Default::default()
    })
}

fn get(url: &str) -> Value {
    match http::Request::get(url).send() {
        Ok(response) => json!({
            "status": response.status,
            "body": String::from_utf8_lossy(&response.body),
        }),
        Err(e) => json!({ "error": e }),
    }
}

fn fetch_export(options: ExportOptions) -> Result<ExportResponse> {
    let url = options.common.configuration["url"]
        .as_str()
        .unwrap_or_default();
    Ok(ExportResponse {
        data: vec![get(url)],
        last_page: true,
        ..Default::default()
    })
}

fn fetch_hook(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let url = options.common.configuration["url"]
        .as_str()
        .unwrap_or_default();
    Ok(PreSavePageResponse {
        data: vec![get(url)],
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "escape" => escape, "fetch" => fetch_hook },
    wrapper_export: { "fetch" => fetch_export },
}
