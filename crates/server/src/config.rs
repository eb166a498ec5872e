//! Configuration: typed and layered.
//!
//! Layers, each overriding the one before: the defaults in these structs; a configuration file
//! (`config/*.toml`; the sandbox one is compiled in, so `starkroute` works from any directory with
//! no set-up, and `--config FILE` replaces it); `STARKROUTE_` environment variables, with `__`
//! between the parts of a key (`STARKROUTE_API__LISTEN=127.0.0.1:9000` sets `api.listen`; the value
//! is read as a TOML value when it is one — `3600`, `true`, `[{ name = "acme", key_sha256 = "…" }]`
//! — and as a string otherwise); and command-line flags. The result is checked once
//! ([`Config::validate`]); every error names the key, and the layer that set it when it was not
//! the file.
//!
//! Kept in one file (about 930 lines of code): each section's type sits beside its checks, so that a
//! key's default, its meaning and its range are read in one place.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use starkroute_planner::{CostModel, Topology};

/// The embedded default configuration: this crate's copy of the repository's
/// `config/sandbox.toml` (a test keeps the two identical), inside the crate so it can be packaged.
pub const SANDBOX_TOML: &str = include_str!("../config/sandbox.toml");

/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "STARKROUTE_";

/// A whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Layers, tokens, bridges, policies, readiness facts.
    pub topology: Topology,
    /// Fees and latencies.
    #[serde(default)]
    pub costs: CostModel,
    /// The HTTP API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Where routes are stored.
    #[serde(default)]
    pub store: StoreConfig,
    /// How the executor drives routes.
    #[serde(default)]
    pub executor: ExecutorSettings,
    /// The embedded sandbox that `starkroute serve` runs.
    #[serde(default)]
    pub sandbox: SandboxSettings,
    /// Webhook deliveries.
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// The real network's chain ids and contract addresses (`config/{devnet,sepolia,mainnet}.toml`);
    /// absent for the embedded sandbox, whose contracts are its own.
    #[serde(default)]
    pub network: Option<NetworkConfig>,
    /// The router's own keys on a configured network: keystore paths and password sources, never
    /// a key (`starkroute_keys::SignersConfig`). A party whose key is not here has its legs paused
    /// for a signature.
    #[serde(default)]
    pub signers: starkroute_keys::SignersConfig,
    /// The directory of the file it was loaded from: relative key paths in `[signers]` are taken
    /// from it (the current directory for the embedded file).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// A URL as logs and `Debug` may show it: its scheme, host and port only. Providers put keys in
/// the user-info (`https://user:key@…`), the path (`…/v3/<key>`) or the query (`?apikey=`), so all
/// three are cut; a string that is not a URL shows as `<redacted>`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "<redacted>".to_owned() };
    if scheme.is_empty()
        || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return "<redacted>".to_owned();
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((_, host)) => (true, host),
        None => (false, authority),
    };
    let more = userinfo || !(tail.is_empty() || tail == "/");
    format!("{scheme}://{host}{}", if more { "/<redacted>" } else { "" })
}

/// `[network]`: which chains, and where the contracts the router calls are deployed.
///
/// Addresses are parsed as they are written: an Ethereum address in mixed case must carry a valid
/// EIP-55 checksum, a Starknet address must be a field element. `Debug` shows the RPC URLs
/// through [`redact_url`] (a provider's URL carries its key).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// A name for people (`mainnet`, `sepolia`, `devnet`).
    pub name: String,
    /// The Ethereum chain id (1 mainnet, 11155111 Sepolia, 31337 anvil).
    pub l1_chain_id: u64,
    /// The Starknet chain id as its short string (`SN_MAIN`, `SN_SEPOLIA`).
    pub starknet_chain_id: String,
    /// The Ethereum JSON-RPC endpoint (providers need a key: set it with
    /// `STARKROUTE_NETWORK__L1_RPC_URL`).
    #[serde(default)]
    pub l1_rpc_url: Option<String>,
    /// The Starknet JSON-RPC endpoint.
    #[serde(default)]
    pub starknet_rpc_url: Option<String>,
    /// The Starknet core contract on L1 (state updates, L1↔L2 messaging); on a devnet, the mock
    /// messaging contract.
    #[serde(default)]
    pub starknet_core: Option<starkroute_types::EthAddress>,
    /// StarkGate's bridges.
    #[serde(default)]
    pub starkgate: StarkGateContracts,
    /// The NFT bridge (Starklane interface).
    #[serde(default)]
    pub nft_bridge: NftBridgeContracts,
    /// The StarkEx deployment.
    pub starkex: StarkExDeployment,
    /// L1 confirmations after which an L1 transaction is final (default 12; 1 on a local node).
    #[serde(default)]
    pub l1_confirmations: Option<u64>,
    /// The ERC-20 Starknet fees are paid in (V3 transactions: STRK); the router's Starknet
    /// accounts must hold `min_balance.starknet_fri` of it. Default: STRK's address (the same on
    /// mainnet, Sepolia and starknet-devnet).
    #[serde(default)]
    pub starknet_fee_token: Option<starkroute_types::StarknetAddress>,
    /// What the router's own accounts must hold for the fees of the legs they pay; `doctor`
    /// and `serve` refuse to start below it.
    #[serde(default)]
    pub min_balance: MinBalances,
    /// `[network.fees]`: how quotes read their prices from the chains.
    #[serde(default)]
    pub fees: FeeSettings,
    /// Block explorers: where a leg's transaction is shown on each layer (none unless set).
    #[serde(default)]
    pub explorers: Explorers,
    /// Seconds one call to a node or the StarkEx operator's API may take before it fails as a
    /// retryable error naming the layer (default 30).
    #[serde(default)]
    pub rpc_timeout_secs: Option<u64>,
    /// Seconds to establish a connection to a node or the operator's API (default 10).
    #[serde(default)]
    pub rpc_connect_timeout_secs: Option<u64>,
}

