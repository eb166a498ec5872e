//! Starts anvil on a free loopback port and stops it on drop.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::Ethereum;
use alloy::providers::{Provider, RootProvider};

/// The anvil binary: `$STARKROUTE_ANVIL`, else the npm package installed by `.ci/run` under
/// `~/.cache/starkroute/anvil`, else `anvil` on PATH. Panics, saying how to install it, when
/// there is none.
pub(crate) fn anvil_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("STARKROUTE_ANVIL") {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let dir = PathBuf::from(home).join(".cache/starkroute/anvil/node_modules/@foundry-rs");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let bin = e.path().join("bin/anvil");
                if e.file_name().to_string_lossy().starts_with("anvil-") && bin.is_file() {
                    return bin;
                }
            }
        }
    }
    if let Ok(out) = Command::new("anvil").arg("--version").output() {
        if out.status.success() {
            return PathBuf::from("anvil");
        }
    }
    panic!(
        "these tests need anvil: `npm install @foundry-rs/anvil` in ~/.cache/starkroute/anvil \
         (what .ci/run does), or set STARKROUTE_ANVIL to an anvil binary"
    );
}

/// A running anvil.
pub(crate) struct Anvil {
    child: Child,
    pub(crate) url: String,
    pub(crate) provider: RootProvider<Ethereum>,
}

impl Anvil {
    pub(crate) async fn start() -> Self {
        let bin = anvil_binary();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
            .args(["--chain-id", "31337", "--gas-limit", "100000000"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let provider = RootProvider::<Ethereum>::new_http(url.parse().unwrap());
        let start = Instant::now();
        while provider.get_chain_id().await.is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "anvil did not answer on {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url, provider }
    }

    /// `evm_increaseTime` then `anvil_mine` of `blocks` blocks.
    pub(crate) async fn pass(&self, secs: u64, blocks: u64) {
        let _: serde_json::Value =
            self.provider.raw_request("evm_increaseTime".into(), [secs]).await.unwrap();
        let _: serde_json::Value =
            self.provider.raw_request("anvil_mine".into(), [format!("{blocks:#x}")]).await.unwrap();
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
