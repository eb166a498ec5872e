//! `starkroute sandbox`: the embedded sandbox as a process — its clock running at a chosen speed,
//! the StarkEx engine's ImmutableX-style REST API, and the sandbox's L1 and Starknet adapters
//! (holding Alice's demo keys) served over HTTP for `starkroute worker`s (`/v1/layers/…`), on
//! one socket.

use std::net::SocketAddr;
use std::time::Duration;

use std::collections::HashMap;
use std::sync::Arc;

use clap::Args;
use serde_json::json;
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::adapters::{SandboxL1, SandboxStarknet};
use starkroute_sandbox::world::{run_clock, starkex_router, Demo, SandboxConfig, SharedWorld};

use anyhow::{Context as _, Result};

/// Arguments of `starkroute sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Address the StarkEx REST API listens on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Simulated seconds per real second (3600: one simulated hour per second).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400 * 7))]
    speed: u64,
    /// Seconds of simulated time between StarkEx batches.
    #[arg(long, value_parser = clap::value_parser!(u64).range(60..))]
    batch_interval: Option<u64>,
    /// Seconds of simulated time between Starknet state updates on L1.
    #[arg(long, value_parser = clap::value_parser!(u64).range(60..))]
    state_update_interval: Option<u64>,
    /// Start with Alice's deposits into StarkEx made on L1: 10 ETH and 1000 USDC (picked up by
    /// the engine after its confirmations), so StarkEx clients have funds to move at once.
    #[arg(long)]
    fund_starkex: bool,
}

/// Runs the sandbox until Ctrl-C.
pub(crate) fn run(args: &SandboxArgs) -> Result<String> {
    let mut config = SandboxConfig::new();
    if let Some(b) = args.batch_interval {
        config.starkex.batch_interval_secs = b;
    }
    if let Some(s) = args.state_update_interval {
        config.starknet.state_update_interval = s;
    }
    let mut demo = Demo::with_config(config)?;
    if args.fund_starkex {
        demo.fund_alice_on_starkex(10_000_000_000_000_000_000, 1_000_000_000)?;
    }
    let mut banner = json!({
        "speed": format!("{} simulated seconds per second", args.speed),
        "alice": {
            "l1": demo.alice.l1().to_string(),
            "starkex": demo.alice.stark_key().to_string(),
            "starknet": demo.alice.starknet.to_fixed_hex_string(),
        },
        "bob": {
            "l1": demo.bob.l1().to_string(),
            "starkex": demo.bob.stark_key().to_string(),
            "starknet": demo.bob.starknet.to_fixed_hex_string(),
        },
    });
    let alice_sn =
        starkroute_types::StarknetAddress::new(demo.alice.starknet).context("demo account")?;
    let world = SharedWorld::new(demo.world);
    let l1: Arc<dyn SettlementLayer> = Arc::new(SandboxL1::new(
        world.clone(),
        HashMap::from([(demo.alice.l1(), demo.alice.eth.clone())]),
    ));
    let starknet: Arc<dyn SettlementLayer> = Arc::new(SandboxStarknet::new(
        world.clone(),
        HashMap::from([(alice_sn, demo.alice.stark.clone())]),
    ));
    let app = starkex_router(&world).merge(starkroute_layer_http::router([l1, starknet]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen: {}", args.listen))?;
        let bound = listener.local_addr().context("--listen")?;
        banner["starkex_api"] = format!("http://{bound}").into();
        banner["layers"] = format!("http://{bound}/v1/layers").into();
        println!("{banner}");
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut clock_rx = rx.clone();
        let clock = tokio::spawn(run_clock(
            world.clone(),
            args.speed,
            Duration::from_millis(100),
            async move {
                let _ = clock_rx.changed().await;
            },
        ));
        let mut server_rx = rx;
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = server_rx.changed().await;
        });
        let shutdown = async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        };
        let (served, ()) = tokio::join!(async move { server.await }, shutdown);
        served.context("server")?;
        let _ = clock.await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(json!({"stopped": true}).to_string())
}