/// `[network.fees]`: the live fee cache. Each layer's prices are read in the background every
/// `refresh_ms`; a quote uses the cached figures and is refused (503, naming the layer) once a
/// layer's figure is older than `max_age_secs` because its node does not answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeeSettings {
    /// Milliseconds between two readings of each layer's prices.
    pub refresh_ms: u64,
    /// Seconds after which a layer's last reading may no longer price a quote.
    pub max_age_secs: u64,
    /// Blocks of `eth_feeHistory` the L1 priority fee is taken over.
    pub l1_blocks: u64,
    /// The percentile of each block's priority fees (`eth_feeHistory`'s reward percentile); the
    /// highest over the blocks is the tip.
    pub l1_tip_percentile: u64,
    /// Seconds between two simulations of the router's calls for their gas units (gas units
    /// change with contract upgrades, not with blocks).
    pub estimate_secs: u64,
}

impl Default for FeeSettings {
    fn default() -> Self {
        Self {
            refresh_ms: 3_000,
            max_age_secs: 60,
            l1_blocks: 5,
            l1_tip_percentile: 50,
            estimate_secs: 300,
        }
    }
}

impl FeeSettings {
    fn validate(&self) -> Result<(), String> {
        range("network.fees.refresh_ms", self.refresh_ms, 50, 600_000)?;
        range("network.fees.max_age_secs", self.max_age_secs, 1, 86_400)?;
        range("network.fees.l1_blocks", self.l1_blocks, 1, 1024)?;
        range("network.fees.l1_tip_percentile", self.l1_tip_percentile, 0, 100)?;
        range("network.fees.estimate_secs", self.estimate_secs, 1, 86_400)?;
        if self.max_age_secs.saturating_mul(1000) < self.refresh_ms {
            return Err(format!(
                "network.fees.max_age_secs: {} s is shorter than one refresh \
                 (network.fees.refresh_ms = {})",
                self.max_age_secs, self.refresh_ms
            ));
        }
        Ok(())
    }
}

/// `[network.explorers]`: a URL template per layer with exactly one `{hash}` (the submission's
/// hash or id on that layer), `https` (plain `http` only for a loopback host). Checked at load.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explorers {
    /// An L1 transaction, e.g. `https://sepolia.etherscan.io/tx/{hash}`.
    #[serde(default)]
    pub l1: Option<String>,
    /// A Starknet transaction, e.g. `https://sepolia.voyager.online/tx/{hash}`.
    #[serde(default)]
    pub starknet: Option<String>,
    /// A StarkEx transfer or withdrawal, by the id the operator gave it.
    #[serde(default)]
    pub starkex: Option<String>,
}

impl Explorers {
    /// The template for `layer`, if configured.
    pub fn template(&self, layer: starkroute_types::Layer) -> Option<&str> {
        match layer {
            starkroute_types::Layer::L1 => self.l1.as_deref(),
            starkroute_types::Layer::Starknet => self.starknet.as_deref(),
            starkroute_types::Layer::StarkEx => self.starkex.as_deref(),
        }
    }

    /// The explorer's page of `hash` on `layer`, if a template is configured and `hash` is a
    /// plain identifier (hex, digits, letters, `_` or `-`: nothing that could change the URL's
    /// meaning).
    pub fn link(&self, layer: starkroute_types::Layer, hash: &str) -> Option<String> {
        let t = self.template(layer)?;
        let plain = !hash.is_empty()
            && hash.len() <= 200
            && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        plain.then(|| t.replacen("{hash}", hash, 1))
    }

    /// Checks every template (the error names the key).
    pub fn validate(&self) -> Result<(), String> {
        for (key, t) in [
            ("network.explorers.l1", &self.l1),
            ("network.explorers.starknet", &self.starknet),
            ("network.explorers.starkex", &self.starkex),
        ] {
            if let Some(t) = t {
                check_explorer_template(t).map_err(|why| format!("{key}: {why}, not {t:?}"))?;
            }
        }
        Ok(())
    }
}

fn check_explorer_template(t: &str) -> Result<(), &'static str> {
    if t.matches("{hash}").count() != 1 {
        return Err("a template needs exactly one {hash}");
    }
    let url = reqwest::Url::parse(&t.replace("{hash}", "0x1"))
        .map_err(|_| "not a URL once {hash} is filled in")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials have no place in an explorer link");
    }
    let host = url.host_str().ok_or("no host")?;
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>();
    let loopback = host == "localhost" || ip.is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("expected https (plain http only for a loopback host)"),
    }
}

impl NetworkConfig {
    /// The upstream timeouts: `rpc_connect_timeout_secs` (1 to 600) and `rpc_timeout_secs` (1 to
    /// 3600, validated with the configuration), or the defaults (10 s and 30 s).
    pub fn rpc_timeouts(&self) -> starkroute_layer::RpcTimeouts {
        let d = starkroute_layer::RpcTimeouts::DEFAULT;
        let secs = |v: Option<u64>, default: std::time::Duration| {
            v.map_or(default, std::time::Duration::from_secs)
        };
        starkroute_layer::RpcTimeouts {
            connect: secs(self.rpc_connect_timeout_secs, d.connect),
            request: secs(self.rpc_timeout_secs, d.request),
        }
    }
}

/// STRK's ERC-20 on Starknet (mainnet, Sepolia, starknet-devnet):
/// <https://github.com/starknet-io/starknet-addresses>.
pub const STRK_ON_STARKNET: &str =
    "0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d";

