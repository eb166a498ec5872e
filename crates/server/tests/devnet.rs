//! `starkroute serve --config config/devnet.toml` on real nodes: the devnet stack deploys on a
//! fresh anvil and starknet-devnet, the API quotes the Alice→Bob gift over the deployed
//! addresses, and the direct route (NFT bridge withdraw → L1 claim → deposit into Bob's StarkEx
//! vault) completes through the API, every leg final. Needs anvil and starknet-devnet
//! (`.ci/run` installs both): `cargo test -p starkroute-server --test devnet`.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

#[path = "../../ethereum/tests/anvil/harness.rs"]
#[allow(dead_code)]
mod anvil_harness;
#[path = "../../starknet/tests/devnet/harness.rs"]
#[allow(dead_code)]
mod devnet_harness;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use starkroute_executor::SystemClock;
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::DevnetStack;

const DEMO: &str = "sr_sandbox_demo";

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_on_devnet_quotes_and_completes_the_gift() {
    let anvil = anvil_harness::Anvil::start().await;
    let devnet = devnet_harness::Devnet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/devnet.toml");
    let overrides = Overrides::new()
        .with_flag("network.l1_rpc_url", s(&anvil.url), "test")
        .with_flag("network.starknet_rpc_url", s(&devnet.url), "test")
        .with_flag("store.data_dir", s(dir.path().to_str().unwrap()), "test")
        .with_flag("sandbox.starkex_listen", s("127.0.0.1:0"), "test");
    let config = Config::layered(Some(&file), &overrides).unwrap();
    let network = config.network.clone().unwrap();
    let stack = DevnetStack::start(&config, &network, Arc::new(SystemClock)).await.unwrap();
    let executor = stack.core.spawn_executor();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serve =
        axum::serve(listener, stack.core.router()).with_graceful_shutdown(stack.core.stopped());
    let server = tokio::spawn(async move { serve.await });
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut r = http.request(method, format!("{base}{path}")).bearer_auth(DEMO);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };

    // The assets include the deployed USDC and ART at their live addresses.
    let (st, assets) = call(reqwest::Method::GET, "/v1/assets", None).await;
    assert!(st.is_success(), "{assets}");
    let d = &stack.dev.deployment;
    let art = assets["assets"].as_array().unwrap().iter().find(|a| a["symbol"] == "ART").unwrap();
    assert_eq!(art["l1"].as_str().unwrap().to_lowercase(), format!("{:#x}", d.art.l1), "{art}");

    let (alice, bob) = (&stack.alice, &stack.bob);
    let request = json!({
        "asset": { "token": "ART", "token_id": "7" },
        "from": "starknet",
        "to": "starkex",
        "sender": {
            "l1": alice.l1.to_string(),
            "starkex": alice.stark_key.to_string(),
            "starknet": alice.starknet.to_string(),
        },
        "recipient": { "starkex": bob.stark_key.to_string() },
        "objective": "fastest",
    });
    let (st, quote) = call(reqwest::Method::POST, "/v1/quotes", Some(request)).await;
    assert!(st.is_success(), "{quote}");
    let routes = quote["routes"].as_array().unwrap();
    let kinds = |r: &Value| -> Vec<String> {
        r["legs"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap().into()).collect()
    };
    let direct = routes
        .iter()
        .position(|r| {
            kinds(r)
                == ["starknet_nft_withdraw", "l1_claim_from_nft_bridge", "l1_deposit_to_starkex"]
        })
        .unwrap_or_else(|| panic!("no direct route in {quote}"));

    let body = json!({ "quote_id": quote["id"], "route_index": direct });
    let (st, started) = call(reqwest::Method::POST, "/v1/routes", Some(body)).await;
    assert_eq!(st, reqwest::StatusCode::CREATED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let start = Instant::now();
    let done = loop {
        let (_, r) = call(reqwest::Method::GET, &format!("/v1/routes/{id}"), None).await;
        if r["status"] == "completed" || r["status"] == "failed" {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "not done after 3 minutes: {r}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["legs"].as_array().unwrap().iter().all(|l| l["status"] == "final_on_l1"),
        "{done}"
    );

    stack.core.signal_shutdown();
    let _ = executor.await;
    let _ = server.await;
    stack.close().await;
}
