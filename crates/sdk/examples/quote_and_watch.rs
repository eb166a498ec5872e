//! Quote the Alice→Bob gift on a running starkroute server, start its best route that deposits
//! into Bob's StarkEx vault, and follow its events to the end.
//!
//! Start a server first (`cargo run -- serve`), then, from the repository's root:
//!
//! ```text
//! cargo run -p starkroute-sdk --example quote_and_watch [REQUEST.json]
//! ```
//!
//! The quote request is read from `REQUEST.json` (default
//! `examples/requests/alice_to_bob_gift.json`). `STARKROUTE_URL` (default `http://127.0.0.1:8080`) and `STARKROUTE_API_KEY` (default the
//! sandbox's public demo key) say which server and tenant.

use futures_util::StreamExt;
use starkroute_sdk::{Client, QuoteRequest, RouteStatus};

/// The request the example quotes when no file is named.
const DEFAULT_REQUEST: &str = "examples/requests/alice_to_bob_gift.json";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("STARKROUTE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("STARKROUTE_API_KEY").unwrap_or_else(|_| "sr_sandbox_demo".into());
    let client = Client::new(&url, key)?;

    let path = std::env::args().nth(1).unwrap_or_else(|| DEFAULT_REQUEST.into());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading the quote request {path}: {e}"))?;
    let request: QuoteRequest = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("the quote request {path}: {e}"))?;
    let quote = client.quote(&request).await?;
    println!("quote {} (expires at {} ms)", quote.id, quote.expires_at);
    for (i, r) in quote.plans.routes.iter().enumerate() {
        println!(
            "  route {i}: {} — {} legs, {}–{} s, fees {} wei",
            r.summary,
            r.legs.len(),
            r.eta.min_secs,
            r.eta.max_secs,
            r.total_fee_wei
        );
    }
    for r in &quote.plans.rejected {
        println!("  not taken: {} ({})", r.path, r.reason);
    }
    let index = quote
        .plans
        .routes
        .iter()
        .position(|r| r.destination.layer == starkroute_types::Layer::StarkEx)
        .ok_or_else(|| anyhow::anyhow!("no route ends on StarkEx"))?;
    let index = u16::try_from(index)?;
    // The idempotency key makes a retried start return the same route.
    let route = client.start(&quote.id, index, Some(&format!("example-{}", quote.id))).await?;
    println!("route {} started ({:?})", route.id, route.status);

    let mut events = std::pin::pin!(client.watch(&route.id, None));
    while let Some(event) = events.next().await {
        let event = event?;
        let leg = event.leg().map(|l| format!(" leg {l}")).unwrap_or_default();
        println!("  #{:<3} {}{leg}", event.seq, event.kind);
    }
    let done = client.route(&route.id).await?;
    match (&done.status, &done.outcome) {
        (RouteStatus::Completed, _) => println!("completed"),
        (status, Some(o)) => println!("{status:?}: {} — {}", o.result, o.instructions),
        (status, None) => println!("{status:?}"),
    }
    Ok(())
}