/// `[network.min_balance]`: what each of the router's accounts must hold before it starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinBalances {
    /// Ether (wei) on each `[[signers.l1]]` address: its legs' gas and bridge message fees.
    pub l1_wei: starkroute_types::Wei,
    /// The fee token (fri for STRK) on each `[[signers.starknet]]` account.
    pub starknet_fri: starkroute_types::Wei,
}

impl Default for MinBalances {
    fn default() -> Self {
        // About one L1 deposit (300k gas at 30 gwei plus a message fee) and a few Starknet
        // invokes; set them to what your routes need.
        Self {
            l1_wei: starkroute_types::Wei(10_000_000_000_000_000),
            starknet_fri: starkroute_types::Wei(1_000_000_000_000_000_000),
        }
    }
}

impl std::fmt::Debug for NetworkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkConfig")
            .field("name", &self.name)
            .field("l1_chain_id", &self.l1_chain_id)
            .field("starknet_chain_id", &self.starknet_chain_id)
            .field("l1_rpc_url", &self.l1_rpc_url.as_deref().map(redact_url))
            .field("starknet_rpc_url", &self.starknet_rpc_url.as_deref().map(redact_url))
            .field("starknet_core", &self.starknet_core)
            .field("starkgate", &self.starkgate)
            .field("nft_bridge", &self.nft_bridge)
            .field("starkex", &self.starkex)
            .field("explorers", &self.explorers)
            .finish()
    }
}

/// `[network.starkgate]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkGateContracts {
    /// The ETH bridge on L1.
    #[serde(default)]
    pub eth_l1_bridge: Option<starkroute_types::EthAddress>,
    /// The ETH bridge on Starknet.
    #[serde(default)]
    pub eth_l2_bridge: Option<starkroute_types::StarknetAddress>,
    /// The multi-token (StarkGate 2.0) bridge on L1.
    #[serde(default)]
    pub multi_l1_bridge: Option<starkroute_types::EthAddress>,
    /// The multi-token bridge on Starknet.
    #[serde(default)]
    pub multi_l2_bridge: Option<starkroute_types::StarknetAddress>,
    /// Per-token bridges (`[network.starkgate.tokens.USDC] l1_bridge = …, l2_bridge = …`),
    /// by the token's symbol in `[[topology.tokens]]`. `doctor` checks each pair names the other
    /// and the token's addresses; the L1 adapter sends StarkGate legs through the multi-token
    /// bridge when there is one, otherwise through the only bridge listed here.
    #[serde(default)]
    pub tokens: BTreeMap<String, StarkGateTokenBridge>,
}

/// One token's StarkGate bridge pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkGateTokenBridge {
    /// The bridge on L1.
    pub l1_bridge: starkroute_types::EthAddress,
    /// The bridge on Starknet.
    pub l2_bridge: starkroute_types::StarknetAddress,
}

/// `[network.nft_bridge]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NftBridgeContracts {
    /// The L1 bridge.
    #[serde(default)]
    pub l1: Option<starkroute_types::EthAddress>,
    /// The L2 bridge.
    #[serde(default)]
    pub l2: Option<starkroute_types::StarknetAddress>,
}

/// `[network.starkex]`: a StarkEx deployment reached through its ImmutableX-style REST API.
/// `Debug` shows its URL through [`redact_url`].
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkExDeployment {
    /// Whether the deployment still accepts deposits, transfers and withdrawals.
    pub live: bool,
    /// Base URL of its REST API.
    pub api_url: String,
    /// The core (proxy) contract on L1.
    #[serde(default)]
    pub core: Option<starkroute_types::EthAddress>,
    /// ImmutableX's RegistrationV4 helper contract.
    #[serde(default)]
    pub registration: Option<starkroute_types::EthAddress>,
    /// A data-availability source serving `/v1/availability/roots` and
    /// `/v1/availability/vaults/{id}?root=` (the embedded engine serves them at its API's URL):
    /// transfers are then final once a batch root is posted after them, and escapes get their
    /// Merkle paths there. Without one, a transfer is final when the operator accepts it and an
    /// escape is refused.
    #[serde(default)]
    pub availability_url: Option<String>,
}

impl std::fmt::Debug for StarkExDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StarkExDeployment")
            .field("live", &self.live)
            .field("api_url", &redact_url(&self.api_url))
            .field("core", &self.core)
            .field("registration", &self.registration)
            .field("availability_url", &self.availability_url.as_deref().map(redact_url))
            .finish()
    }
}

impl NetworkConfig {
    fn validate(&self, layers: &[starkroute_types::Layer]) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("network.name: empty".into());
        }
        if self.l1_chain_id == 0 {
            return Err("network.l1_chain_id: 0 is not a chain id".into());
        }
        if !matches!(self.starknet_chain_id.as_str(), "SN_MAIN" | "SN_SEPOLIA") {
            return Err(format!(
                "network.starknet_chain_id: expected SN_MAIN or SN_SEPOLIA, not {:?}",
                self.starknet_chain_id
            ));
        }
        for (key, url) in [
            ("network.l1_rpc_url", self.l1_rpc_url.as_deref()),
            ("network.starknet_rpc_url", self.starknet_rpc_url.as_deref()),
            ("network.starkex.api_url", Some(self.starkex.api_url.as_str())),
            ("network.starkex.availability_url", self.starkex.availability_url.as_deref()),
        ] {
            if let Some(u) = url {
                if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 {
                    return Err(format!("{key}: expected an http(s) URL, not {u:?}"));
                }
            }
        }
        self.explorers.validate()?;
        if let Some(n) = self.l1_confirmations {
            range("network.l1_confirmations", n, 1, 1000)?;
        }
        self.fees.validate()?;
        if self.starkgate.multi_l1_bridge.is_some() != self.starkgate.multi_l2_bridge.is_some() {
            return Err("network.starkgate.multi_l2_bridge: give both multi_l1_bridge and \
                        multi_l2_bridge, or neither"
                .into());
        }
        if self.nft_bridge.l1.is_some() != self.nft_bridge.l2.is_some() {
            return Err("network.nft_bridge.l2: give both sides of the NFT bridge (l1 and l2), \
                        or neither"
                .into());
        }
        if layers.contains(&starkroute_types::Layer::StarkEx) && !self.starkex.live {
            return Err("topology.layers: lists starkex, but network.starkex.live is false \
                        (the deployment no longer accepts operations)"
                .into());
        }
        Ok(())
    }
}

