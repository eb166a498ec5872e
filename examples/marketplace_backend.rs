//! A marketplace backend driving starkroute's HTTP API.
//!
//! The example starts the API in-process exactly as `starkroute serve` does — the embedded
//! sandbox (clock at `sandbox.speed`, 3600× by default), its StarkEx REST API, a SQLite store in a
//! temporary directory, the executor — on `127.0.0.1:0`, then talks to it over HTTP with
//! `reqwest`, as a backend would:
//!
//! 1. `POST /v1/quotes` with the sandbox's public demo API key (`Authorization: Bearer
//!    sr_sandbox_demo`) and the Alice→Bob gift request;
//! 2. `POST /v1/routes` with an `Idempotency-Key`, starting the route that deposits ART #7
//!    straight into Bob's StarkEx vault (and once more with the same key: the same route);
//! 3. `GET /v1/routes/{id}/events`: follows the Server-Sent Events stream, printing each event,
//!    until the route's final event ends it;
//! 4. `GET /v1/routes/{id}`: the final state of every leg.
//!
//! ```sh
//! cargo run --example marketplace_backend
//! ```

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use starkroute_executor::SystemClock;
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::SandboxStack;

/// The sandbox's documented public demo key (never valid outside the sandbox).
const API_KEY: &str = "sr_sandbox_demo";
const GIFT: &str = include_str!("requests/alice_to_bob_gift.json");
/// The whole run must finish within this much real time.
const DEADLINE: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marketplace_backend failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    // The server side: what `starkroute serve` runs, with its store in a temporary directory.
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().to_str().context("temporary directory is not UTF-8")?;
    let overrides = Overrides::new().with_env(std::env::vars()).with_flag(
        "store.data_dir",
        toml::Value::String(data_dir.into()),
        "(example)",
    );
    let config = Config::layered(None, &overrides)?;
    let stack = SandboxStack::start(&config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let api = format!("http://{}", listener.local_addr()?);
    let server =
        axum::serve(listener, stack.core.router()).with_graceful_shutdown(stack.core.stopped());
    let server = tokio::spawn(async move { server.await });
    let executor = stack.core.spawn_executor();
    let clock = stack.spawn_world_clock(config.sandbox.speed);
    println!(
        "starkroute API on {api} (sandbox clock at {}x, StarkEx API on {})",
        config.sandbox.speed, stack.starkex_url
    );

    let result = tokio::time::timeout(DEADLINE, backend(&api)).await;

    stack.core.signal_shutdown();
    let _ = executor.await;
    let _ = clock.await;
    let _ = server.await;
    stack.close().await;
    match result {
        Ok(r) => r,
        Err(_) => bail!("not done after {} s", DEADLINE.as_secs()),
    }
}

