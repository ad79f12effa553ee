//! Serving the API: open the store, make the owner account on first start, listen, shut down
//! gracefully on Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::api::{AppState, app};
use crate::extension::{Allocation, Runtime};
use crate::secrets::SecretBox;
use crate::store::Db;

/// What `integrator serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded store and key file.
    pub data_dir: PathBuf,
    /// Per-token rate limiting (off only for benchmarks).
    pub rate_limit: bool,
    /// Secret key from the environment, if configured.
    pub secret_key: Option<String>,
    /// Email of the owner account created on first start.
    pub owner_email: String,
}

/// Open the store and build the application state. Creates the owner account when the store is
/// empty and returns its token (the only time it is available).
pub fn open(config: &ServeConfig) -> anyhow::Result<(AppState, Option<String>)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let db = Db::open(&config.data_dir)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let secrets = SecretBox::load(&config.data_dir, config.secret_key.as_deref())?;
    let extensions = Runtime::new(&config.data_dir.join("components"), Allocation::Pooling)
        .context("starting the extension runtime")?;
    // Stores written before the marketplace's connector index get it now.
    let indexed = crate::marketplace::rebuild_index(&db).context("indexing the connectors")?;
    if indexed > 0 {
        tracing::info!(indexed, "indexed the connectors of the marketplace");
    }
    let state = AppState::new(db, secrets, config.rate_limit, extensions);
    // Local copies of files in transit; what a crash left there is garbage.
    let temp = config.data_dir.join("tmp");
    let _ = std::fs::remove_dir_all(&temp);
    state.adaptors.set_temp_dir(temp);
    let token = if state.auth.has_accounts()? {
        None
    } else {
        let owner = state
            .auth
            .create_account(&config.owner_email, "Owner", true)
            .context("creating the owner account")?;
        Some(owner.token)
    };
    Ok((state, token))
}

/// Serve until Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let (state, token) = open(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    if let Some(token) = token {
        // The one time the owner's token exists in plain text: printed for the operator.
        println!("API token: {token}");
    }
    println!(
        "Integrator API listening on http://{local}/v1 (data in {})",
        config.data_dir.display()
    );
    tracing::info!(%local, "listening");
    let auth = state.auth.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            auth.forget_idle_buckets();
        }
    });
    let db = state.db.clone();
    let engine = crate::flow::start(state.clone()).context("starting the job engine")?;
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    sweeper.abort();
    engine.abort();
    db.flush().context("flushing the store on shutdown")?;
    tracing::info!("stopped");
    Ok(())
}

/// Install the Ctrl-C and SIGTERM handlers at once and return what resolves on the first of
/// them. Installing them lazily (when the shutdown future is first polled) left a window after
/// the server announced itself in which SIGTERM still killed it outright.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}