/// `[api]`: the HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (larger ones get 413).
    pub body_limit_bytes: usize,
    /// How long a quote can start a route, in seconds.
    pub quote_ttl_secs: u64,
    /// How long an expired quote is still remembered (so it is refused as expired, 410, rather
    /// than unknown), in seconds.
    pub quote_retention_secs: u64,
    /// Most quotes kept at once.
    pub quote_cache_capacity: u64,
    /// How long an account-readiness answer is reused, in seconds.
    pub readiness_cache_secs: u64,
    /// Largest page of `GET /v1/routes`.
    pub max_page: u32,
    /// The API keys: each maps to a tenant. Only SHA-256 hashes are kept.
    pub tenants: Vec<TenantKey>,
    /// Requests per second each tenant may make on `/v1`, sustained (a token bucket; 0 turns
    /// the limit off). Beyond it: 429 with `Retry-After`.
    pub rate_limit_per_sec: u64,
    /// Requests a tenant may make at once before the rate applies (the bucket's size).
    pub rate_limit_burst: u64,
    /// How long a refusal by the rate limit is held before it is answered, in milliseconds, at
    /// most (no longer than until the tenant's next token; 0 answers at once). A client that
    /// ignores `Retry-After` and asks again at once is paced to its rate instead of costing the
    /// server a refusal per round trip.
    pub rate_limit_hold_ms: u64,
    /// Longest time a request may take until its answer starts, in milliseconds (503 beyond).
    pub request_timeout_ms: u64,
    /// Longest pause while a request body arrives, in milliseconds (408 beyond).
    pub body_timeout_ms: u64,
    /// Longest time to receive a request's headers, in milliseconds (the connection is closed
    /// beyond: slow clients cannot hold connections open).
    pub header_timeout_ms: u64,
    /// Event streams a tenant may have open at once (429 beyond).
    pub max_streams_per_tenant: usize,
    /// Event streams the server keeps open at once, all tenants together (503 beyond).
    pub max_streams_total: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 64 * 1024,
            quote_ttl_secs: 300,
            quote_retention_secs: 3600,
            quote_cache_capacity: 100_000,
            readiness_cache_secs: 5,
            max_page: 100,
            tenants: Vec::new(),
            rate_limit_per_sec: 100,
            rate_limit_burst: 200,
            rate_limit_hold_ms: 1_000,
            request_timeout_ms: 30_000,
            body_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
            max_streams_per_tenant: 32,
            max_streams_total: 1024,
        }
    }
}

/// One API key: the tenant it belongs to and the SHA-256 of the key (hex).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantKey {
    /// The tenant's name (its routes are stored under it).
    pub name: String,
    /// `sha256(key)` as 64 hex digits; the key itself is never stored.
    pub key_sha256: String,
}

/// `[store]`: where routes are stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Directory of the SQLite database (`starkroute.db`), created if missing.
    pub data_dir: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { data_dir: PathBuf::from(".starkroute") }
    }
}

/// `[executor]`: how routes are driven.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorSettings {
    /// This instance's name in route leases; unique among instances sharing a store.
    pub owner: String,
    /// Milliseconds between status polls of a submitted leg, and between idle looks for work.
    pub poll_interval_ms: u64,
    /// Milliseconds a lease lasts before another instance may take the route over.
    pub lease_ms: u64,
    /// First retry delay after a retryable error, in milliseconds (doubling up to the cap).
    pub backoff_initial_ms: u64,
    /// Cap of the retry delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Whether `serve` drives routes itself; `false` serves the API only, for
    /// `starkroute worker` processes sharing the store to execute the routes.
    pub enabled: bool,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            owner: "starkroute-serve".into(),
            poll_interval_ms: 1_000,
            lease_ms: 60_000,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 300_000,
        }
    }
}

/// `[sandbox]`: the embedded sandbox `starkroute serve` runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxSettings {
    /// Simulated seconds per real second.
    pub speed: u64,
    /// Address of the sandbox's StarkEx REST API (port 0: any free port on loopback).
    pub starkex_listen: SocketAddr,
    /// The adapters hold Alice's demo keys (Ethereum, Stark, Starknet) and sign her legs; any
    /// other sender's legs pause for a signature.
    pub custodial_alice: bool,
    /// Block explorers for the sandbox's legs (none by default: its chains have no explorer);
    /// the same templates and checks as `[network.explorers]`.
    pub explorers: Explorers,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            speed: 3600,
            starkex_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            custodial_alice: true,
            explorers: Explorers::default(),
        }
    }
}

