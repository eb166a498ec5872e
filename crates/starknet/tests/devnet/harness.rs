//! Starts starknet-devnet on a free loopback port with a fixed seed and stops it on drop.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use starknet_core::types::Felt;

/// The seed of the predeployed accounts (their keys and addresses are fixed by it).
pub(crate) const SEED: &str = "42";

/// The starknet-devnet binary: `$STARKROUTE_DEVNET`, else the one `.ci/run` installs under
/// `~/.cache/starkroute/devnet/bin`, else `starknet-devnet` on PATH. Panics, saying how to
/// install it, when there is none.
pub(crate) fn devnet_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("STARKROUTE_DEVNET") {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let bin = PathBuf::from(home).join(".cache/starkroute/devnet/bin/starknet-devnet");
        if bin.is_file() {
            return bin;
        }
    }
    if let Ok(out) = Command::new("starknet-devnet").arg("--version").output() {
        if out.status.success() {
            return PathBuf::from("starknet-devnet");
        }
    }
    panic!(
        "these tests need starknet-devnet 0.10: `cargo install starknet-devnet --locked --root \
         ~/.cache/starkroute/devnet` (what .ci/run does; ~20 minutes on 2 cores), or set \
         STARKROUTE_DEVNET to a starknet-devnet binary"
    );
}

/// A predeployed account.
#[derive(Debug, Clone)]
pub(crate) struct Predeployed {
    pub(crate) address: Felt,
    pub(crate) private_key: Felt,
}

/// A running devnet.
pub(crate) struct Devnet {
    child: Child,
    pub(crate) url: String,
    http: reqwest::Client,
}

impl Devnet {
    pub(crate) async fn start() -> Self {
        let bin = devnet_binary();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--seed", SEED])
            .args(["--accounts", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            let alive = http.get(format!("{url}/is_alive")).send().await;
            if alive.map(|r| r.status().is_success()).unwrap_or(false) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "devnet did not answer on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url, http }
    }

    /// A JSON-RPC call; panics on an error answer.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A JSON-RPC call; the error object on an error answer.
    pub(crate) async fn try_call(&self, method: &str, params: Value) -> Result<Value, Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let v: Value =
            self.http.post(&self.url).json(&body).send().await.unwrap().json().await.unwrap();
        match v.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(v["result"].clone()),
        }
    }

    pub(crate) async fn predeployed(&self) -> Vec<Predeployed> {
        let v = self.call("devnet_getPredeployedAccounts", json!({})).await;
        let felt = |x: &Value| Felt::from_hex(x.as_str().unwrap()).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| Predeployed {
                address: felt(&a["address"]),
                private_key: felt(&a["private_key"]),
            })
            .collect()
    }

    /// Mints `amount` fri (STRK, what V3 transactions pay with) to `address`.
    pub(crate) async fn mint_strk(&self, address: Felt, amount: u64) {
        self.call(
            "devnet_mint",
            json!({ "address": format!("{address:#x}"), "amount": amount, "unit": "FRI" }),
        )
        .await;
    }

    /// Marks every block so far ACCEPTED_ON_L1 (no L1 action: what a state update does to
    /// finality).
    pub(crate) async fn accept_on_l1(&self) {
        self.call("devnet_acceptOnL1", json!({ "starting_block_id": "latest" })).await;
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
