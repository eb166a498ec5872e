//! Deploys the contracts of a local topology on fresh nodes: the L2 bridges on Starknet, the L1
//! contracts against them (messaging, StarkEx core, StarkGate, NFT bridge), a USDC bridged to
//! Starknet and listed on StarkEx, an ERC-721 collection native to Starknet whose L1 twin the NFT
//! bridge mints, and the StarkEx asset registrations. Every address depends only on the
//! deployers' keys and nonces, so fresh nodes with the same seeds give the same addresses.

use alloy::network::Ethereum;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use starkroute_crypto::{asset_info, asset_type, registration_signature, StarkPrivateKey};
use starkroute_ethereum::bindings::{NftBridge, StarkExCore, StarkGateBridge, TestERC20};
use starkroute_ethereum::deploy::{self, L2Bridges as L1SideOfL2};
use starkroute_ethereum::L1Contracts;
use starkroute_starknet::deploy::{L1BridgeAddrs, L2Bridges, L2Deployer};
use starkroute_types::{felt_to_u256, AssetClass, EthAddress, Felt, Quantum, StarkKey};

use crate::{Error, Result};

/// StarkEx's quantum for ether (ImmutableX's).
pub const ETH_QUANTUM: u128 = 100_000_000;
/// StarkEx's quantum for the USDC test token.
pub const USDC_QUANTUM: u128 = 1;

/// Who deploys and operates.
#[derive(Clone)]
pub struct Deployers {
    /// Deploys the L1 contracts; tokens admin and governor; operator of the messaging contract
    /// (devnet's postman signs with this key).
    pub l1: PrivateKeySigner,
    /// Operator of the StarkEx core contract (posts the engine's batches).
    pub starkex_operator: PrivateKeySigner,
    /// A funded Starknet account (address, private key) that declares and deploys the L2
    /// contracts and owns the NFT collection.
    pub l2: (Felt, Felt),
}

impl std::fmt::Debug for Deployers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployers")
            .field("l1", &self.l1.address())
            .field("starkex_operator", &self.starkex_operator.address())
            .field("l2", &self.l2.0)
            .finish()
    }
}

/// A token's contract on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// On L1.
    pub l1: Address,
    /// On Starknet.
    pub l2: Felt,
}

/// Everything deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    /// The L1 contracts.
    pub l1: L1Contracts,
    /// The StarkGate L2 bridge.
    pub l2_token_bridge: Felt,
    /// The NFT bridge's L2 side.
    pub l2_nft_bridge: Felt,
    /// USDC (6 decimals): minted on L1, bridged by StarkGate, listed on StarkEx with quantum 1.
    pub usdc: Pair,
    /// ART, an ERC-721 collection native to Starknet (escrowed by the NFT bridge when it leaves;
    /// its L1 twin is minted by the L1 NFT bridge), listed on StarkEx.
    pub art: Pair,
    /// ImmutableX's registration helper over the StarkEx core (`isRegistered`,
    /// `registerAndWithdraw…`): the `registrationContractAddress` of ImmutableX's client.
    pub registration: Address,
}

/// What [`deploy_l1`] deployed.
#[derive(Debug, Clone)]
pub struct L1Deployed {
    /// The L1 contracts.
    pub contracts: L1Contracts,
    /// USDC on L1.
    pub usdc: Address,
    /// ImmutableX's registration helper over the StarkEx core.
    pub registration: Address,
}

fn node(what: &str) -> impl Fn(starkroute_ethereum::EthError) -> Error + '_ {
    move |e| Error::Setup(format!("{what}: {e}"))
}

fn l2(what: &str) -> impl Fn(starkroute_starknet::Error) -> Error + '_ {
    move |e| Error::Setup(format!("{what}: {e}"))
}

fn eth(a: Address) -> Result<EthAddress> {
    EthAddress::new(a).map_err(|e| Error::Setup(format!("{a}: {e}")))
}