/// `[webhooks]`: how webhook deliveries are sent and retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Whether endpoints may resolve to loopback, private, link-local or other non-public
    /// addresses. Off by default (an endpoint could otherwise reach the router's own network:
    /// SSRF); the sandbox configuration turns it on so a receiver on 127.0.0.1 works.
    pub allow_private_targets: bool,
    /// How long a delivery is retried after it was queued, in seconds (then it is given up).
    pub retry_horizon_secs: u64,
    /// First retry delay, in milliseconds (doubling, with jitter, up to the cap).
    pub backoff_initial_ms: u64,
    /// Cap of the retry delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Connect timeout, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time allowed for the whole answer after sending, in milliseconds.
    pub response_timeout_ms: u64,
    /// Deliveries sent at once by this instance.
    pub concurrency: u32,
    /// Milliseconds between looks at the outbox when it had nothing due.
    pub poll_interval_ms: u64,
    /// How long a leased delivery stays with this instance before another may send it, in
    /// milliseconds (more than the timeouts).
    pub lease_ms: u64,
    /// How long a rotated-out secret keeps signing, in seconds.
    pub secret_grace_secs: u64,
    /// Most endpoints per tenant.
    pub max_per_tenant: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            retry_horizon_secs: 86_400,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 3_600_000,
            connect_timeout_ms: 5_000,
            response_timeout_ms: 10_000,
            concurrency: 16,
            poll_interval_ms: 500,
            lease_ms: 60_000,
            secret_grace_secs: 86_400,
            max_per_tenant: 20,
        }
    }
}

impl WebhookSettings {
    /// Checks the ranges (the error names the `webhooks.` key).
    pub fn validate(&self) -> Result<(), String> {
        range("webhooks.retry_horizon_secs", self.retry_horizon_secs, 0, 30 * 86_400)?;
        range("webhooks.backoff_initial_ms", self.backoff_initial_ms, 1, 3_600_000)?;
        range("webhooks.backoff_max_ms", self.backoff_max_ms, self.backoff_initial_ms, 86_400_000)
            .map_err(|e| format!("{e} (and at least webhooks.backoff_initial_ms)"))?;
        range("webhooks.connect_timeout_ms", self.connect_timeout_ms, 1, 600_000)?;
        range("webhooks.response_timeout_ms", self.response_timeout_ms, 1, 600_000)?;
        range("webhooks.concurrency", u64::from(self.concurrency), 1, 1_000)?;
        range("webhooks.poll_interval_ms", self.poll_interval_ms, 1, 3_600_000)?;
        let min_lease = self.connect_timeout_ms + self.response_timeout_ms;
        range("webhooks.lease_ms", self.lease_ms, min_lease, 86_400_000).map_err(|e| {
            format!("{e} (a lease must outlast webhooks.connect_timeout_ms + response_timeout_ms)")
        })?;
        range("webhooks.secret_grace_secs", self.secret_grace_secs, 0, 30 * 86_400)?;
        range("webhooks.max_per_tenant", u64::from(self.max_per_tenant), 1, 1_000)?;
        Ok(())
    }
}

/// Errors loading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The configuration is not valid; the message names the key.
    #[error("config {path}: {message}")]
    Invalid {
        /// The file (or the layer) it came from.
        path: String,
        /// What is wrong, with the key.
        message: String,
    },
}

/// Values set above the file: environment variables and flags, by dotted key.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    values: BTreeMap<String, (toml::Value, String)>,
}

impl Overrides {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `STARKROUTE_A__B=…` variables among `vars` (others, like `STARKROUTE_CONFIG`, are not
    /// configuration keys and are left alone).
    #[must_use]
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        for (name, raw) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
            if !rest.contains("__") {
                continue;
            }
            let key = rest.split("__").map(str::to_ascii_lowercase).collect::<Vec<_>>().join(".");
            self.values.insert(key, (env_value(&raw), name));
        }
        self
    }

    /// Sets `key` (dotted) from a flag.
    #[must_use]
    pub fn with_flag(mut self, key: &str, value: toml::Value, flag: &str) -> Self {
        self.values.insert(key.to_owned(), (value, flag.to_owned()));
        self
    }
}

/// An environment value: a TOML value when it parses as one, a string otherwise.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

impl Config {
    /// The embedded sandbox configuration.
    pub fn sandbox() -> Result<Self, ConfigError> {
        Self::parse("config/sandbox.toml (embedded)", SANDBOX_TOML)
    }

