//! Declares and deploys the project's Cairo L2 bridge contracts (`contracts/l2/src/*.cairo`,
//! built by `contracts/l2/build.sh` into the committed `contracts/l2/out/`) from a funded
//! account, on a devnet or any node that takes V3 transactions.
//!
//! The L1 bridges take the L2 bridges' addresses in their constructors, so the order is:
//! [`L2Deployer::deploy_bridges`] → deploy the L1 side (`starkroute-ethereum`'s
//! `deploy_system`) → [`L2Deployer::connect_l1`]; then bridged tokens and collections with
//! [`L2Deployer::deploy_bridged_erc20`] and [`L2Deployer::deploy_bridged_erc721`].

use std::sync::Arc;
use std::time::Duration;

use starknet_accounts::{Account, ExecutionEncoding, SingleOwnerAccount};
use starknet_core::types::contract::SierraClass;
use starknet_core::types::{
    BlockId, BlockTag, Call, ExecutionResult, Felt, FlattenedSierraClass, StarknetError,
};
use starknet_core::utils::get_contract_address;
use starknet_providers::jsonrpc::{HttpTransport, JsonRpcClient};
use starknet_providers::{Provider, ProviderError};
use starknet_signers::{LocalWallet, SigningKey};
use starkroute_crypto::selector;
use starkroute_types::EthAddress;

use crate::{Error, Result};

/// The Universal Deployer Contract (OpenZeppelin 1.x) starknet-devnet predeploys.
pub const UDC_ADDRESS: &str = "0x02ceed65a4bd731034c01113685c831b01c15d7d432f71afb1cf1634b53a2125";

/// One of the project's Cairo contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L2Contract {
    /// An ERC-20 minted and burnt by the StarkGate L2 bridge.
    BridgedErc20,
    /// The StarkGate L2 bridge.
    TokenBridge,
    /// An ERC-721 minted by its owner or by the NFT bridge.
    BridgedErc721,
    /// The Starklane-style NFT bridge, L2 side.
    NftBridge,
}

impl L2Contract {
    /// All of them.
    pub const ALL: [Self; 4] =
        [Self::BridgedErc20, Self::TokenBridge, Self::BridgedErc721, Self::NftBridge];

    /// The contract's name (its artifact's file name).
    pub fn name(self) -> &'static str {
        match self {
            Self::BridgedErc20 => "BridgedERC20",
            Self::TokenBridge => "TokenBridge",
            Self::BridgedErc721 => "BridgedERC721",
            Self::NftBridge => "NftBridge",
        }
    }

    fn class_json(self) -> &'static str {
        match self {
            Self::BridgedErc20 => {
                include_str!("../../../contracts/l2/out/BridgedERC20.contract_class.json")
            }
            Self::TokenBridge => {
                include_str!("../../../contracts/l2/out/TokenBridge.contract_class.json")
            }
            Self::BridgedErc721 => {
                include_str!("../../../contracts/l2/out/BridgedERC721.contract_class.json")
            }
            Self::NftBridge => {
                include_str!("../../../contracts/l2/out/NftBridge.contract_class.json")
            }
        }
    }
}

const MANIFEST: &str = include_str!("../../../contracts/l2/out/manifest.json");

/// A committed contract class, ready to declare.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Which contract.
    pub contract: L2Contract,
    /// The Sierra class as a DECLARE carries it.
    pub class: Arc<FlattenedSierraClass>,
    /// Its class hash.
    pub class_hash: Felt,
    /// The compiled (CASM) class hash starknet-devnet 0.10 checks (V2, Blake2s), from the
    /// manifest `contracts/l2/build.sh` wrote.
    pub compiled_class_hash: Felt,
}

fn manifest_felt(contract: L2Contract, field: &str) -> Result<Felt> {
    let v: serde_json::Value = serde_json::from_str(MANIFEST)
        .map_err(|e| Error::Deploy(format!("contracts/l2/out/manifest.json: {e}")))?;
    let s = v[contract.name()][field].as_str().ok_or_else(|| {
        Error::Deploy(format!("contracts/l2/out/manifest.json has no {}.{field}", contract.name()))
    })?;
    Felt::from_hex(s)
        .map_err(|e| Error::Deploy(format!("manifest {}.{field}: {e}", contract.name())))
}

