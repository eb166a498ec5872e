//! The stacks the API runs, as siblings over one [`Core`] (the store, the executor, the API's
//! state and the shutdown signal):
//!
//! - [`sandbox`]: the embedded sandbox (in-process L1, StarkEx engine, Starknet) — no set-up;
//! - [`devnet`]: real local nodes (anvil, starknet-devnet) with the embedded StarkEx engine
//!   operating a StarkEx contract on anvil, deployed at start (`[network] name = "devnet"` with
//!   no StarkEx core configured);
//! - [`network`]: any configured network (`[network]` with its endpoints and contracts, the
//!   router's keys in `[signers]`): the production adapters, after `doctor`'s checks pass.
//!
//! [`Stack::start`] picks one from the configuration's `[network]`.
//!
//! Shutdown: the API stops accepting connections and finishes the requests in flight (open event
//! streams end), the executor finishes the step it is taking, and the store is closed. Every
//! route's state is in the store, so a restart resumes each one where it stopped.

pub mod devnet;
pub mod estimates;
pub mod fees;
pub mod network;
pub mod sandbox;
mod shared;

use std::sync::Arc;

use serde_json::json;
use starkroute_executor::{Clock, SystemClock};
use starkroute_sandbox::world::DemoParty;
use tokio::task::JoinHandle;

pub use devnet::{DevParty, DevnetStack};
pub use network::NetworkStack;
pub use sandbox::{DemoInfo, SandboxStack};
pub use shared::{build_core, Core};

use crate::config::Config;
use crate::error::{Error, Result};
use starkroute_keys::PermissionPolicy;

/// What the API runs over: the embedded sandbox (no `[network]`), or real local nodes
/// (`[network] name = "devnet"`).
#[derive(Debug)]
pub enum Stack {
    /// The embedded sandbox.
    Sandbox(Box<SandboxStack>),
    /// anvil + starknet-devnet + the embedded StarkEx engine.
    Devnet(Box<DevnetStack>),
    /// A configured network.
    Network(Box<NetworkStack>),
}

impl Stack {
    /// Builds the stack `config` names; the API runs on the wall clock. Key files readable by
    /// others are refused.
    pub async fn start(config: &Config) -> Result<Self> {
        Self::start_with(config, PermissionPolicy::Refuse).await
    }

    /// [`Self::start`], with `policy` for key files others may read. On a configured network
    /// the router's keys are loaded and `doctor`'s checks run first: any failure refuses to
    /// start ([`Error::Doctor`], one line per failure naming its key).
    pub async fn start_with(config: &Config, policy: PermissionPolicy) -> Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        match &config.network {
            None => Ok(Self::Sandbox(Box::new(SandboxStack::start(config, clock).await?))),
            Some(n) if n.name == "devnet" && n.starkex.core.is_none() => {
                Ok(Self::Devnet(Box::new(DevnetStack::start(config, n, clock).await?)))
            }
            Some(n) => {
                let signers =
                    config.signers.load(&config.base_dir, policy).map_err(Error::Signers)?;
                let report = crate::doctor::check(config, &signers).await;
                if !report.ok() {
                    return Err(Error::Doctor { failures: report.failures() });
                }
                Ok(Self::Network(Box::new(NetworkStack::start(config, n, &signers, clock).await?)))
            }
        }
    }

    /// The store, the executor and the API's state.
    pub fn core(&self) -> &Core {
        match self {
            Self::Sandbox(s) => &s.core,
            Self::Devnet(d) => &d.core,
            Self::Network(n) => &n.core,
        }
    }

    /// Starts the executor's loop (unless `executor.enabled = false`: the API only, for
    /// `starkroute worker` processes on the same store), the webhook worker, the sandbox's clock
    /// at `sandbox.speed`, and a configured network's live fee refresh, until shutdown.
    pub fn spawn(&self, config: &Config) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![self.core().spawn_webhooks()];
        if config.executor.enabled {
            tasks.push(self.core().spawn_executor());
        }
        match self {
            Self::Sandbox(s) => tasks.push(s.spawn_world_clock(config.sandbox.speed)),
            Self::Network(n) => tasks.push(n.fees.spawn(self.core().stopped())),
            Self::Devnet(d) => tasks.push(d.fees.spawn(self.core().stopped())),
        }
        tasks
    }

    /// Stops what is left and closes the store. Call after the loops have returned.
    pub async fn close(self) {
        match self {
            Self::Sandbox(s) => s.close().await,
            Self::Devnet(d) => d.close().await,
            Self::Network(n) => n.close().await,
        }
    }

    /// What a start-up banner says about the stack: its API, parties and custody.
    pub fn describe(&self, config: &Config) -> serde_json::Value {
        let custodial = if config.sandbox.custodial_alice {
            "the router signs Alice's legs; Bob's pause for his signature"
        } else {
            "every leg pauses for its sender's signature"
        };
        match self {
            Self::Sandbox(s) => json!({ "sandbox": {
                "speed": format!("{} simulated seconds per second", config.sandbox.speed),
                "starkex_api": s.starkex_url,
                "alice": party(&s.demo.alice),
                "bob": party(&s.demo.bob),
                "custodial": custodial,
            }}),
            Self::Devnet(d) => {
                let mut v = d.describe();
                v["custodial"] = json!(custodial);
                json!({ "devnet": v })
            }
            Self::Network(n) => match &config.network {
                Some(network) => json!({ "network": n.describe(network) }),
                None => json!({}),
            },
        }
    }
}

fn party(p: &DemoParty) -> serde_json::Value {
    json!({
        "l1": p.l1().to_string(),
        "starkex": p.stark_key().to_string(),
        "starknet": p.starknet.to_fixed_hex_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::path::Path;

    use super::*;

    #[tokio::test]
    async fn a_public_network_without_endpoints_is_refused_naming_the_keys() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mainnet.toml");
        let config = Config::load(Some(&path)).unwrap();
        let e = Stack::start(&config).await.unwrap_err();
        let Error::Doctor { failures } = &e else { panic!("{e}") };
        assert!(failures.iter().any(|l| l.starts_with("FAIL network.l1_rpc_url: ")), "{e}");
        assert!(failures.iter().any(|l| l.starts_with("FAIL network.starknet_rpc_url: ")), "{e}");
    }

    #[tokio::test]
    async fn a_store_that_cannot_open_is_a_typed_error_with_its_source() {
        // A data directory under a regular file cannot be created.
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut config = Config::sandbox().unwrap();
        config.store.data_dir = file.path().join("data");
        let e = SandboxStack::start(&config, Arc::new(SystemClock)).await.unwrap_err();
        assert!(matches!(&e, Error::Store { path, .. } if *path == config.store.data_dir), "{e}");
        assert!(e.source().is_some(), "the store's error is kept: {e:?}");
        assert!(e.to_string().starts_with("store.data_dir "), "{e}");
    }
}