    /// Loads a configuration file, or the embedded sandbox one when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::layered(path, &Overrides::new())
    }

    /// Parses configuration text (no overrides).
    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        Self::parse_layered(path, text, &Overrides::new())
    }

    /// The file (or the embedded sandbox configuration) with the overrides on top, validated.
    pub fn layered(path: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        match path {
            None => Self::parse_layered("config/sandbox.toml (embedded)", SANDBOX_TOML, overrides),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                let mut c = Self::parse_layered(&p.display().to_string(), &text, overrides)?;
                c.base_dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                Ok(c)
            }
        }
    }

    /// Parses configuration text with overrides on top, then validates it.
    pub fn parse_layered(
        path: &str,
        text: &str,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: path.to_owned(), message };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            // toml's message already names the key and the line; keep it on one line.
            invalid(e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
        })?;
        for (key, (value, source)) in &overrides.values {
            set_path(&mut table, key, value.clone())
                .map_err(|m| invalid(format!("{key} (from {source}): {m}")))?;
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = error_key(&e.path().to_string(), &e.inner().to_string());
                let from = overrides
                    .values
                    .iter()
                    .find(|(k, _)| key == **k || key.starts_with(&format!("{k}.")))
                    .map(|(_, (_, source))| format!(" (from {source})"))
                    .unwrap_or_default();
                invalid(format!("{key}{from}: {}", e.inner()))
            })?;
        config.validate().map_err(invalid)?;
        Ok(config)
    }

    /// Checks what the types cannot: ranges, formats, uniqueness. Names the key.
    pub fn validate(&self) -> Result<(), String> {
        let api = &self.api;
        range("api.body_limit_bytes", api.body_limit_bytes as u64, 1024, 64 << 20)?;
        range("api.quote_ttl_secs", api.quote_ttl_secs, 1, 86_400)?;
        range("api.quote_retention_secs", api.quote_retention_secs, 0, 7 * 86_400)?;
        range("api.quote_cache_capacity", api.quote_cache_capacity, 1, 10_000_000)?;
        range("api.readiness_cache_secs", api.readiness_cache_secs, 0, 3600)?;
        range(
            "api.max_page",
            u64::from(api.max_page),
            1,
            u64::from(starkroute_store::ListQuery::MAX_LIMIT),
        )?;
        range("api.rate_limit_per_sec", api.rate_limit_per_sec, 0, 1_000_000)?;
        range("api.rate_limit_burst", api.rate_limit_burst, 1, 1_000_000)?;
        range("api.rate_limit_hold_ms", api.rate_limit_hold_ms, 0, 10_000)?;
        range("api.request_timeout_ms", api.request_timeout_ms, 100, 3_600_000)?;
        range("api.body_timeout_ms", api.body_timeout_ms, 100, 3_600_000)?;
        range("api.header_timeout_ms", api.header_timeout_ms, 100, 3_600_000)?;
        range("api.max_streams_per_tenant", api.max_streams_per_tenant as u64, 1, 1_000_000)?;
        range("api.max_streams_total", api.max_streams_total as u64, 1, 1_000_000)?;
        if let Some(n) = &self.network {
            if let Some(v) = n.rpc_timeout_secs {
                range("network.rpc_timeout_secs", v, 1, 3600)?;
            }
            if let Some(v) = n.rpc_connect_timeout_secs {
                range("network.rpc_connect_timeout_secs", v, 1, 600)?;
            }
        }
        let mut names = HashSet::new();
        let mut hashes = HashSet::new();
        for (i, t) in api.tenants.iter().enumerate() {
            starkroute_store::TenantId::new(t.name.clone())
                .map_err(|e| format!("api.tenants[{i}].name: {e}"))?;
            if !names.insert(t.name.as_str()) {
                return Err(format!("api.tenants[{i}].name: tenant {:?} is listed twice", t.name));
            }
            let h = parse_sha256(&t.key_sha256).ok_or_else(|| {
                format!(
                    "api.tenants[{i}].key_sha256: expected 64 hex digits (the SHA-256 of the key)"
                )
            })?;
            if !hashes.insert(h) {
                return Err(format!("api.tenants[{i}].key_sha256: the same key is listed twice"));
            }
        }
        if self.data_dir().as_os_str().is_empty() {
            return Err("store.data_dir: empty".into());
        }
        let ex = &self.executor;
        starkroute_store::LeaseOwner::new(ex.owner.clone())
            .map_err(|e| format!("executor.owner: {e}"))?;
        range("executor.poll_interval_ms", ex.poll_interval_ms, 1, 3_600_000)?;
        range("executor.lease_ms", ex.lease_ms, 100, 86_400_000)?;
        range("executor.backoff_initial_ms", ex.backoff_initial_ms, 1, 3_600_000)?;
        range("executor.backoff_max_ms", ex.backoff_max_ms, ex.backoff_initial_ms, 86_400_000)
            .map_err(|e| format!("{e} (and at least executor.backoff_initial_ms)"))?;
        range("sandbox.speed", self.sandbox.speed, 1, 7 * 86_400)?;
        self.sandbox
            .explorers
            .validate()
            .map_err(|e| e.replacen("network.explorers.", "sandbox.explorers.", 1))?;
        self.webhooks.validate()?;
        if let Some(n) = &self.network {
            n.validate(&self.topology.layers)?;
            for symbol in n.starkgate.tokens.keys() {
                if self.topology.find_token(symbol).is_none() {
                    return Err(format!(
                        "network.starkgate.tokens.{symbol}: no token {symbol:?} in [[topology.tokens]]"
                    ));
                }
            }
        }
        self.signers.validate().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.store.data_dir
    }
}

fn range(key: &str, v: u64, min: u64, max: u64) -> Result<(), String> {
    if v < min || v > max {
        return Err(format!("{key}: {v} is out of range ({min} to {max})"));
    }
    Ok(())
}

/// A SHA-256 hash from 64 hex digits.
pub fn parse_sha256(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out).ok()?;
    Some(out)
}

/// Sets a dotted key in a table, creating the tables on the way.
fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut at = table;
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err("empty key part".into());
        }
        if parts.peek().is_none() {
            at.insert(part.to_owned(), value);
            return Ok(());
        }
        let next =
            at.entry(part.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = match next {
            toml::Value::Table(t) => t,
            _ => return Err(format!("{part} is not a table")),
        };
    }
    Ok(())
}