/// Loads a committed artifact; refuses one whose class hash is not the manifest's (the
/// artifacts were rebuilt without the manifest, or edited).
pub fn artifact(contract: L2Contract) -> Result<Artifact> {
    let name = contract.name();
    let sierra: SierraClass = serde_json::from_str(contract.class_json())
        .map_err(|e| Error::Deploy(format!("{name} contract class: {e}")))?;
    let class = sierra.flatten().map_err(|e| Error::Deploy(format!("{name} ABI: {e}")))?;
    let class_hash = class.class_hash();
    let expected = manifest_felt(contract, "class_hash")?;
    if class_hash != expected {
        return Err(Error::Deploy(format!(
            "{name}: class hash {class_hash:#x} is not the manifest's {expected:#x}; run \
             contracts/l2/build.sh"
        )));
    }
    Ok(Artifact {
        contract,
        class: Arc::new(class),
        class_hash,
        compiled_class_hash: manifest_felt(contract, "compiled_class_hash")?,
    })
}

/// The L1 bridges the L2 ones exchange messages with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1BridgeAddrs {
    /// The StarkGate L1 bridge (`StarkGateBridge.sol`).
    pub starkgate: EthAddress,
    /// The NFT bridge's L1 side (`NftBridge.sol`).
    pub nft_bridge: EthAddress,
}

/// The deployed L2 bridges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Bridges {
    /// The StarkGate L2 bridge (`TokenBridge`); its governor is the deploying account.
    pub token_bridge: Felt,
    /// The NFT bridge (`NftBridge`); its admin is the deploying account.
    pub nft_bridge: Felt,
}

type Client = Arc<JsonRpcClient<HttpTransport>>;

/// Declares, deploys and sets up the contracts from one account it holds the key of.
pub struct L2Deployer {
    provider: Client,
    account: SingleOwnerAccount<Client, LocalWallet>,
}

impl std::fmt::Debug for L2Deployer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Deployer").field("account", &self.account.address()).finish()
    }
}

/// How long [`L2Deployer`] waits for a transaction's receipt (devnet includes at once; a
/// network may take a block).
const RECEIPT_POLLS: u32 = 600;
const RECEIPT_POLL_INTERVAL: Duration = Duration::from_millis(100);

impl L2Deployer {
    /// Connects to the node as `account` (an OpenZeppelin-style account, Cairo 1 `__execute__`)
    /// with its private key.
    pub async fn connect(rpc_url: &str, account: Felt, private_key: Felt) -> Result<Self> {
        let url: starknet_providers::Url = rpc_url
            .parse()
            .map_err(|e| Error::Build(format!("Starknet RPC URL {rpc_url:?}: {e}")))?;
        let provider = Arc::new(JsonRpcClient::new(HttpTransport::new(url)));
        let chain_id = provider.chain_id().await?;
        let signer = LocalWallet::from(SigningKey::from_secret_scalar(private_key));
        let mut account = SingleOwnerAccount::new(
            provider.clone(),
            signer,
            account,
            chain_id,
            ExecutionEncoding::New,
        );
        account.set_block_id(BlockId::Tag(BlockTag::PreConfirmed));
        Ok(Self { provider, account })
    }

    /// The deploying account.
    pub fn address(&self) -> Felt {
        self.account.address()
    }

