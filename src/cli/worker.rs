//! `starkroute worker`: one executor instance. With `--layers URL` it holds no keys and drives
//! the routes of a store through the settlement-layer adapters another process serves over HTTP
//! (`starkroute_layer_http`); with `--config FILE` naming a network it builds the production
//! adapters itself through the same generic stack as `serve` (keys from `[signers]`, `doctor`'s
//! checks first, refusing to start on a failure). Several workers (on a PostgreSQL store, or one
//! SQLite file on one machine) share the routes by leasing them; a worker killed at any point
//! leaves every route resumable by the next one.
//! Each worker also delivers the store's webhooks (the outbox is leased the same way), unless
//! `--no-webhooks`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::json;
use starkroute_executor::{Backoff, Executor, ExecutorConfig, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_layer_http::{LayerToken, RemoteLayer};
use starkroute_server::config::{Config, Overrides, WebhookSettings};
use starkroute_server::stack::network::NetworkLayers;
use starkroute_server::webhooks::{WebhookMetrics, WebhookWorker};
use starkroute_store::{GroupCommit, LeaseOwner};
use starkroute_types::Layer;

use anyhow::{anyhow, Context as _, Result};

use super::shutdown_signal;

/// Arguments of `starkroute worker`. `Debug` shows the database URL redacted (it may carry a
/// password).
#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// The route store: `postgres://…`, `sqlite://PATH` or a file path.
    #[arg(long, env = "STARKROUTE_DATABASE_URL", default_value = ".starkroute/starkroute.db")]
    database: String,
    /// Base URL of the server of the settlement-layer adapters (e.g. `http://127.0.0.1:7070`).
    #[arg(long, value_name = "URL", required_unless_present = "config", conflicts_with = "config")]
    layers: Option<String>,
    /// A network file (`[network]` endpoints and contracts, `[signers]` keys): build the
    /// production adapters from it, as `serve --config FILE` does, after the same `doctor`
    /// checks (refusing to start on a failure). Its `STARKROUTE_NETWORK__…` variables apply.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// This instance's name in route leases; unique among running instances.
    #[arg(long)]
    owner: String,
    /// Milliseconds between status polls of a submitted leg, and between idle looks for work.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    poll_interval_ms: u64,
    /// Milliseconds a lease on a route lasts before another instance may take the route over.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..=86_400_000))]
    lease_ms: u64,
    /// First retry delay after a retryable error, in milliseconds (doubling up to the cap).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    backoff_initial_ms: u64,
    /// Cap of the retry delay, in milliseconds.
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    backoff_max_ms: u64,
    /// The keeper's escape hatch: seconds after which a StarkEx withdrawal the operator has not
    /// served ends its route and starts `fullWithdrawalRequest` → `freezeRequest` → `escape`
    /// for the vault. Freezing stops the exchange for everyone: off unless given.
    #[arg(long, value_parser = clap::value_parser!(u64).range(60..))]
    escape_after_secs: Option<u64>,
    /// Routes driven side by side; their store writes share durable commits (group commit).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    drivers: u32,
    /// Do not deliver webhooks from this instance.
    #[arg(long)]
    no_webhooks: bool,
    /// Deliver webhooks to endpoints on loopback, private and link-local addresses too (off:
    /// such endpoints are refused, the SSRF guard).
    #[arg(long)]
    webhooks_allow_private_targets: bool,
    /// Milliseconds a leased webhook delivery stays with this instance before another may send
    /// it (at least twice `--webhooks-timeout-ms`).
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..=86_400_000))]
    webhooks_lease_ms: u64,
    /// Connect and response timeout of a webhook delivery, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    webhooks_timeout_ms: u64,
    /// Connections in the PostgreSQL pool.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    max_connections: u32,
    /// A file holding the layer service's token (else `STARKROUTE_LAYERS_TOKEN`; never a flag).
    #[arg(long, value_name = "FILE", env = "STARKROUTE_LAYERS_TOKEN_FILE")]
    layers_token_file: Option<std::path::PathBuf>,
}

/// The layer service's token: from `--layers-token-file` (or `STARKROUTE_LAYERS_TOKEN_FILE`),
/// else from `STARKROUTE_LAYERS_TOKEN`, else none. The error names where it came from and never
/// shows the token.
pub(crate) fn layers_token(file: Option<&std::path::Path>) -> Result<Option<LayerToken>> {
    match file {
        Some(path) => LayerToken::from_file(path).map(Some).context("--layers-token-file"),
        None => LayerToken::from_env().context(starkroute_layer_http::TOKEN_ENV),
    }
}

impl std::fmt::Debug for WorkerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = if self.database.contains("://") {
            starkroute_server::config::redact_url(&self.database)
        } else {
            self.database.clone()
        };
        f.debug_struct("WorkerArgs")
            .field("database", &database)
            .field("layers", &self.layers.as_deref().map(starkroute_server::config::redact_url))
            .field("config", &self.config)
            .field("owner", &self.owner)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("lease_ms", &self.lease_ms)
            .field("backoff_initial_ms", &self.backoff_initial_ms)
            .field("backoff_max_ms", &self.backoff_max_ms)
            .field("escape_after_secs", &self.escape_after_secs)
            .field("drivers", &self.drivers)
            .field("no_webhooks", &self.no_webhooks)
            .field("webhooks_allow_private_targets", &self.webhooks_allow_private_targets)
            .field("webhooks_lease_ms", &self.webhooks_lease_ms)
            .field("webhooks_timeout_ms", &self.webhooks_timeout_ms)
            .field("max_connections", &self.max_connections)
            .field("layers_token_file", &self.layers_token_file)
            .finish()
    }
}