/// The StarkEx asset type of an L1 token with a quantum.
pub fn starkex_asset_type(
    class: AssetClass,
    token: Option<Address>,
    quantum: u128,
) -> Result<Felt> {
    let token = token.map(eth).transpose()?;
    let info = asset_info(class, token.as_ref()).map_err(|e| Error::Setup(e.to_string()))?;
    let q = Quantum::new(quantum).map_err(|e| Error::Setup(e.to_string()))?;
    Ok(asset_type(&info, q).0)
}

/// Deploys the L1 contracts against L2 bridges at `l2` (which may not exist: an L1-only
/// topology), with ether and USDC listed on StarkEx, and ImmutableX's registration helper.
pub async fn deploy_l1(
    provider: &RootProvider<Ethereum>,
    who: &Deployers,
    l2: L1SideOfL2,
) -> Result<L1Deployed> {
    let contracts =
        deploy::deploy_system_operated_by(provider, &who.l1, l2, who.starkex_operator.address())
            .await
            .map_err(node("L1 contracts"))?;
    let usdc = deploy::deploy_erc20(provider, &who.l1, "USDC", 6).await.map_err(node("USDC"))?;
    for (class, token, quantum) in
        [(AssetClass::Eth, None, ETH_QUANTUM), (AssetClass::Erc20, Some(usdc), USDC_QUANTUM)]
    {
        list_on_starkex(provider, who, &contracts, class, token, quantum).await?;
    }
    let registration = deploy::deploy_registration(provider, &who.l1, contracts.starkex_core)
        .await
        .map_err(node("Registration"))?;
    Ok(L1Deployed { contracts, usdc, registration })
}

/// `registerToken(assetType, assetInfo, quantum)` on the StarkEx core (as tokens admin).
pub async fn list_on_starkex(
    provider: &RootProvider<Ethereum>,
    who: &Deployers,
    contracts: &L1Contracts,
    class: AssetClass,
    token: Option<Address>,
    quantum: u128,
) -> Result<()> {
    let info = asset_info(class, token.map(eth).transpose()?.as_ref())
        .map_err(|e| Error::Setup(e.to_string()))?;
    let call = StarkExCore::registerToken_1Call {
        assetType: felt_to_u256(&starkex_asset_type(class, token, quantum)?),
        assetInfo: info.into(),
        quantum: U256::from(quantum),
    };
    deploy::call(provider, &who.l1, contracts.starkex_core, U256::ZERO, &call)
        .await
        .map_err(node("registerToken"))
}

/// Registers `stark`'s public key to `eth` on the StarkEx core (`registerEthAddress`, the
/// Stark signature checked on-chain); anyone may send it.
pub async fn register_on_starkex(
    provider: &RootProvider<Ethereum>,
    sender: &PrivateKeySigner,
    contracts: &L1Contracts,
    eth_address: Address,
    stark: &StarkPrivateKey,
) -> Result<StarkKey> {
    let key = stark.public_key();
    let sig = registration_signature(stark, &eth(eth_address)?)
        .map_err(|e| Error::Setup(format!("registration signature: {e}")))?;
    let call = StarkExCore::registerEthAddressCall {
        ethKey: eth_address,
        starkKey: key.to_u256(),
        starkSignature: sig.to_vec().into(),
    };
    deploy::call(provider, sender, contracts.starkex_core, U256::ZERO, &call)
        .await
        .map_err(node("registerEthAddress"))?;
    Ok(key)
}