    async fn wait(&self, tx: Felt, what: &str) -> Result<()> {
        for _ in 0..RECEIPT_POLLS {
            match self.provider.get_transaction_receipt(tx).await {
                Ok(r) => {
                    return match r.receipt.execution_result() {
                        ExecutionResult::Succeeded => Ok(()),
                        ExecutionResult::Reverted { reason } => {
                            Err(Error::Deploy(format!("{what} ({tx:#x}) reverted: {reason}")))
                        }
                    };
                }
                Err(ProviderError::StarknetError(StarknetError::TransactionHashNotFound)) => {
                    tokio::time::sleep(RECEIPT_POLL_INTERVAL).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Deploy(format!("{what} ({tx:#x}) was not included")))
    }

    /// Whether a class is declared.
    pub async fn is_declared(&self, class_hash: Felt) -> Result<bool> {
        match self.provider.get_class(BlockId::Tag(BlockTag::PreConfirmed), class_hash).await {
            Ok(_) => Ok(true),
            Err(ProviderError::StarknetError(StarknetError::ClassHashNotFound)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Declares a contract's class unless it is declared already; returns its class hash.
    pub async fn declare(&self, contract: L2Contract) -> Result<Felt> {
        let a = artifact(contract)?;
        if self.is_declared(a.class_hash).await? {
            return Ok(a.class_hash);
        }
        let sent = self
            .account
            .declare_v3(a.class.clone(), a.compiled_class_hash)
            .send()
            .await
            .map_err(|e| Error::Deploy(format!("declaring {}: {e}", contract.name())))?;
        self.wait(sent.transaction_hash, &format!("declaring {}", contract.name())).await?;
        Ok(a.class_hash)
    }

    /// Sends `calls` as one INVOKE and waits for it to succeed; returns its hash.
    pub async fn invoke(&self, calls: Vec<Call>, what: &str) -> Result<Felt> {
        let sent = self
            .account
            .execute_v3(calls)
            .send()
            .await
            .map_err(|e| Error::Deploy(format!("{what}: {e}")))?;
        self.wait(sent.transaction_hash, what).await?;
        Ok(sent.transaction_hash)
    }

    /// Declares (if needed) and deploys `contract` through the UDC, from zero (its address
    /// depends only on `salt`, the class and `constructor`); returns its address.
    pub async fn deploy(
        &self,
        contract: L2Contract,
        salt: Felt,
        constructor: &[Felt],
    ) -> Result<Felt> {
        let class_hash = self.declare(contract).await?;
        let address = get_contract_address(salt, class_hash, constructor, Felt::ZERO);
        let mut calldata = vec![class_hash, salt, Felt::ZERO, Felt::from(constructor.len())];
        calldata.extend_from_slice(constructor);
        let udc =
            Felt::from_hex(UDC_ADDRESS).map_err(|e| Error::Build(format!("UDC address: {e}")))?;
        let call = Call { to: udc, selector: sel("deploy_contract")?, calldata };
        self.invoke(vec![call], &format!("deploying {}", contract.name())).await?;
        Ok(address)
    }

    /// Deploys the StarkGate L2 bridge and the NFT bridge, both governed by this account.
    /// `salt` makes their addresses distinct from an earlier deployment's.
    pub async fn deploy_bridges(&self, salt: Felt) -> Result<L2Bridges> {
        let me = self.address();
        let token_bridge = self.deploy(L2Contract::TokenBridge, salt, &[me]).await?;
        let nft_bridge = self.deploy(L2Contract::NftBridge, salt, &[me]).await?;
        Ok(L2Bridges { token_bridge, nft_bridge })
    }

    /// Tells the L2 bridges which L1 bridges they exchange messages with (once; both
    /// `set_l1_bridge` calls in one transaction).
    pub async fn connect_l1(&self, l2: &L2Bridges, l1: &L1BridgeAddrs) -> Result<()> {
        let calls = vec![
            Call {
                to: l2.token_bridge,
                selector: sel("set_l1_bridge")?,
                calldata: vec![l1.starkgate.to_felt()],
            },
            Call {
                to: l2.nft_bridge,
                selector: sel("set_l1_bridge")?,
                calldata: vec![l1.nft_bridge.to_felt()],
            },
        ];
        self.invoke(calls, "set_l1_bridge").await.map(|_| ())
    }

    /// Deploys a [`L2Contract::BridgedErc20`] minted by the StarkGate L2 bridge and registers
    /// it there as the L2 token of `l1_token`; returns its address. `name` and `symbol` are
    /// Cairo short strings (at most 31 ASCII characters).
    pub async fn deploy_bridged_erc20(
        &self,
        l2: &L2Bridges,
        l1_token: &EthAddress,
        name: &str,
        symbol: &str,
        decimals: u8,
    ) -> Result<Felt> {
        let ctor =
            [short_string(name)?, short_string(symbol)?, Felt::from(decimals), l2.token_bridge];
        let token = self.deploy(L2Contract::BridgedErc20, l1_token.to_felt(), &ctor).await?;
        let call = Call {
            to: l2.token_bridge,
            selector: sel("register_token")?,
            calldata: vec![l1_token.to_felt(), token],
        };
        self.invoke(vec![call], "register_token").await?;
        Ok(token)
    }

    /// Deploys a [`L2Contract::BridgedErc721`] owned by `owner` (who may `mint`) and
    /// registers it with the NFT bridge as the pair of `collection_l1`; `native_l2` says
    /// whether the collection lives on L2 (the bridge escrows it) or mirrors an L1 one (the
    /// bridge mints and burns it). Returns its address.
    pub async fn deploy_bridged_erc721(
        &self,
        l2: &L2Bridges,
        collection_l1: &EthAddress,
        name: &str,
        symbol: &str,
        owner: Felt,
        native_l2: bool,
    ) -> Result<Felt> {
        let ctor = [short_string(name)?, short_string(symbol)?, owner, l2.nft_bridge];
        let collection =
            self.deploy(L2Contract::BridgedErc721, collection_l1.to_felt(), &ctor).await?;
        let call = Call {
            to: l2.nft_bridge,
            selector: sel("register_collection")?,
            calldata: vec![collection_l1.to_felt(), collection, Felt::from(u8::from(native_l2))],
        };
        self.invoke(vec![call], "register_collection").await?;
        Ok(collection)
    }
}

/// Deploys both L2 bridges from `account` (see [`L2Deployer::deploy_bridges`]).
pub async fn deploy_bridges(
    rpc_url: &str,
    account: Felt,
    private_key: Felt,
    salt: Felt,
) -> Result<L2Bridges> {
    L2Deployer::connect(rpc_url, account, private_key).await?.deploy_bridges(salt).await
}

fn sel(name: &str) -> Result<Felt> {
    selector(name).map_err(|e| Error::Build(format!("selector of {name:?}: {e}")))
}

/// A Cairo short string: at most 31 ASCII bytes, big-endian in one felt.
pub fn short_string(s: &str) -> Result<Felt> {
    if s.len() > 31 || !s.is_ascii() {
        return Err(Error::Build(format!("{s:?} is not a Cairo short string (31 ASCII bytes)")));
    }
    Ok(Felt::from_bytes_be_slice(s.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_artifact_matches_its_manifest() {
        for c in L2Contract::ALL {
            let a = artifact(c).unwrap();
            assert_ne!(a.compiled_class_hash, Felt::ZERO, "{}", c.name());
            assert!(!a.class.entry_points_by_type.external.is_empty(), "{}", c.name());
        }
    }

    #[test]
    fn the_bridges_expose_their_l1_handlers() {
        let handler = |c: L2Contract| {
            artifact(c)
                .unwrap()
                .class
                .entry_points_by_type
                .l1_handler
                .iter()
                .map(|e| e.selector)
                .collect::<Vec<_>>()
        };
        assert_eq!(handler(L2Contract::TokenBridge), vec![sel("handle_token_deposit").unwrap()]);
        assert_eq!(handler(L2Contract::NftBridge), vec![sel("withdraw_auto_from_l1").unwrap()]);
    }

    #[test]
    fn short_strings() {
        assert_eq!(short_string("ETH").unwrap(), Felt::from(0x455448u32));
        assert!(short_string(&"x".repeat(32)).is_err());
        assert!(short_string("é").is_err());
    }
}