/// The layers another process serves at `url`.
async fn remote_layers(
    url: &str,
    token: Option<&LayerToken>,
    owner: &LeaseOwner,
) -> Result<(Vec<Layer>, Vec<Arc<dyn SettlementLayer>>)> {
    let served = RemoteLayer::served(url, token).await.context("--layers")?;
    let mut layers: Vec<Arc<dyn SettlementLayer>> = Vec::with_capacity(served.len());
    for layer in &served {
        let remote = RemoteLayer::new(url, *layer, owner.as_str())
            .context("--layers")?
            .with_token(token.cloned());
        layers.push(Arc::new(remote));
    }
    Ok((served, layers))
}

/// The production adapters over the network `file` names, after `doctor`'s checks (each
/// failure printed on stderr as `doctor` prints it, then refused).
async fn network_layers(
    file: &std::path::Path,
) -> Result<(Vec<Layer>, Vec<Arc<dyn SettlementLayer>>)> {
    let overrides = Overrides::new().with_env(std::env::vars());
    let config = Config::layered(Some(file), &overrides)?;
    let Some(network) = config.network.clone() else {
        return Err(anyhow!(
            "--config {}: no [network] section: a worker runs a configured network's adapters \
             (the embedded sandbox runs inside `serve`)",
            file.display()
        ));
    };
    if network.name == "devnet" && network.starkex.core.is_none() {
        return Err(anyhow!(
            "--config {}: this file deploys a fresh devnet at start; run the network file it \
             writes (`serve --config` prints it) instead",
            file.display()
        ));
    }
    let signers = config
        .signers
        .load(&config.base_dir, super::keys::permission_policy()?)
        .context("signers")?;
    let report = starkroute_server::doctor::check(&config, &signers).await;
    if !report.ok() {
        for line in report.failures() {
            eprintln!("{line}");
        }
        return Err(anyhow!(
            "worker: refusing to start: {} of the network's checks failed (see above; \
             `starkroute doctor --config FILE` runs them alone)",
            report.failures().len()
        ));
    }
    let built = NetworkLayers::build(&config, &network, &signers).await?;
    let served = built.layers.iter().map(|l| l.layer()).collect();
    Ok((served, built.layers))
}

/// Runs the worker until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &WorkerArgs) -> Result<String> {
    let owner = LeaseOwner::new(args.owner.clone()).context("--owner")?;
    if args.backoff_max_ms < args.backoff_initial_ms {
        return Err(anyhow!("--backoff-max-ms: smaller than --backoff-initial-ms"));
    }
    let config = ExecutorConfig {
        lease_duration: Duration::from_millis(args.lease_ms),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        backoff: Backoff {
            initial: Duration::from_millis(args.backoff_initial_ms),
            max: Duration::from_millis(args.backoff_max_ms),
            ..Backoff::default()
        },
        escape_after: args.escape_after_secs.map(Duration::from_secs),
        ..ExecutorConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let token = layers_token(args.layers_token_file.as_deref())?;
    runtime.block_on(async move {
        let (store, webhook_store) =
            starkroute_store::connect_with_webhooks(&args.database, args.max_connections)
                .await
                .context("--database")?;
        let store = Arc::new(GroupCommit::new(store, GroupCommit::MAX_BATCH));
        let (served, layers) = match (&args.config, &args.layers) {
            (Some(file), _) => network_layers(file).await?,
            (None, Some(url)) => remote_layers(url, token.as_ref(), &owner).await?,
            (None, None) => return Err(anyhow!("give --layers URL or --config FILE")),
        };
        let executor = Executor::new(store, layers, owner.clone(), config, Arc::new(SystemClock));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let webhooks = if args.no_webhooks {
            None
        } else {
            let settings = WebhookSettings {
                allow_private_targets: args.webhooks_allow_private_targets,
                lease_ms: args.webhooks_lease_ms,
                connect_timeout_ms: args.webhooks_timeout_ms,
                response_timeout_ms: args.webhooks_timeout_ms,
                ..WebhookSettings::default()
            };
            settings
                .validate()
                .map_err(|e| anyhow!("--webhooks-lease-ms / --webhooks-timeout-ms: {e}"))?;
            let hooks_owner =
                LeaseOwner::new(format!("{}-webhooks", owner.as_str())).context("--owner")?;
            let worker = WebhookWorker::new(
                webhook_store,
                &settings,
                hooks_owner,
                Arc::new(SystemClock),
                Arc::new(WebhookMetrics::default()),
            )
            .context("the webhook HTTP client")?;
            let stop = stopped();
            Some(tokio::spawn(async move { worker.run(stop).await }))
        };
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        println!(
            "{}",
            json!({ "worker": owner.as_str(), "layers": served, "webhooks": webhooks.is_some() })
        );
        executor.run_concurrently(args.drivers as usize, stopped()).await;
        if let Some(w) = webhooks {
            w.await.context("the webhook worker")?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(json!({ "stopped": args.owner }).to_string())
}
