//! `starkroute serve`: the HTTP API over the stack the configuration names (the embedded sandbox
//! by default, local nodes it deploys on with `config/devnet.toml`, or any network whose
//! endpoints and contracts its `[network]` names — after `doctor`'s checks pass), until
//! SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use serde_json::json;
use starkroute_server::api::SANDBOX_DEMO_KEY;
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::Stack;

use super::shutdown_signal;

/// Arguments of `starkroute serve`. Flags override the configuration file and the
/// `STARKROUTE_*` environment variables.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Configuration file (default: the embedded config/sandbox.toml).
    #[arg(long, env = "STARKROUTE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address the API listens on [config: api.listen; default 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of the SQLite store [config: store.data_dir; default ./.starkroute].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Simulated seconds per real second of the sandbox's clock [config: sandbox.speed].
    #[arg(long)]
    speed: Option<u64>,
}

/// The configuration `serve` runs with: file, then environment, then flags.
fn load_config(args: &ServeArgs) -> Result<Config> {
    let mut overrides = Overrides::new().with_env(std::env::vars());
    if let Some(l) = args.listen {
        overrides =
            overrides.with_flag("api.listen", toml::Value::String(l.to_string()), "--listen");
    }
    if let Some(d) = &args.data_dir {
        let d = d.to_str().ok_or_else(|| anyhow!("--data-dir: not UTF-8"))?;
        overrides =
            overrides.with_flag("store.data_dir", toml::Value::String(d.into()), "--data-dir");
    }
    if let Some(s) = args.speed {
        let s = i64::try_from(s).map_err(|_| anyhow!("--speed: too large"))?;
        overrides = overrides.with_flag("sandbox.speed", toml::Value::Integer(s), "--speed");
    }
    Ok(Config::layered(args.config.as_deref(), &overrides)?)
}

/// Runs `starkroute serve` until SIGINT/SIGTERM.
pub(crate) fn run(args: &ServeArgs) -> Result<String> {
    let config = load_config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.api.listen)
            .await
            .with_context(|| format!("api.listen: {}", config.api.listen))?;
        let bound = listener.local_addr().context("api.listen")?;
        let stack = match Stack::start_with(&config, super::keys::permission_policy()?).await {
            Ok(s) => s,
            Err(starkroute_server::Error::Doctor { failures }) => {
                // One line per failed check, as `starkroute doctor` prints them.
                for line in &failures {
                    eprintln!("{line}");
                }
                anyhow::bail!(
                    "serve: refusing to start: {} of the network's checks failed (see above; \
                     `starkroute doctor --config FILE` runs them alone)",
                    failures.len()
                );
            }
            Err(e) => return Err(e.into()),
        };
        let loops = stack.spawn(&config);
        let mut banner = json!({
            "api": format!("http://{bound}"),
            "openapi": format!("http://{bound}/openapi.json"),
            "data_dir": config.data_dir().display().to_string(),
        });
        if let (Some(b), serde_json::Value::Object(more)) =
            (banner.as_object_mut(), stack.describe(&config))
        {
            b.extend(more);
        }
        // The sandbox's demo key is public (documented); any other key is never printed.
        if stack.core().state.tenants().knows(SANDBOX_DEMO_KEY).is_some() {
            banner["api_key"] = json!(SANDBOX_DEMO_KEY);
            banner["try"] = json!(format!(
                "curl -s -H 'Authorization: Bearer {SANDBOX_DEMO_KEY}' http://{bound}/v1/assets"
            ));
        }
        println!("{banner}");
        let server = starkroute_server::serve::serve(
            listener,
            stack.core().router(),
            std::time::Duration::from_millis(config.api.header_timeout_ms),
            stack.core().stopped(),
        );
        let mut server = tokio::spawn(async move {
            server.await;
            Ok::<(), std::io::Error>(())
        });
        let early = tokio::select! {
            () = shutdown_signal() => None,
            r = &mut server => Some(r),
        };
        eprintln!("starkroute serve: shutting down (finishing the current step)");
        stack.core().signal_shutdown();
        let served = match early {
            Some(r) => r,
            None => server.await,
        };
        for l in loops {
            let _ = l.await;
        }
        stack.close().await;
        served.context("server")?.context("server")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(json!({ "stopped": true, "resumable": "every route's state is in the store" }).to_string())
}
