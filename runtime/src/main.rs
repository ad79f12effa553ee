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
        #[arg(long, env = "INTEGRATOR_OWNER_EMAIL", default_value = "owner@localhost")]
        owner_email: String,
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
        #[arg(long, env = "INTEGRATOR_SERVER", default_value = "http://127.0.0.1:7070")]
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

async fn create_account(server: &str, token: &str, email: &str, name: Option<&str>) -> anyhow::Result<()> {
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
    let body: serde_json::Value = response.json().await.context("reading the server's answer")?;
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
