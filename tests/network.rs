//! `starkroute serve --config FILE` on a network it did not set up: a fixture deploys the
//! contracts on a fresh anvil + starknet-devnet with the existing deployment code (its own step,
//! in this process, which then runs the engine as the StarkEx operator), writes a network file
//! and keystores, and then
//!
//! - `starkroute doctor --config FILE` passes on that file and refuses deliberately wrong copies
//!   of it, each with its exact line: a wrong chain id, an address with no code, a bridge whose
//!   counterpart differs, an unreachable node, an unfunded account; `serve` refuses the wrong
//!   chain id with the same line;
//! - `starkroute serve --config FILE` runs as a separate process — the generic network stack
//!   only, serving the API alone (`executor.enabled = false`) — and `starkroute worker --config
//!   FILE` as another, on the same SQLite store, building the same adapters (it refuses a wrong
//!   file with doctor's line first); through the API they complete the Alice→Bob gift, then the
//!   StarkEx → Starknet USDC route (a deposit into Alice's StarkEx vault, then withdrawal → L1
//!   claim → StarkGate deposit to Bob's Starknet account, minted on devnet);
//! - live fees: a quote's L1 gas is `eth_feeHistory`'s next base fee plus the highest 50th
//!   percentile reward at the block it names, and follows `anvil_setNextBlockBaseFeePerGas`;
//!   StarkGate's message fee is the bridge's `estimateDepositFeeWei()`; Starknet gas is the
//!   block header's L2 gas price; once anvil is stopped and the last reading is older than
//!   `network.fees.max_age_secs`, quotes and route starts are refused with a 503 naming `l1`,
//!   and `/metrics` counts the failed refreshes.
//!
//! Needs anvil and starknet-devnet (`.ci/run` installs both): `cargo test --test network`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

#[path = "../crates/ethereum/tests/anvil/harness.rs"]
#[allow(dead_code)]
mod anvil_harness;
#[path = "../crates/starknet/tests/devnet/harness.rs"]
#[allow(dead_code)]
mod devnet_harness;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::Provider as _;
use serde_json::{json, Value};
use starkroute_keys::{KeyKind, Password, PrivateKey, ScryptParams};
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::devnet::provision;

const DEMO: &str = "sr_sandbox_demo";

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.into())
}

fn starkroute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(args)
        .env_remove("STARKROUTE_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A copy of the network file beside it (so its relative key paths hold), edited by `edit`.
fn variant(file: &Path, name: &str, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let mut t: toml::Table = toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    edit(&mut t);
    let path = file.with_file_name(name);
    std::fs::write(&path, toml::to_string(&t).unwrap()).unwrap();
    path
}

fn table<'a>(t: &'a mut toml::Table, path: &[&str]) -> &'a mut toml::Table {
    let mut at = t;
    for p in path {
        at = at.get_mut(*p).and_then(toml::Value::as_table_mut).unwrap();
    }
    at
}

