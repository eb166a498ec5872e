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
//!   only — and completes through its HTTP API the Alice→Bob gift, then the StarkEx → Starknet
//!   USDC route (a deposit into Alice's StarkEx vault, then withdrawal → L1 claim → StarkGate
//!   deposit to Bob's Starknet account, minted on devnet).
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

    // serve, as its own process, on the right file: the gift through its API.
    let mut child = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(["serve", "--config", file.to_str().unwrap()])
        .env_remove("STARKROUTE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    let banner: Value = serde_json::from_str(&banner)
        .unwrap_or_else(|e| panic!("serve printed no banner ({e}): {banner:?}"));
    assert!(!banner.to_string().contains(&anvil.url), "a node URL in the banner: {banner}");
    assert_eq!(banner["network"]["name"], "devnet", "{banner}");
    let base = banner["api"].as_str().unwrap().to_owned();
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
    let done = run(request, &GIFT).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["legs"].as_array().unwrap().iter().all(|l| l["status"] == "final_on_l1"),
        "{done}"
    );

    // StarkEx → Starknet USDC: Alice deposits 40 USDC into her StarkEx vault, then sends them to
    // Bob's Starknet account (StarkEx withdrawal served by a batch on anvil → L1 claim →
    // StarkGate deposit through USDC's own bridge pair, minted on devnet).
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
        "sender": alice_sender, "recipient": { "starknet": bob.starknet.to_string() },
    });
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
                "calldata": [bob.starknet.to_string()],
            }, "block_id": "latest"}),
        )
        .await;
    assert_eq!(minted, json!(["0x2625a00", "0x0"]), "Bob holds 40 USDC on Starknet");

    let _ = child.kill();
    let _ = child.wait();
    p.dev.stop().await;
}
