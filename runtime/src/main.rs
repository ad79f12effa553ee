//! `integrator`: serve the API, or manage accounts of a running server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use integrator::server::{ServeConfig, serve};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Integrator runtime.
#[derive(Parser)]
#[command(name = "integrator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Integrator REST API with the embedded store.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "INTEGRATOR_LISTEN", default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
        /// Directory of the embedded store.
        #[arg(long, env = "INTEGRATOR_DATA_DIR", default_value = "./integrator-data")]
        data_dir: PathBuf,
        /// Turn the per-token rate limit off (benchmarks only).
        #[arg(long)]
        no_rate_limit: bool,
        /// Email of the owner account created on the first start.
        #[arg(
            long,
            env = "INTEGRATOR_OWNER_EMAIL",
            default_value = "owner@localhost"
        )]
        owner_email: String,
    },
    /// Run one function of a component locally, without a server, and print its result.
    /// Platform API requests from the function answer 503 in this mode.
    Invoke {
        /// The component (`.wasm`, built for wasm32-wasip2).
        component: PathBuf,
        /// Kind of function (`preSavePage`, `preMap`, `ping`, `installer`, `formInit`, …).
        #[arg(long)]
        kind: String,
        /// The function's name.
        #[arg(long)]
        function: String,
        /// A JSON file with the options object (default `{}`).
        #[arg(long)]
        options: Option<PathBuf>,
        /// Memory limit in MiB.
        #[arg(long, default_value_t = 64)]
        memory_mib: u64,
        /// Deadline in seconds.
        #[arg(long, default_value_t = 60)]
        timeout_seconds: u64,
        /// Fuel for a deterministic run.
        #[arg(long)]
        fuel: Option<u64>,
    },
    /// Manage accounts of a running server.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Create an account; prints its id and API token (shown only this once).
    Create {
        /// Email of the new account.
        #[arg(long)]
        email: String,
        /// Display name (defaults to the email).
        #[arg(long)]
        name: Option<String>,
        /// Base URL of the server.
        #[arg(
            long,
            env = "INTEGRATOR_SERVER",
            default_value = "http://127.0.0.1:7070"
        )]
        server: String,
        /// The owner account's API token.
        #[arg(long, env = "INTEGRATOR_TOKEN")]
        token: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            data_dir,
            no_rate_limit,
            owner_email,
        } => {
            serve(ServeConfig {
                listen,
                data_dir,
                rate_limit: !no_rate_limit,
                secret_key: std::env::var("INTEGRATOR_SECRET_KEY").ok(),
                owner_email,
            })
            .await
        }
        Command::Invoke {
            component,
            kind,
            function,
            options,
            memory_mib,
            timeout_seconds,
            fuel,
        } => {
            let limits = integrator::extension::StackLimits {
                memory_bytes: (memory_mib as usize) << 20,
                timeout_ms: timeout_seconds * 1000,
                fuel,
                ..Default::default()
            };
            let ok = invoke(&component, &kind, &function, options.as_deref(), limits).await?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Accounts {
            command:
                AccountsCommand::Create {
                    email,
                    name,
                    server,
                    token,
                },
        } => create_account(&server, &token, &email, name.as_deref()).await,
    }
}

/// Run one call locally; prints `{"result","logs"}` or `{"errors"}`. Returns whether it succeeded.
async fn invoke(
    component: &std::path::Path,
    kind: &str,
    function: &str,
    options: Option<&std::path::Path>,
    limits: integrator::extension::StackLimits,
) -> anyhow::Result<bool> {
    use integrator::extension::{Allocation, FunctionKind, Runtime};
    let Some(kind) = FunctionKind::parse(kind) else {
        bail!(
            "unknown kind '{kind}'; valid kinds: {}",
            FunctionKind::names()
        );
    };
    let options: serde_json::Value = match options {
        Some(path) => {
            let text =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_slice(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?
        }
        None => serde_json::json!({}),
    };
    let bytes =
        std::fs::read(component).with_context(|| format!("reading {}", component.display()))?;
    let cache = std::env::temp_dir().join("integrator-invoke-cache");
    let runtime = Runtime::new(&cache, Allocation::OnDemand)?;
    let loaded = match runtime.upload(bytes).await {
        Ok(loaded) => loaded,
        Err(e) => bail!("{}: {e}", component.display()),
    };
    let (result, logs) = runtime
        .call(
            &loaded,
            kind,
            function,
            &options,
            &limits,
            Default::default(),
        )
        .await;
    let result = result.and_then(integrator::extension::Output::into_value);
    let (ok, output) = match result {
        Ok(value) => (true, serde_json::json!({ "result": value, "logs": logs })),
        Err(e) => (
            false,
            serde_json::json!({ "errors": [{ "code": e.code(), "message": e.to_string() }], "logs": logs }),
        ),
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(ok)
}

async fn create_account(
    server: &str,
    token: &str,
    email: &str,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let mut body = serde_json::json!({ "email": email });
    if let Some(name) = name {
        body["name"] = name.into();
    }
    let url = format!("{}/v1/accounts", server.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("sending POST {url}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("reading the server's answer")?;
    if !status.is_success() {
        let messages: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str())
            .collect();
        bail!("the server refused ({status}): {}", messages.join("; "));
    }
    println!("account: {}", body["_id"].as_str().unwrap_or_default());
    println!("email: {}", body["email"].as_str().unwrap_or_default());
    println!("API token: {}", body["token"].as_str().unwrap_or_default());
    Ok(())
}
