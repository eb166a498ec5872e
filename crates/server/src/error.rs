//! Why a stack could not start (or stopped): one variant per cause, each keeping its source so a
//! caller (the CLI, a test, an embedding application) can print the whole chain or match on it.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::ConfigError;

/// Why building or running a stack failed. Messages name the configuration key at fault, when
/// one is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration could not be read or is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listening socket could not be bound (or its address read).
    #[error("{key}: {addr}: {source}")]
    Bind {
        /// The configuration key of the address (`api.listen`, `sandbox.starkex_listen`).
        key: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded sandbox's demo world could not be set up.
    #[error("sandbox: {0}")]
    Sandbox(#[from] starkroute_sandbox::world::SetupError),
    /// A demo party's account is not a valid address.
    #[error("demo account: {0}")]
    DemoAccount(#[source] starkroute_types::ParseError),
    /// What the devnet stack deployed does not fit the topology (an address, the USDC quantum).
    #[error("deployment: {what}: {source}")]
    Deployment {
        /// The value.
        what: &'static str,
        /// Why it does not fit.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A demo party's key (a published test key) could not be parsed.
    #[error("demo key: {0}")]
    DemoKey(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The route store could not be opened.
    #[error("store.data_dir {}: {source}", path.display())]
    Store {
        /// The data directory.
        path: PathBuf,
        /// The store's error.
        #[source]
        source: starkroute_store::StoreError,
    },
    /// `executor.owner` is not a valid lease owner name.
    #[error("executor.owner: {0}")]
    Owner(#[source] starkroute_store::StoreError),
    /// An API key entry's hash is not 64 hex digits.
    #[error("api.tenants[{index}].key_sha256: expected 64 hex digits")]
    TenantKeyHash {
        /// Its position in `api.tenants`.
        index: usize,
    },
    /// An API key entry's tenant name is not valid.
    #[error("api.tenants[{index}].name: {source}")]
    TenantName {
        /// Its position in `api.tenants`.
        index: usize,
        /// Why the name is refused.
        #[source]
        source: starkroute_types::ParseError,
    },
    /// The StarkEx REST client could not be built.
    #[error("StarkEx client: {0}")]
    StarkExClient(#[source] starkroute_starkex::Error),
    /// A setting the stack needs is missing, or a value it cannot run with.
    #[error("{key}: {reason}")]
    Unsupported {
        /// The configuration key.
        key: &'static str,
        /// Why the stack cannot run with it.
        reason: String,
    },
    /// An RPC URL is not a URL.
    #[error("{key}: {source}")]
    Url {
        /// The configuration key.
        key: &'static str,
        /// The parse error.
        #[source]
        source: <reqwest::Url as std::str::FromStr>::Err,
    },
    /// The L1 node did not answer.
    #[error("network.l1_rpc_url: {url}: {source} (is anvil running?)")]
    L1Node {
        /// The node's URL, redacted (`config::redact_url`): scheme, host and port.
        url: String,
        /// The transport error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// The Starknet node did not answer.
    #[error("network.starknet_rpc_url: {source}")]
    StarknetNode {
        /// The HTTP error.
        #[source]
        source: reqwest::Error,
    },
    /// A step of the devnet stack (deploying, registering, starting the engine, building an
    /// adapter) failed.
    #[error("{step}: {source}")]
    DevStack {
        /// The step.
        step: &'static str,
        /// The devstack's error.
        #[source]
        source: starkroute_devstack::Error,
    },
    /// The router's keys (`[signers]`) could not be loaded; the message names the entry.
    #[error("{0}")]
    Signers(#[source] starkroute_keys::KeyError),
    /// `doctor`'s checks of the network failed: one line per failure, naming the key.
    #[error("the network's checks failed (starkroute doctor):\n{}", failures.join("\n"))]
    Doctor {
        /// The failed checks' lines.
        failures: Vec<String>,
    },
}

/// A server result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