/// The full key of a deserialization error: serde names a missing or unknown field in its
/// message, not in the path of the table that lacks (or has) it.
pub(crate) fn error_key(path: &str, message: &str) -> String {
    let field = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let path = if path == "." { "" } else { path };
    match field {
        Some(f) if !path.ends_with(f) => {
            if path.is_empty() {
                f.to_owned()
            } else {
                format!("{path}.{f}")
            }
        }
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_are_redacted_in_debug() {
        for (url, shown) in [
            (
                "https://mainnet.infura.io/v3/0123456789abcdef",
                "https://mainnet.infura.io/<redacted>",
            ),
            ("https://user:s3cret@rpc.example.com:8545", "https://rpc.example.com:8545/<redacted>"),
            ("https://rpc.example.com/?apikey=s3cret", "https://rpc.example.com/<redacted>"),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
            ("postgres://u:s3cret@db:5432/x", "postgres://db:5432/<redacted>"),
            ("s3cret", "<redacted>"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        let mut c = Config::layered(
            Some(std::path::Path::new("../../config/mainnet.toml")),
            &Overrides::new(),
        )
        .expect("mainnet.toml");
        let n = c.network.as_mut().expect("[network]");
        n.l1_rpc_url = Some("https://eth.example.com/v2/0123456789abcdef".into());
        n.starknet_rpc_url =
            Some("https://u:s3cretpw@sn.example.com/rpc?key=0123456789abcdef".into());
        n.starkex.api_url = "https://api.example.com/v1?key=0123456789abcdef".into();
        let shown = format!("{c:?}");
        for secret in ["0123456789abcdef", "s3cretpw"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("https://eth.example.com/<redacted>"), "{shown}");
    }

    #[test]
    fn embedded_sandbox_parses() {
        let c = Config::sandbox().expect("sandbox.toml must parse");
        assert!(c.topology.find_token("ART").is_some());
        assert!(!c.api.tenants.is_empty(), "the sandbox has its documented demo key");
    }

    #[test]
    fn the_embedded_copy_is_the_repositorys_sandbox_toml() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sandbox.toml");
        let text = std::fs::read(&repo).expect("config/sandbox.toml in the repository");
        assert!(
            text == SANDBOX_TOML.as_bytes(),
            "crates/server/config/sandbox.toml differs from config/sandbox.toml: copy it over"
        );
    }

    #[test]
    fn bad_key_is_named() {
        let e = Config::parse("x.toml", "[topology]\nlayers = [\"l3\"]\n").unwrap_err().to_string();
        assert!(e.contains("layers") || e.contains("l3"), "{e}");
        let e = Config::parse("x.toml", "[topology.starkex]\nnft_deposit = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nft_deposit"), "{e}");
    }

    #[test]
    fn env_and_flags_override_the_file_and_errors_name_the_source() {
        let env = [
            ("STARKROUTE_API__LISTEN".to_owned(), "127.0.0.1:9999".to_owned()),
            ("STARKROUTE_SANDBOX__SPEED".to_owned(), "60".to_owned()),
            ("STARKROUTE_CONFIG".to_owned(), "ignored.toml".to_owned()),
        ];
        let o = Overrides::new().with_env(env);
        let c = Config::parse_layered("x", SANDBOX_TOML, &o).unwrap();
        assert_eq!(c.api.listen.port(), 9999);
        assert_eq!(c.sandbox.speed, 60);
        let o = o.with_flag("api.listen", toml::Value::String("127.0.0.1:1".into()), "--listen");
        assert_eq!(Config::parse_layered("x", SANDBOX_TOML, &o).unwrap().api.listen.port(), 1);

        let bad = Overrides::new()
            .with_env([("STARKROUTE_API__LISTEN".to_owned(), "nowhere".to_owned())]);
        let e = Config::parse_layered("x", SANDBOX_TOML, &bad).unwrap_err().to_string();
        assert!(e.contains("api.listen") && e.contains("STARKROUTE_API__LISTEN"), "{e}");
        let bad =
            Overrides::new().with_env([("STARKROUTE_API__QUOTE_TTL".to_owned(), "5".to_owned())]);
        let e = Config::parse_layered("x", SANDBOX_TOML, &bad).unwrap_err().to_string();
        assert!(e.contains("api.quote_ttl"), "{e}");
        let bad =
            Overrides::new().with_env([("STARKROUTE_SANDBOX__SPEED".to_owned(), "0".to_owned())]);
        let e = Config::parse_layered("x", SANDBOX_TOML, &bad).unwrap_err().to_string();
        assert!(e.contains("sandbox.speed"), "{e}");
    }

    #[test]
    fn tenants_are_validated() {
        let t = |name: &str, h: &str| {
            format!("[topology]\n[[api.tenants]]\nname = \"{name}\"\nkey_sha256 = \"{h}\"\n")
        };
        let h = "a".repeat(64);
        assert!(Config::parse("x", &t("acme", &h)).is_ok());
        let e = Config::parse("x", &t("acme", "abc")).unwrap_err().to_string();
        assert!(e.contains("api.tenants[0].key_sha256"), "{e}");
        let e = Config::parse("x", &t("a b", &h)).unwrap_err().to_string();
        assert!(e.contains("api.tenants[0].name"), "{e}");
        let env = Overrides::new().with_env([(
            "STARKROUTE_API__TENANTS".to_owned(),
            format!("[{{ name = \"env\", key_sha256 = \"{h}\" }}]"),
        )]);
        let c = Config::parse_layered("x", "[topology]\n", &env).unwrap();
        assert_eq!(c.api.tenants[0].name, "env");
    }

    const NET: &str = "[topology]\nlayers = [\"l1\", \"starknet\"]\n[[topology.tokens]]\n\
                       symbol = \"USDC\"\nclass = \"erc20\"\ndecimals = 6\nhome = \"l1\"\n\
                       [network]\nname = \"x\"\nl1_chain_id = 11155111\n\
                       starknet_chain_id = \"SN_SEPOLIA\"\n\
                       starkex = { live = false, api_url = \"http://127.0.0.1:1\" }\n";

    #[test]
    fn live_fee_settings_default_and_are_checked_by_key() {
        let c = Config::parse("x", NET).unwrap();
        assert_eq!(c.network.unwrap().fees, FeeSettings::default());
        let with = |fees: &str| Config::parse("x", &format!("{NET}[network.fees]\n{fees}\n"));
        let c = with("refresh_ms = 500\nmax_age_secs = 10\nl1_blocks = 3\nl1_tip_percentile = 90")
            .unwrap();
        let f = c.network.unwrap().fees;
        assert_eq!(
            (f.refresh_ms, f.max_age_secs, f.l1_blocks, f.l1_tip_percentile),
            (500, 10, 3, 90)
        );
        for (fees, want) in [
            ("max_age_secs = 0", "network.fees.max_age_secs: 0 is out of range (1 to 86400)"),
            ("l1_tip_percentile = 101", "network.fees.l1_tip_percentile: 101 is out of range"),
            ("l1_blocks = 0", "network.fees.l1_blocks: 0 is out of range"),
            ("refresh_ms = 10", "network.fees.refresh_ms: 10 is out of range"),
            (
                "refresh_ms = 90000\nmax_age_secs = 60",
                "network.fees.max_age_secs: 60 s is shorter than one refresh",
            ),
            ("tip = 1", "unknown field `tip`"),
        ] {
            let e = with(fees).unwrap_err().to_string();
            assert!(e.contains(want), "{fees}: {e}");
        }
    }

    #[test]
    fn network_bridges_balances_and_signers_parse_and_are_checked() {
        let text = format!(
            "{NET}l1_confirmations = 3\n[network.starkgate.tokens.USDC]\n\
             l1_bridge = \"0x86dC0B32a5045FFa48D9a60B7e7Ca32F11faCd7B\"\n\
             l2_bridge = \"0x0028729b12ce1140cbc1e7cbc7245455d3c15fa0c7f5d2e9fc8e0441567f6b50\"\n\
             [network.min_balance]\nl1_wei = \"5\"\n\
             [[signers.l1]]\nkeystore = \"keys/l1.json\"\npassword_env = \"PW\"\n"
        );
        let c = Config::parse("x", &text).unwrap();
        let n = c.network.unwrap();
        assert_eq!(n.l1_confirmations, Some(3));
        assert_eq!(n.starkgate.tokens["USDC"].l2_bridge.to_string().len(), 66);
        assert_eq!(n.min_balance.l1_wei.0, 5);
        assert_eq!(c.signers.l1.len(), 1);

        let e = Config::parse("x", &text.replace("tokens.USDC]", "tokens.DAI]"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("network.starkgate.tokens.DAI: no token \"DAI\""), "{e}");
        let e = Config::parse(
            "x",
            &format!(
                "{NET}[network.nft_bridge]\nl1 = \"0x0000000000000000000000000000000000000001\"\n"
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("network.nft_bridge.l2: give both sides"), "{e}");
        let e =
            Config::parse("x", &format!("{NET}l1_confirmations = 0\n")).unwrap_err().to_string();
        assert!(e.contains("network.l1_confirmations: 0 is out of range"), "{e}");
        let e = Config::parse("x", &format!("{NET}[[signers.l1]]\nkeystore = \"k.json\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("signers.l1[0].password_env"), "{e}");
        let e = Config::parse("x", &format!("{NET}[[signers.l1]]\nkey = \"0x1\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("signers.l1[0].key") || e.contains("key"),
            "a private key is not a field: {e}"
        );
    }

    #[test]
    fn rpc_urls_come_from_the_environment_and_relative_keys_from_the_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.toml");
        std::fs::write(&path, NET).unwrap();
        let env = Overrides::new().with_env([(
            "STARKROUTE_NETWORK__L1_RPC_URL".to_owned(),
            "https://eth-sepolia.example/v2/KEY".to_owned(),
        )]);
        let c = Config::layered(Some(&path), &env).unwrap();
        assert_eq!(
            c.network.unwrap().l1_rpc_url.as_deref(),
            Some("https://eth-sepolia.example/v2/KEY")
        );
        assert_eq!(c.base_dir, dir.path());
    }

    #[test]
    fn explorer_templates_are_checked_at_load_and_fill_in_the_hash() {
        let c = Config::layered(
            Some(std::path::Path::new("../../config/sepolia.toml")),
            &Overrides::new(),
        )
        .expect("sepolia.toml");
        let e = &c.network.as_ref().expect("[network]").explorers;
        assert_eq!(
            e.link(starkroute_types::Layer::L1, "0xabc1").as_deref(),
            Some("https://sepolia.etherscan.io/tx/0xabc1")
        );
        assert_eq!(
            e.link(starkroute_types::Layer::Starknet, "0x5").as_deref(),
            Some("https://sepolia.voyager.online/tx/0x5")
        );
        assert_eq!(e.link(starkroute_types::Layer::StarkEx, "12"), None, "none configured");
        assert_eq!(e.link(starkroute_types::Layer::L1, "0x1/../x?y"), None, "not a plain id");
        let sandbox = Config::layered(None, &Overrides::new()).expect("sandbox");
        assert!(sandbox.network.is_none(), "the sandbox has no explorers");

        for (value, why) in [
            ("http://etherscan.io/tx/{hash}", "expected https"),
            ("https://etherscan.io/tx/", "exactly one {hash}"),
            ("https://etherscan.io/tx/{hash}/{hash}", "exactly one {hash}"),
            ("https://u:p@etherscan.io/tx/{hash}", "credentials"),
            ("etherscan.io/tx/{hash}", "not a URL"),
        ] {
            let o = Overrides::new()
                .with_env([("STARKROUTE_NETWORK__EXPLORERS__L1".to_owned(), value.to_owned())]);
            let err = Config::layered(Some(std::path::Path::new("../../config/sepolia.toml")), &o)
                .expect_err(value)
                .to_string();
            assert!(err.contains("network.explorers.l1") && err.contains(why), "{value}: {err}");
        }
        // The sandbox's own, none by default, checked the same way.
        assert!(sandbox.sandbox.explorers.l1.is_none());
        let o = Overrides::new().with_env([(
            "STARKROUTE_SANDBOX__EXPLORERS__L1".to_owned(),
            "ftp://x/{hash}".to_owned(),
        )]);
        let err = Config::layered(None, &o).expect_err("ftp").to_string();
        assert!(err.contains("sandbox.explorers.l1"), "{err}");
        // Plain http on a loopback host (a local explorer) is fine.
        for ok in
            ["http://127.0.0.1:4000/tx/{hash}", "http://localhost/tx/{hash}", "http://[::1]/{hash}"]
        {
            let o = Overrides::new()
                .with_env([("STARKROUTE_NETWORK__EXPLORERS__STARKEX".to_owned(), ok.to_owned())]);
            Config::layered(Some(std::path::Path::new("../../config/sepolia.toml")), &o)
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }
}