/// `doctor`'s refusal: exit code 1, and the FAIL lines it printed.
fn refused(file: &Path) -> Vec<String> {
    let out = starkroute(&["doctor", "--config", file.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!out.status.success(), "{} passed:\n{stdout}", file.display());
    stdout.lines().filter(|l| l.starts_with("FAIL ")).map(str::to_owned).collect()
}

/// A child process killed when dropped, so that a failing assertion leaves none running.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn assert_line(lines: &[String], want: &str) {
    assert!(lines.iter().any(|l| l == want), "no line\n  {want}\namong\n  {}", lines.join("\n  "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_runs_a_network_file_it_did_not_deploy_and_doctor_refuses_wrong_ones() {
    let anvil = anvil_harness::Anvil::start().await;
    let devnet = devnet_harness::Devnet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/devnet.toml");
    let data = dir.path().join("data");
    let overrides = Overrides::new()
        .with_flag("network.l1_rpc_url", s(&anvil.url), "test")
        .with_flag("network.starknet_rpc_url", s(&devnet.url), "test")
        .with_flag("store.data_dir", s(data.to_str().unwrap()), "test")
        .with_flag("api.listen", s("127.0.0.1:0"), "test")
        .with_flag("sandbox.starkex_listen", s("127.0.0.1:0"), "test");
    let config = Config::layered(Some(&file), &overrides).unwrap();
    let network = config.network.clone().unwrap();

    // Step 1: deploy and write the network file (the existing deployment code).
    let net_dir = dir.path().join("net");
    let p = provision(&config, &network, &net_dir).await.unwrap();
    let file = p.network_file.clone();
    let d = p.dev.deployment.clone();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));

    // doctor: the right file passes, every check named.
    let out = starkroute(&["doctor", "--config", file.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for key in [
        "network.l1_chain_id",
        "network.starknet_chain_id",
        "network.starkgate.tokens.USDC.l2_bridge",
        "network.starkgate.tokens.USDC.l1_bridge",
        "network.nft_bridge.l1",
        "network.nft_bridge.l2",
        "network.starkex.api_url",
        "signers.l1[0]",
        "signers.starkex[0]",
        "signers.starknet[0]",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("ok   {key}: "))), "{key}: {stdout}");
    }
    assert!(stdout.contains("topology.tokens[2].starkex.quantum (ART)"), "{stdout}");
    let json_out = starkroute(&["doctor", "--config", file.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(!String::from_utf8_lossy(&json_out.stdout).contains(&anvil.url));

    // A wrong chain id.
    let wrong_chain = variant(&file, "wrong-chain.toml", |t| {
        table(t, &["network"]).insert("l1_chain_id".into(), toml::Value::Integer(1));
    });
    let want = "FAIL network.l1_chain_id: expected chain id 1, found chain id 31337";
    assert_line(&refused(&wrong_chain), want);
    // serve refuses it with the same line, before serving anything.
    let out = starkroute(&["serve", "--config", wrong_chain.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.lines().any(|l| l == want), "{err}");
    assert!(err.contains("serve: refusing to start"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "serve printed a banner: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    // An address with no code.
    let nobody = "0x00000000000000000000000000000000000000aa";
    let no_code = variant(&file, "no-code.toml", |t| {
        table(t, &["network", "starkex"]).insert("core".into(), s(nobody));
    });
    assert_line(
        &refused(&no_code),
        &format!("FAIL network.starkex.core: expected contract code at {nobody}, found no code at {nobody}"),
    );

    // A bridge whose counterpart differs: USDC's L2 bridge set to the NFT bridge's L2 side.
    let other = format!("{:#066x}", d.l2_nft_bridge);
    let mismatch = variant(&file, "mismatch.toml", |t| {
        table(t, &["network", "starkgate", "tokens", "USDC"]).insert("l2_bridge".into(), s(&other));
    });
    assert_line(
        &refused(&mismatch),
        &format!(
            "FAIL network.starkgate.tokens.USDC.l2_bridge: expected the L1 bridge {:#x} to name the \
             L2 bridge {:#x}, found l2TokenBridge() of {:#x} is {:#x}",
            d.l1.starkgate, d.l2_nft_bridge, d.l1.starkgate, d.l2_token_bridge
        ),
    );

    // An unreachable node.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = variant(&file, "unreachable.toml", |t| {
        table(t, &["network"])
            .insert("l1_rpc_url".into(), s(&format!("http://127.0.0.1:{port}/key-in-path")));
    });
    let lines = refused(&unreachable);
    assert!(
        lines.iter().any(|l| l.starts_with(
            "FAIL network.l1_rpc_url: expected an Ethereum JSON-RPC node answering eth_chainId, \
             found no answer ("
        ) && l.contains("Connection refused")),
        "{lines:#?}"
    );
    assert!(!lines.join("\n").contains("key-in-path"), "{lines:#?}");

    // An unfunded account: a fresh L1 key in a keystore, with the same password file.
    let password = std::fs::read_to_string(net_dir.join("keys/password")).unwrap();
    let fresh = PrivateKey::generate(KeyKind::Eth).unwrap();
    let fresh_address = fresh.public().to_string().to_lowercase();
    let ks = starkroute_keys::encrypt_key(
        KeyKind::Eth,
        &fresh,
        &Password::new(password),
        ScryptParams::LIGHT,
    )
    .unwrap();
    starkroute_keys::write_keystore(&net_dir.join("keys/unfunded.json"), &ks).unwrap();
    let unfunded = variant(&file, "unfunded.toml", |t| {
        let l1 = t["signers"]["l1"].as_array().unwrap()[0].clone();
        let mut entry = l1.as_table().unwrap().clone();
        entry.insert("keystore".into(), s("keys/unfunded.json"));
        table(t, &["signers"]).insert("l1".into(), toml::Value::Array(vec![entry.into()]));
    });
    assert_line(
        &refused(&unfunded),
        &format!(
            "FAIL signers.l1[0]: expected {fresh_address} to hold at least 10000000000000000 wei \
             (network.min_balance.l1_wei) for its legs' fees, found {fresh_address} holds 0 wei"
        ),
    );

    // serve, as its own process, on the right file — the API only (`executor.enabled = false`),
    // its live fees refreshed every 250 ms and refused after 5 s — and `worker --config` on the
    // same file and SQLite store executing the routes: the gift through the API.
    let live = variant(&file, "live.toml", |t| {
        table(t, &["executor"]).insert("enabled".into(), toml::Value::Boolean(false));
        let mut fees = toml::Table::new();
        fees.insert("refresh_ms".into(), toml::Value::Integer(250));
        fees.insert("max_age_secs".into(), toml::Value::Integer(5));
        fees.insert("estimate_secs".into(), toml::Value::Integer(1));
        table(t, &["network"]).insert("fees".into(), fees.into());
    });
    let live_text: toml::Table = toml::from_str(&std::fs::read_to_string(&live).unwrap()).unwrap();
    let store = Path::new(live_text["store"]["data_dir"].as_str().unwrap()).join("starkroute.db");
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_starkroute"))
            .args(["serve", "--config", live.to_str().unwrap()])
            .env_remove("STARKROUTE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut banner = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    let banner: Value = serde_json::from_str(&banner)
        .unwrap_or_else(|e| panic!("serve printed no banner ({e}): {banner:?}"));
    assert!(!banner.to_string().contains(&anvil.url), "a node URL in the banner: {banner}");
    assert_eq!(banner["network"]["name"], "devnet", "{banner}");
    let base = banner["api"].as_str().unwrap().to_owned();
    // worker --config: refuses a wrong file with doctor's line, like serve…
    let out = starkroute(&[
        "worker",
        "--config",
        wrong_chain.to_str().unwrap(),
        "--owner",
        "w0",
        "--database",
        store.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.lines().any(|l| l == want), "{err}");
    assert!(err.contains("worker: refusing to start"), "{err}");
    // …and on the right one builds the adapters and drives the store's routes.
    let mut worker = Running(
        Command::new(env!("CARGO_BIN_EXE_starkroute"))
            .args(["worker", "--config", live.to_str().unwrap(), "--owner", "network-worker"])
            .args(["--database", store.to_str().unwrap(), "--poll-interval-ms", "250"])
            .env_remove("STARKROUTE_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut started = String::new();
    BufReader::new(worker.0.stdout.take().unwrap()).read_line(&mut started).unwrap();
    let started: Value = serde_json::from_str(&started)
        .unwrap_or_else(|e| panic!("worker printed no start line ({e}): {started:?}"));
    assert_eq!(started["worker"], "network-worker", "{started}");
    assert_eq!(started["layers"], json!(["l1", "starknet", "starkex"]), "{started}");
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
    let (alice, bob) = (&p.alice, &p.bob);
    let hex =
        |v: &Value| u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let wei = |v: &Value| -> u128 { v.as_str().unwrap().parse().unwrap() };
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
    // Quotes `request`, starts the route whose legs are `want`, and waits for its end.
    let run = |request: Value, want: &'static [&'static str]| {
        let call = &call;
        async move {
            let (st, quote) = call(reqwest::Method::POST, "/v1/quotes", Some(request)).await;
            assert!(st.is_success(), "{quote}");
            let kinds = |r: &Value| -> Vec<String> {
                let legs = r["legs"].as_array().unwrap();
                legs.iter().map(|l| l["kind"].as_str().unwrap().into()).collect()
            };
            let routes = quote["routes"].as_array().unwrap();
            let index = routes
                .iter()
                .position(|r| kinds(r) == want)
                .unwrap_or_else(|| panic!("no route {want:?} in {quote}"));
            let body = json!({ "quote_id": quote["id"], "route_index": index });
            let (st, started) = call(reqwest::Method::POST, "/v1/routes", Some(body)).await;
            assert_eq!(st, reqwest::StatusCode::CREATED, "{started}");
            let id = started["id"].as_str().unwrap().to_owned();
            let start = Instant::now();
            loop {
                let (_, r) = call(reqwest::Method::GET, &format!("/v1/routes/{id}"), None).await;
                if r["status"] == "completed" || r["status"] == "failed" {
                    break r;
                }
                assert!(start.elapsed() < Duration::from_secs(180), "not done in 3 minutes: {r}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    const GIFT: [&str; 3] =
        ["starknet_nft_withdraw", "l1_claim_from_nft_bridge", "l1_deposit_to_starkex"];
    let done = run(request.clone(), &GIFT).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["legs"].as_array().unwrap().iter().all(|l| l["status"] == "final_on_l1"),
        "{done}"
    );

    // StarkEx → Starknet USDC: Alice deposits 40 USDC into her StarkEx vault, then moves them to
    // her Starknet account (StarkEx withdrawal served by a batch on anvil → L1 claim → StarkGate
    // deposit through USDC's own bridge pair, minted on devnet).
    let alice_sender = json!({
        "l1": alice.l1.to_string(),
        "starkex": alice.stark_key.to_string(),
        "starknet": alice.starknet.to_string(),
    });
    let deposit = json!({
        "asset": { "token": "USDC" }, "amount": "40000000", "from": "l1", "to": "starkex",
        "sender": alice_sender, "recipient": { "starkex": alice.stark_key.to_string() },
    });
    let done = run(deposit, &["l1_deposit_to_starkex"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let out = json!({
        "asset": { "token": "USDC" }, "amount": "40000000", "from": "starkex", "to": "starknet",
        "sender": alice_sender, "recipient": { "starknet": alice.starknet.to_string() },
    });
    // Before: the router's accounts (Alice's) cannot simulate a USDC withdrawal on Starknet —
    // her account holds no USDC there — so the quote keeps the model's units and says so.
    let withdraw_quote = |amount: &str| {
        json!({
            "asset": { "token": "USDC" }, "amount": amount, "from": "starknet", "to": "l1",
            "sender": alice_sender, "recipient": { "l1": alice.l1.to_string() },
        })
    };
    let withdraw_gas = |quote: &Value| -> Value {
        let legs =
            quote["routes"].as_array().unwrap().iter().flat_map(|r| r["legs"].as_array().unwrap());
        let leg = legs
            .clone()
            .find(|l| l["kind"] == "starknet_withdraw")
            .unwrap_or_else(|| panic!("no Starknet withdrawal in {quote}"));
        leg["fees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "starknet_gas")
            .unwrap()
            .clone()
    };
    let (st, q) = call(reqwest::Method::POST, "/v1/quotes", Some(withdraw_quote("1000"))).await;
    assert!(st.is_success(), "{q}");
    let before = withdraw_gas(&q);
    assert_eq!(before["gas_units_source"], "costs.gas.starknet_withdraw", "{before}");
    const OUT: [&str; 3] =
        ["starkex_withdrawal_request", "l1_claim_from_starkex", "l1_deposit_to_starkgate"];
    let done = run(out, &OUT).await;
    assert_eq!(done["status"], "completed", "{done}");
    let selector = starknet_core::utils::get_selector_from_name("balance_of").unwrap();
    let minted = devnet
        .call(
            "starknet_call",
            json!({"request": {
                "contract_address": format!("{:#x}", d.usdc.l2),
                "entry_point_selector": format!("{selector:#x}"),
                "calldata": [alice.starknet.to_string()],
            }, "block_id": "latest"}),
        )
        .await;
    assert_eq!(minted, json!(["0x2625a00", "0x0"]), "Alice holds 40 USDC on Starknet");

    // Now her account can: within an estimate period (1 s here) the quote's units are
    // starknet_estimateFee's for the same call — initiate_token_withdraw(USDC, Alice's L1
    // address, 1) from her account, unsigned with SKIP_VALIDATE, at her nonce — at the block the
    // item names, in L2 gas at the estimate's own price rounded up.
    let start = Instant::now();
    let estimated = loop {
        let amount = format!("{}", 1001 + start.elapsed().as_millis());
        let (st, q) =
            call(reqwest::Method::POST, "/v1/quotes", Some(withdraw_quote(&amount))).await;
        assert!(st.is_success(), "{q}");
        let gas = withdraw_gas(&q);
        if gas["gas_units_source"] == "starknet_estimateFee" {
            break gas;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "not estimated after 30 s: {gas}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let at = json!({ "block_number": estimated["gas_units_block"] });
    let nonce = devnet
        .call(
            "starknet_getNonce",
            json!({ "block_id": at, "contract_address": alice.starknet.to_string() }),
        )
        .await;
    let usdc_l1 = starkroute_types::EthAddress::new(d.usdc.l1).unwrap();
    let withdraw = starkroute_protocol::StarknetCall::initiate_token_withdraw(
        d.l2_token_bridge,
        &usdc_l1,
        &alice.l1,
        alloy::primitives::U256::from(1u8),
    );
    let invoke = starkroute_server::stack::estimates::query_invoke(
        alice.starknet.felt(),
        &nonce,
        &[withdraw],
    );
    let own = devnet
        .call(
            "starknet_estimateFee",
            json!({ "request": [invoke], "simulation_flags": ["SKIP_VALIDATE"], "block_id": at }),
        )
        .await;
    let units = hex(&own[0]["overall_fee"]).div_ceil(hex(&own[0]["l2_gas_price"]));
    assert_eq!(u128::from(estimated["gas_units"].as_u64().unwrap()), units, "{estimated} vs {own}");
    assert_ne!(estimated["gas_units"], before["gas_units"], "the model's units, still");
    assert_eq!(
        estimated["amount_wei"],
        (units * wei(&estimated["gas_price_wei"])).to_string(),
        "{estimated}"
    );

    // Live fees. The L1 gas price of a quote is eth_feeHistory's next base fee plus the highest
    // 50th-percentile reward of the last 5 blocks, read at the block the item names; it follows
    // a base fee set on anvil. Each request has its own amount: an identical one would be
    // answered the same quote again for a while.
    let amounts = std::sync::atomic::AtomicU64::new(1_000_000);
    let l1_request = || {
        json!({
            "asset": { "token": "USDC" },
            "amount": amounts.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string(),
            "from": "l1", "to": "starknet",
            "sender": alice_sender, "recipient": { "starknet": bob.starknet.to_string() },
        })
    };
    let deposit_fees = |quote: &Value| -> Vec<Value> {
        let mut legs =
            quote["routes"].as_array().unwrap().iter().flat_map(|r| r["legs"].as_array().unwrap());
        let leg = legs
            .find(|l| l["kind"] == "l1_deposit_to_starkgate")
            .unwrap_or_else(|| panic!("no StarkGate deposit in {quote}"));
        leg["fees"].as_array().unwrap().clone()
    };
    // base fee + tip at `block`, as anvil answers eth_feeHistory for it now.
    let expected_at = |block: u64| {
        let provider = anvil.provider.clone();
        async move {
            let history: Value = provider
                .raw_request(
                    "eth_feeHistory".into(),
                    (format!("{:#x}", 5), format!("{block:#x}"), [50]),
                )
                .await
                .unwrap();
            let next_base = hex(history["baseFeePerGas"].as_array().unwrap().last().unwrap());
            let tip =
                history["reward"].as_array().unwrap().iter().map(|r| hex(&r[0])).max().unwrap();
            next_base + tip
        }
    };
    let set_base: u128 = 100_000_000_000; // 100 gwei
    let before = call(reqwest::Method::POST, "/v1/quotes", Some(l1_request())).await.1;
    let gas_before = deposit_fees(&before).into_iter().find(|f| f["kind"] == "l1_gas").unwrap();
    assert!(wei(&gas_before["gas_price_wei"]) < set_base / 2, "{gas_before}");
    let _: Value = anvil
        .provider
        .raw_request("anvil_setNextBlockBaseFeePerGas".into(), [format!("{set_base:#x}")])
        .await
        .unwrap();
    let _: Value = anvil.provider.raw_request("anvil_mine".into(), ["0x1"]).await.unwrap();
    let set_at: u64 = anvil.provider.get_block_number().await.unwrap();
    // The next readings (every 250 ms) catch up with the block mined; anvil's own fee history
    // may lag a new block by a moment, so a quote of a later reading is compared.
    let start = Instant::now();
    let fees = loop {
        let (st, q) = call(reqwest::Method::POST, "/v1/quotes", Some(l1_request())).await;
        assert!(st.is_success(), "{q}");
        let fees = deposit_fees(&q);
        let gas = fees.iter().find(|f| f["kind"] == "l1_gas").unwrap();
        let block = gas["block"].as_u64().unwrap();
        if block >= set_at && wei(&gas["gas_price_wei"]) == expected_at(block).await {
            break fees;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the quote's L1 gas price is not eth_feeHistory's at block {block} (set at {set_at}): {gas}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let gas: Vec<&Value> = fees.iter().filter(|f| f["kind"] == "l1_gas").collect();
    assert_eq!(gas.len(), 2, "approve and deposit: {fees:?}");
    for f in gas {
        assert_eq!(f["source"], "eth_feeHistory", "{f}");
        let price = wei(&f["gas_price_wei"]);
        assert_eq!(price, expected_at(f["block"].as_u64().unwrap()).await, "{f}");
        // The base fee set, less at most 12.5% a block since.
        assert!(price >= set_base / 2, "{f}");
        let units = u128::from(f["gas_units"].as_u64().unwrap());
        assert_eq!(f["amount_wei"], (units * price).to_string(), "{f}");
    }
    // StarkGate's message fee from USDC's own L1 bridge (the contract's 20000 × 5 gwei).
    let msg = fees.iter().find(|f| f["kind"] == "l1_to_l2_message_fee").unwrap();
    assert_eq!(msg["source"], "estimateDepositFeeWei", "{msg}");
    assert_eq!(msg["amount_wei"], "100000000000000", "{msg}");

    // Gas units. The router's L1 account (Alice's) simulates USDC's approval of its bridge:
    // the item's units are eth_estimateGas's for approve(bridge, 1) from her at the block named.
    use alloy::sol_types::SolCall as _;
    use starkroute_ethereum::bindings::{StarkGateBridge, TestERC20};
    let estimate = |to: alloy::primitives::Address, data: Vec<u8>, value: u128, block: &Value| {
        let provider = anvil.provider.clone();
        let tx = json!({
            "from": alice.l1.to_string(), "to": format!("{to:#x}"),
            "data": format!("0x{}", hex::encode(data)), "value": format!("{value:#x}"),
        });
        let block = format!("{:#x}", block.as_u64().unwrap());
        async move {
            let v: Value =
                provider.raw_request("eth_estimateGas".into(), (tx, block)).await.unwrap();
            u64::try_from(hex(&v)).unwrap()
        }
    };
    let bridge = d.l1.starkgate;
    let approve =
        TestERC20::approveCall { spender: bridge, amount: alloy::primitives::U256::from(1u8) };
    let approval = &fees[0];
    assert_eq!(approval["gas_units_source"], "eth_estimateGas", "{approval}");
    let own = estimate(d.usdc.l1, approve.abi_encode(), 0, &approval["gas_units_block"]).await;
    assert_eq!(approval["gas_units"], own, "{approval}");
    // Her deposit cannot be simulated while she has not approved the bridge: the model's units.
    let allowance = TestERC20::allowanceCall { _0: alice.l1.address(), _1: bridge };
    let out: Value = anvil
        .provider
        .raw_request(
            "eth_call".into(),
            (json!({"to": format!("{:#x}", d.usdc.l1), "data": format!("0x{}", hex::encode(allowance.abi_encode()))}), "latest"),
        )
        .await
        .unwrap();
    assert_eq!(hex(&out), 0, "Alice's allowance to the USDC bridge, before");
    let deposit = &fees[1];
    assert_eq!(deposit["gas_units_source"], "costs.gas.starkgate_deposit", "{deposit}");
    // Once she has (anvil sends her transaction), the next estimates simulate it: deposit(USDC,
    // 1, her Starknet account) with the bridge's message fee as value.
    for (method, params) in [
        ("anvil_impersonateAccount", json!([alice.l1.to_string()])),
        (
            "eth_sendTransaction",
            json!([{
                "from": alice.l1.to_string(), "to": format!("{:#x}", d.usdc.l1),
                "data": format!("0x{}", hex::encode(TestERC20::approveCall {
                    spender: bridge, amount: alloy::primitives::U256::from(1_000_000_000u64),
                }.abi_encode())),
            }]),
        ),
        ("anvil_stopImpersonatingAccount", json!([alice.l1.to_string()])),
    ] {
        let _: Value = anvil.provider.raw_request(method.into(), params).await.unwrap();
    }
    let start = Instant::now();
    let deposit = loop {
        let (st, q) = call(reqwest::Method::POST, "/v1/quotes", Some(l1_request())).await;
        assert!(st.is_success(), "{q}");
        let item = deposit_fees(&q).into_iter().filter(|f| f["kind"] == "l1_gas").nth(1).unwrap();
        if item["gas_units_source"] == "eth_estimateGas" {
            break item;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "not estimated after 30 s: {item}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let call_data = StarkGateBridge::depositCall {
        token: d.usdc.l1,
        amount: alloy::primitives::U256::from(1u8),
        l2Recipient: starkroute_types::felt_to_u256(&alice.starknet.felt()),
    };
    let own =
        estimate(bridge, call_data.abi_encode(), 100_000_000_000_000, &deposit["gas_units_block"])
            .await;
    assert_eq!(deposit["gas_units"], own, "{deposit}");
    assert_eq!(
        deposit["amount_wei"],
        (u128::from(own) * wei(&deposit["gas_price_wei"])).to_string(),
        "{deposit}"
    );
    // Starknet gas: the gift's Starknet leg at the block header's L2 gas price in wei.
    let gift_quote = call(reqwest::Method::POST, "/v1/quotes", Some(request.clone())).await.1;
    let sn = gift_quote["routes"][0]["legs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["fees"].as_array().unwrap())
        .find(|f| f["kind"] == "starknet_gas")
        .unwrap_or_else(|| panic!("no Starknet gas in {gift_quote}"))
        .clone();
    assert_eq!(sn["source"], "starknet_getBlockWithTxHashes", "{sn}");
    let header = devnet
        .call("starknet_getBlockWithTxHashes", json!({"block_id": {"block_number": sn["block"]}}))
        .await;
    let wei = header["l2_gas_price"]["price_in_wei"].as_str().unwrap();
    let wei = u128::from_str_radix(wei.trim_start_matches("0x"), 16).unwrap();
    assert_eq!(sn["gas_price_wei"], wei.to_string(), "{sn} against {header}");

    // L1's node stops: once its last reading is older than max_age_secs (5 s), quotes are
    // refused with a 503 naming l1, and so is starting a route from a quote priced before.
    let (st, priced) = call(reqwest::Method::POST, "/v1/quotes", Some(l1_request())).await;
    assert!(st.is_success(), "{priced}");
    drop(anvil);
    let stopped = Instant::now();
    let refused = loop {
        let (st, q) = call(reqwest::Method::POST, "/v1/quotes", Some(l1_request())).await;
        if st == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            break q;
        }
        assert!(st.is_success(), "{q}");
        assert!(stopped.elapsed() < Duration::from_secs(30), "still quoting after 30 s: {q}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Not at once: the last reading (at most 250 ms before the stop) was still young.
    assert!(stopped.elapsed() >= Duration::from_secs(3), "refused before the limit: {refused}");
    assert_eq!(refused["error"]["code"], "fees_unavailable", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("l1 fees are unavailable: the last reading is "), "{message}");
    assert!(message.contains("network.fees.max_age_secs (5 s)"), "{message}");
    let body = json!({ "quote_id": priced["id"], "route_index": 0 });
    let (st, start_refused) = call(reqwest::Method::POST, "/v1/routes", Some(body)).await;
    assert_eq!(st, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{start_refused}");
    assert_eq!(start_refused["error"]["code"], "fees_unavailable", "{start_refused}");
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("starkroute_fee_refresh_failures_total{layer=\"l1\"} "))
        .unwrap_or_else(|| panic!("no L1 refresh failures in\n{metrics}"));
    assert!(failures.parse::<u64>().unwrap() > 0, "{metrics}");

    drop(worker);
    drop(child);
    p.dev.stop().await;
}