/// Deploys the whole topology (see the module's documentation).
pub async fn deploy_all(
    provider: &RootProvider<Ethereum>,
    starknet_rpc: &str,
    who: &Deployers,
) -> Result<Deployment> {
    let l2d =
        L2Deployer::connect(starknet_rpc, who.l2.0, who.l2.1).await.map_err(l2("L2 deployer"))?;
    let bridges: L2Bridges = l2d.deploy_bridges(Felt::ONE).await.map_err(l2("L2 bridges"))?;
    let side = L1SideOfL2 { starkgate: bridges.token_bridge, nft: bridges.nft_bridge };
    let L1Deployed { contracts, usdc: usdc_l1, registration } =
        deploy_l1(provider, who, side).await?;
    l2d.connect_l1(
        &bridges,
        &L1BridgeAddrs {
            starkgate: eth(contracts.starkgate)?,
            nft_bridge: eth(contracts.nft_bridge)?,
        },
    )
    .await
    .map_err(l2("set_l1_bridge"))?;

    let enroll = StarkGateBridge::enrollTokenCall { token: usdc_l1 };
    deploy::call(provider, &who.l1, contracts.starkgate, U256::ZERO, &enroll)
        .await
        .map_err(node("enrollToken"))?;
    let usdc_l2 = l2d
        .deploy_bridged_erc20(&bridges, &eth(usdc_l1)?, "USD Coin", "USDC", 6)
        .await
        .map_err(l2("USDC on Starknet"))?;

    let art_l1 = deploy::deploy_erc721(provider, &who.l1, "ART", Some(contracts.nft_bridge))
        .await
        .map_err(node("ART on L1"))?;
    let art_l2 = l2d
        .deploy_bridged_erc721(&bridges, &eth(art_l1)?, "Art", "ART", who.l2.0, true)
        .await
        .map_err(l2("ART on Starknet"))?;
    let register = NftBridge::registerCollectionCall {
        collectionL1: art_l1,
        collectionL2: felt_to_u256(&art_l2),
        nativeL1: false,
    };
    deploy::call(provider, &who.l1, contracts.nft_bridge, U256::ZERO, &register)
        .await
        .map_err(node("registerCollection"))?;
    list_on_starkex(provider, who, &contracts, AssetClass::Erc721, Some(art_l1), 1).await?;

    Ok(Deployment {
        l1: contracts,
        l2_token_bridge: bridges.token_bridge,
        l2_nft_bridge: bridges.nft_bridge,
        usdc: Pair { l1: usdc_l1, l2: usdc_l2 },
        art: Pair { l1: art_l1, l2: art_l2 },
        registration,
    })
}

/// Mints `amount` USDC on L1 to `to` (the test token's `mint`, open to its deployer).
pub async fn mint_usdc(
    provider: &RootProvider<Ethereum>,
    who: &Deployers,
    usdc: Address,
    to: Address,
    amount: U256,
) -> Result<()> {
    let call = TestERC20::mintCall { to, amount };
    deploy::call(provider, &who.l1, usdc, U256::ZERO, &call).await.map_err(node("USDC mint"))
}

/// Whether the L1 node has code at `address` (a deployment found in place).
pub async fn has_code(provider: &RootProvider<Ethereum>, address: Address) -> Result<bool> {
    let code = provider
        .get_code_at(address)
        .await
        .map_err(|e| Error::Node(format!("eth_getCode {address}: {e}")))?;
    Ok(!code.is_empty())
}

/// Mints ART `id` on Starknet to `to` (the collection's owner, the L2 deployer, may `mint`).
pub async fn mint_art_on_starknet(
    starknet_rpc: &str,
    who: &Deployers,
    art: Felt,
    to: Felt,
    id: u64,
) -> Result<()> {
    let l2d =
        L2Deployer::connect(starknet_rpc, who.l2.0, who.l2.1).await.map_err(l2("L2 deployer"))?;
    let selector = starkroute_crypto::selector("mint")
        .map_err(|e| Error::Setup(format!("selector of mint: {e}")))?;
    let call = starknet_core::types::Call {
        to: art,
        selector,
        calldata: vec![to, Felt::from(id), Felt::ZERO],
    };
    l2d.invoke(vec![call], "mint ART").await.map(|_| ()).map_err(l2("mint ART"))
}