/// The backend side: plain HTTP.
async fn backend(api: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let auth = format!("Bearer {API_KEY}");

    // 1. Quote.
    let request: Value = serde_json::from_str(GIFT)?;
    let resp = http
        .post(format!("{api}/v1/quotes"))
        .header("authorization", &auth)
        .json(&request)
        .send()
        .await?;
    let quote = expect(resp, 201, "POST /v1/quotes").await?;
    let quote_id = quote["id"].as_str().context("quote id")?.to_owned();
    println!("POST /v1/quotes → {quote_id} (expires at {} ms)", quote["expires_at"]);
    let routes = quote["routes"].as_array().context("routes")?;
    for (i, r) in routes.iter().enumerate() {
        let kinds: Vec<&str> = legs(r).collect();
        println!("  route {i}: {} — fees {} wei, legs {kinds:?}", r["summary"], r["total_fee_wei"]);
    }
    for r in quote["rejected"].as_array().into_iter().flatten() {
        println!("  not taken ({}): {}", r["code"], r["reason"]);
    }
    let wanted = ["starknet_nft_withdraw", "l1_claim_from_nft_bridge", "l1_deposit_to_starkex"];
    let index = routes
        .iter()
        .position(|r| legs(r).eq(wanted))
        .context("no route deposits straight into Bob's vault")?;

    // 2. Start it, idempotently.
    let body = json!({ "quote_id": quote_id, "route_index": index });
    let idem = format!("gift-{quote_id}");
    let start = |http: &reqwest::Client| {
        http.post(format!("{api}/v1/routes"))
            .header("authorization", &auth)
            .header("idempotency-key", &idem)
            .json(&body)
            .send()
    };
    let route = expect(start(&http).await?, 201, "POST /v1/routes").await?;
    let id = route["id"].as_str().context("route id")?.to_owned();
    println!("POST /v1/routes (Idempotency-Key: {idem}) → route {id}, status {}", route["status"]);
    let again = start(&http).await?;
    let again_status = again.status().as_u16();
    let again = again.json::<Value>().await?;
    ensure!(again["id"] == route["id"], "the same key started another route: {again}");
    println!("POST /v1/routes again with the same key → {again_status}, the same route {id}");

    // 3. Follow the event stream until the route is final.
    println!("GET /v1/routes/{id}/events:");
    let mut resp = http
        .get(format!("{api}/v1/routes/{id}/events"))
        .header("authorization", &auth)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    ensure!(resp.status().as_u16() == 200, "events: {}", resp.status());
    let mut buffer = String::new();
    let mut last = String::new();
    while let Some(chunk) = resp.chunk().await? {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if let Some(kind) = print_frame(&frame)? {
                last = kind;
            }
        }
    }
    ensure!(last == "route_completed", "the stream ended after {last:?}");

    // 4. The final state.
    let resp =
        http.get(format!("{api}/v1/routes/{id}")).header("authorization", &auth).send().await?;
    let route = expect(resp, 200, "GET /v1/routes/{id}").await?;
    ensure!(route["status"] == "completed", "route status {}", route["status"]);
    for leg in route["legs"].as_array().into_iter().flatten() {
        println!("  leg {} {}: {}", leg["index"], leg["kind"], leg["status"]);
    }
    let at = &route["outcome"]["asset_at"]["position"];
    println!(
        "GET /v1/routes/{id} → {}: ART #7 is {} at {}:{} ({})",
        route["status"],
        at["holding"],
        at["holder"]["layer"],
        at["holder"]["id"],
        route["outcome"]["instructions"]
    );
    Ok(())
}

/// Prints one SSE frame (`id:`, `event:`, `data:` lines); returns its event name.
fn print_frame(frame: &str) -> Result<Option<String>> {
    let (mut id, mut event, mut data) = ("", "", String::new());
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = v.trim();
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    if event.is_empty() && data.is_empty() {
        return Ok(None); // a keep-alive comment
    }
    let v: Value = serde_json::from_str(&data).unwrap_or(Value::String(data.clone()));
    let detail = v.get("data").unwrap_or(&v);
    let leg = detail.get("leg").map(|l| format!("leg {l} ")).unwrap_or_default();
    println!("  id {id:>2} {event:<24} {leg}{}", compact(detail));
    Ok(Some(event.to_owned()))
}

fn compact(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("payload"); // the exact prepared transaction: long, and in GET /v1/routes/{id}
    }
    let mut s = v.to_string();
    if s.len() > 140 {
        s.truncate(s.char_indices().nth(137).map_or(s.len(), |(i, _)| i));
        s.push('…');
    }
    s
}

fn legs(route: &Value) -> impl Iterator<Item = &str> {
    route["legs"].as_array().into_iter().flatten().filter_map(|l| l["kind"].as_str())
}

async fn expect(resp: reqwest::Response, status: u16, what: &str) -> Result<Value> {
    let got = resp.status().as_u16();
    let body = resp.text().await?;
    if got != status {
        bail!("{what}: expected {status}, got {got}: {body}");
    }
    Ok(serde_json::from_str(&body)?)
}
