//! Deploys the committed contract artifacts (`contracts/out/*.json`, built by
//! `contracts/build.sh`) on a local node: messaging, StarkEx core, StarkGate bridge, NFT bridge,
//! ImmutableX's registration helper.

use alloy::network::Ethereum;
use alloy::primitives::{Address, TxKind, U256};
use alloy::providers::RootProvider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolConstructor};
use starkroute_crypto::{sn_keccak, VaultTree};
use starkroute_types::{felt_to_u256, Felt};

use crate::adapter::{transact, L1Contracts};
use crate::bindings::{
    NftBridge, Registration, StarkExCore, StarkGateBridge, StarknetMessaging, TestERC20, TestERC721,
};
use crate::error::{EthError, Result};

/// The creation bytecode of a committed artifact.
pub fn bytecode(contract: &str) -> Result<Vec<u8>> {
    let json = match contract {
        "StarkExCore" => include_str!("../../../contracts/out/StarkExCore.json"),
        "Registration" => include_str!("../../../contracts/out/Registration.json"),
        "StarknetMessaging" => include_str!("../../../contracts/out/StarknetMessaging.json"),
        "StarkGateBridge" => include_str!("../../../contracts/out/StarkGateBridge.json"),
        "NftBridge" => include_str!("../../../contracts/out/NftBridge.json"),
        "TestERC20" => include_str!("../../../contracts/out/TestERC20.json"),
        "TestERC721" => include_str!("../../../contracts/out/TestERC721.json"),
        other => return Err(EthError::Invalid(format!("no artifact {other}"))),
    };
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| EthError::Invalid(format!("{contract}: {e}")))?;
    let hex_code = v["bytecode"].as_str().unwrap_or_default();
    hex::decode(hex_code.trim_start_matches("0x"))
        .map_err(|e| EthError::Invalid(format!("{contract} bytecode: {e}")))
}

/// Deploys `contract` with ABI-encoded constructor arguments; returns its address.
pub async fn deploy(
    provider: &RootProvider<Ethereum>,
    deployer: &PrivateKeySigner,
    contract: &str,
    args: Vec<u8>,
) -> Result<Address> {
    let mut code = bytecode(contract)?;
    code.extend_from_slice(&args);
    let (_, addr) = transact(provider, deployer, TxKind::Create, U256::ZERO, code).await?;
    addr.ok_or_else(|| EthError::Refused(format!("{contract}: no contract address in the receipt")))
}

/// Sends one call from `signer` and waits for it (set-up, operator actions).
pub async fn call<C: SolCall>(
    provider: &RootProvider<Ethereum>,
    signer: &PrivateKeySigner,
    to: Address,
    value: U256,
    call: &C,
) -> Result<()> {
    transact(provider, signer, TxKind::Call(to), value, call.abi_encode()).await.map(|_| ())
}

/// The L2 side the L1 bridges are deployed against.
#[derive(Debug, Clone, Copy)]
pub struct L2Bridges {
    /// The StarkGate L2 bridge.
    pub starkgate: Felt,
    /// The NFT bridge's L2 side.
    pub nft: Felt,
}

/// Deploys the messaging contract (the deployer is its operator), the StarkEx core (the
/// deployer is operator and tokens admin; the vault root starts as the empty tree's), the
/// StarkGate bridge with ether enrolled, and the NFT bridge.
pub async fn deploy_system(
    provider: &RootProvider<Ethereum>,
    deployer: &PrivateKeySigner,
    l2: L2Bridges,
) -> Result<L1Contracts> {
    deploy_system_operated_by(provider, deployer, l2, deployer.address()).await
}

/// [`deploy_system`] with another StarkEx operator than the deployer (who stays the messaging
/// contract's operator and the tokens admin): the two post to L1 independently, so giving them
/// one key would make their transactions race for its nonces.
pub async fn deploy_system_operated_by(
    provider: &RootProvider<Ethereum>,
    deployer: &PrivateKeySigner,
    l2: L2Bridges,
    starkex_operator: Address,
) -> Result<L1Contracts> {
    let me = deployer.address();
    let messaging = deploy(
        provider,
        deployer,
        "StarknetMessaging",
        StarknetMessaging::constructorCall { messageCancellationDelay_: U256::from(5 * 86_400) }
            .abi_encode(),
    )
    .await?;
    let starkex_core = deploy(
        provider,
        deployer,
        "StarkExCore",
        StarkExCore::constructorCall {
            operator_: starkex_operator,
            tokensAdmin_: me,
            initialVaultRoot: felt_to_u256(&VaultTree::new().root()),
        }
        .abi_encode(),
    )
    .await?;
    let starkgate = deploy(
        provider,
        deployer,
        "StarkGateBridge",
        StarkGateBridge::constructorCall { messaging, l2Bridge: felt_to_u256(&l2.starkgate) }
            .abi_encode(),
    )
    .await?;
    call(
        provider,
        deployer,
        starkgate,
        U256::ZERO,
        &StarkGateBridge::enrollTokenCall { token: crate::STARKGATE_ETH },
    )
    .await?;
    let nft_bridge = deploy(
        provider,
        deployer,
        "NftBridge",
        NftBridge::constructorCall {
            messaging,
            l2Bridge_: felt_to_u256(&l2.nft),
            selector: felt_to_u256(&sn_keccak(b"withdraw_auto_from_l1")),
        }
        .abi_encode(),
    )
    .await?;
    Ok(L1Contracts {
        starkex_core,
        messaging,
        starkgate,
        nft_bridge,
        l2_starkgate_bridge: l2.starkgate,
        starkgate_per_token: Vec::new(),
    })
}

/// Deploys ImmutableX's registration helper ([`Registration`]: `isRegistered`, and registration
/// followed by a withdrawal) over the StarkEx core at `core`: the `registrationContractAddress`
/// ImmutableX's client needs beside the core's.
pub async fn deploy_registration(
    provider: &RootProvider<Ethereum>,
    deployer: &PrivateKeySigner,
    core: Address,
) -> Result<Address> {
    deploy(
        provider,
        deployer,
        "Registration",
        Registration::constructorCall { imx_: core }.abi_encode(),
    )
    .await
}

/// Deploys a [`TestERC20`] minted by the deployer.
pub async fn deploy_erc20(
    provider: &RootProvider<Ethereum>,
    deployer: &PrivateKeySigner,
    symbol: &str,
    decimals: u8,
) -> Result<Address> {
    let args = TestERC20::constructorCall {
        name_: symbol.to_owned(),
        symbol_: symbol.to_owned(),
        decimals_: decimals,
    };
    deploy(provider, deployer, "TestERC20", args.abi_encode()).await
}

/// Deploys a [`TestERC721`] whose minter is `minter` (the deployer when `None`).
pub async fn deploy_erc721(
    provider: &RootProvider<Ethereum>,
    deployer: &PrivateKeySigner,
    symbol: &str,
    minter: Option<Address>,
) -> Result<Address> {
    let args = TestERC721::constructorCall {
        name_: symbol.to_owned(),
        symbol_: symbol.to_owned(),
        minter_: minter.unwrap_or(Address::ZERO),
    };
    deploy(provider, deployer, "TestERC721", args.abi_encode()).await
}
