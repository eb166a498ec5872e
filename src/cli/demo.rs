//! `starkroute demo`'s walk: the Alice→Bob gift through the same stack `starkroute serve` runs —
//! the embedded sandbox, the production adapters (the StarkEx one over the sandbox's REST API),
//! a SQLite store in a temporary directory and the executor — printing each leg's events as the
//! executor commits them.

use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use starkroute_executor::{RouteOrder, SystemClock};
use starkroute_planner::Plans;
use starkroute_sdk::format::format_duration;
use starkroute_server::config::Config;
use starkroute_server::stack::SandboxStack;
use starkroute_store::{RouteId, RouteStore as _, TenantId};
use starkroute_types::{LegKind, RouteStatus};

/// The route the demo runs: NFT bridge withdraw, L1 claim, deposit straight into Bob's vault.
const GIFT_LEGS: [LegKind; 3] =
    [LegKind::StarknetNftWithdraw, LegKind::L1ClaimFromNftBridge, LegKind::L1DepositToStarkEx];

/// Runs the gift's shorter StarkEx route to completion, printing as it goes.
pub(crate) fn walk(plans: &Plans) -> Result<String> {
    let route = plans
        .routes
        .iter()
        .find(|r| r.legs.iter().map(|l| l.kind).eq(GIFT_LEGS))
        .ok_or_else(|| anyhow!("the quote has no route straight into Bob's vault"))?
        .clone();
    let order = RouteOrder { asset: plans.asset.clone(), amount: plans.amount };
    let dir = tempfile::tempdir().context("temporary directory")?;
    let mut config = Config::sandbox()?;
    config.store.data_dir = dir.path().to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        let stack = SandboxStack::start(&config, Arc::new(SystemClock)).await?;
        let mut events = stack.core.executor.subscribe();
        let driving = stack.core.spawn_executor();
        let clock = stack.spawn_world_clock(config.sandbox.speed);
        let start = stack.world.lock().now();
        println!(
            "\nRunning it through the executor on the sandbox ({}× real time): {}",
            config.sandbox.speed, route.summary
        );
        let tenant = TenantId::new("demo")?;
        let rec = stack
            .core.executor
            .create_route(&tenant, None, &route, &order)
            .await
            .context("starting the route")?;
        let mut status = rec.status;
        while !status.is_terminal() {
            let event = match tokio::time::timeout(std::time::Duration::from_secs(120), events.recv())
                .await
            {
                Ok(Ok(e)) => e,
                // A lagging subscriber re-reads the route from the store.
                Ok(Err(_)) => {
                    status = route_status(&stack, &tenant, &rec.id).await?;
                    continue;
                }
                Err(_) => return Err(anyhow!("the route made no progress for 2 minutes")),
            };
            if event.route != rec.id {
                continue;
            }
            let at = stack.world.lock().now().saturating_sub(start);
            let leg = event.data.get("leg").and_then(serde_json::Value::as_u64);
            let what = match leg.and_then(|i| route.legs.get(usize::try_from(i).ok()?)) {
                Some(l) => format!("leg {} {:<26} {}", l.index, l.kind.as_str(), event.kind),
                None => event.kind.clone(),
            };
            println!("  [+{:>7}] {what}", format_duration(at));
            status = match event.kind.as_str() {
                "route_completed" => RouteStatus::Completed,
                "route_failed" => RouteStatus::Failed,
                "route_cancelled" => RouteStatus::Cancelled,
                _ => status,
            };
        }
        stack.core.signal_shutdown();
        let _ = driving.await;
        let _ = clock.await;
        let conserved = stack.world.lock().check_conservation();
        let outcome = route_status(&stack, &tenant, &rec.id).await?;
        stack.close().await;
        conserved.context("conservation")?;
        match outcome {
            RouteStatus::Completed => Ok(format!(
                "Done: route {} completed; ART #7 is in Bob's StarkEx vault; conservation holds on every layer.",
                rec.id
            )),
            other => Err(anyhow!("route {} ended {other:?}", rec.id)),
        }
    })
}

/// The route's status as stored.
async fn route_status(
    stack: &SandboxStack,
    tenant: &TenantId,
    id: &RouteId,
) -> Result<RouteStatus> {
    let rec = stack.core.store.get_route(tenant, id).await?;
    rec.map(|r| r.status).ok_or_else(|| anyhow!("route {id} vanished"))
}
