//! One protocol plan, two backends: every L1 leg kind, for every asset class and arbitrary
//! accounts and amounts, is planned once by `starkroute_protocol::plan_l1_leg`; the plan is what
//! the sandbox stores and executes (its `L1Call`s, JSON round trip and the same target
//! contract), and the alloy adapter encodes each call into calldata that the contract's ABI
//! decodes back, for the same contract, canonically.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolInterface;
use async_trait::async_trait;
use proptest::prelude::*;
use starkroute_ethereum::bindings::{
    NftBridge, StarkExCore, StarkGateBridge, StarknetMessaging, TestERC20, TestERC721,
};
use starkroute_ethereum::encode;
use starkroute_layer::{EscapeProof, LegIntent, MessageToL1, Result};
use starkroute_protocol::{plan_l1_leg, L1Call, L1Contracts, L1Reads};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EthAddress, Felt, Layer, LegKind, Position, Quantum,
    StarkExListing, StarkKey, StarknetAddress, Token, TokenId, VaultId,
};

/// A chain on which every leg can be planned: keys registered, vaults allocated, the exchange
/// frozen (for escapes) with a full withdrawal requested long ago, balances to claim, messages
/// consumable.
struct Ready {
    frozen: bool,
    nft_bridge: EthAddress,
    asset_id: Felt,
}

#[async_trait]
impl L1Reads for Ready {
    async fn eth_key_of(&self, _: &StarkKey) -> Result<Option<EthAddress>> {
        Ok(Some(addr(0xabc)))
    }
    async fn nonce(&self, _: &EthAddress) -> Result<u64> {
        Ok(7)
    }
    async fn timestamp(&self) -> Result<u64> {
        Ok(100 * 86_400)
    }
    async fn is_frozen(&self) -> Result<bool> {
        Ok(self.frozen)
    }
    async fn full_withdrawal_requested_at(&self, _: U256, _: VaultId) -> Result<u64> {
        Ok(86_400)
    }
    async fn vault_root(&self) -> Result<Felt> {
        Ok(Felt::from(0x1234u64))
    }
    async fn withdrawal_balance(&self, _: U256, _: &Felt) -> Result<U256> {
        Ok(U256::from(5))
    }
    async fn starkgate_deposit_fee(&self) -> Result<U256> {
        Ok(U256::from(100_000_000_000_000u64))
    }
    async fn nft_bridge_deposit_fee(&self) -> Result<U256> {
        Ok(U256::from(100_000_000_000_000u64))
    }
    async fn l2_to_l1_messages(&self, _: B256) -> Result<U256> {
        Ok(U256::from(1))
    }
    async fn messages_of_l2_tx(&self, _: &str) -> Result<Vec<MessageToL1>> {
        Ok(vec![MessageToL1 {
            from_address: Felt::from(0x4f7b02u64),
            to_address: self.nft_bridge,
            payload: vec![Felt::from(0x101u64), Felt::ONE, Felt::TWO],
        }])
    }
    async fn vault_for(&self, _: &StarkKey, _: &Felt) -> Result<VaultId> {
        Ok(VaultId::new(42).unwrap())
    }
    async fn allocated_vault(&self, _: &StarkKey, _: &Felt) -> Result<Option<VaultId>> {
        Ok(Some(VaultId::new(42).unwrap()))
    }
    async fn escape_proof(&self, _: VaultId, _: &Felt) -> Result<EscapeProof> {
        Ok(EscapeProof {
            asset_id: self.asset_id,
            quantized_balance: 3,
            siblings: (0..31u64).map(Felt::from).collect(),
        })
    }
}

fn addr(n: u64) -> EthAddress {
    EthAddress::new(Address::left_padding_from(&n.to_be_bytes())).unwrap()
}

fn contracts() -> L1Contracts {
    L1Contracts {
        starkex_core: addr(0x5ec0e1),
        starknet_core: addr(0x5cc0e1),
        starkgate: addr(0x5b1d01),
        nft_bridge: addr(0x4f7b01),
        l2_starkgate_bridge: Felt::from(0x5b1d02u64),
    }
}

fn asset(class: AssetClass, id: u64) -> Asset {
    let token = Token {
        symbol: "T".into(),
        class,
        decimals: 0,
        home: Layer::L1,
        l1: (class != AssetClass::Eth).then(|| addr(0x70c)),
        starknet: Some(StarknetAddress::new(Felt::from(0x70cu64)).unwrap()),
        starkex: Some(StarkExListing {
            quantum: if class == AssetClass::Eth || class == AssetClass::Erc20 {
                Quantum::new(1000).unwrap()
            } else {
                Quantum::ONE
            },
            minted_on_starkex: matches!(
                class,
                AssetClass::MintableErc20 | AssetClass::MintableErc721
            ),
        }),
    };
    if matches!(class, AssetClass::Erc721 | AssetClass::MintableErc721) {
        Asset::nft(token, TokenId(U256::from(id))).unwrap()
    } else {
        Asset::fungible(token).unwrap()
    }
}

/// Decodes calldata with the ABI of the contract the call targets; canonical encodings only.
fn decodes(call: &L1Call, input: &[u8]) -> bool {
    fn canonical<T: SolInterface>(input: &[u8]) -> bool {
        T::abi_decode(input).is_ok_and(|d| d.abi_encode() == input)
    }
    match call {
        L1Call::Transfer { .. } => input.is_empty(),
        L1Call::Erc20Transfer { .. } | L1Call::Erc20Approve { .. } => {
            canonical::<TestERC20::TestERC20Calls>(input)
        }
        L1Call::Erc721TransferFrom { .. }
        | L1Call::Erc721Approve { .. }
        | L1Call::Erc721SetApprovalForAll { .. } => canonical::<TestERC721::TestERC721Calls>(input),
        L1Call::StarkgateDeposit { .. } | L1Call::StarkgateWithdraw { .. } => {
            canonical::<StarkGateBridge::StarkGateBridgeCalls>(input)
        }
        L1Call::NftDepositTokens { .. } | L1Call::NftWithdrawTokens { .. } => {
            canonical::<NftBridge::NftBridgeCalls>(input)
        }
        L1Call::SendMessageToL2 { .. } | L1Call::ConsumeMessageFromL2 { .. } => {
            canonical::<StarknetMessaging::StarknetMessagingCalls>(input)
        }
        _ => canonical::<StarkExCore::StarkExCoreCalls>(input),
    }
}

const L1_LEGS: [LegKind; 10] = [
    LegKind::L1Transfer,
    LegKind::L1DepositToStarkEx,
    LegKind::FullWithdrawalRequest,
    LegKind::FreezeRequest,
    LegKind::Escape,
    LegKind::L1ClaimFromStarkEx,
    LegKind::L1DepositToStarkGate,
    LegKind::L1DepositToNftBridge,
    LegKind::L1ClaimFromStarkGate,
    LegKind::L1ClaimFromNftBridge,
];

const CLASSES: [AssetClass; 5] = [
    AssetClass::Eth,
    AssetClass::Erc20,
    AssetClass::MintableErc20,
    AssetClass::Erc721,
    AssetClass::MintableErc721,
];

/// The natural positions of a leg kind: who holds the asset before and after.
fn positions(
    kind: LegKind,
    l1: EthAddress,
    key: StarkKey,
    sn: StarknetAddress,
) -> (Account, Account) {
    let (a, x, s) = (Account::L1(l1), Account::StarkEx(key), Account::Starknet(sn));
    match kind {
        LegKind::L1DepositToStarkEx => (a, x),
        LegKind::FullWithdrawalRequest | LegKind::FreezeRequest | LegKind::Escape => (x, x),
        LegKind::L1DepositToStarkGate | LegKind::L1DepositToNftBridge => (a, s),
        _ => (a, Account::L1(addr(0xb0b))),
    }
}

/// Plans the leg and checks both backends take the plan; `false` when the protocol refuses it.
fn plan_all(kind: LegKind, class: AssetClass, amount: u64, id: u64, key: StarkKey) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let sn = StarknetAddress::new(Felt::from(0x5a5au64)).unwrap();
    let (from, to) = positions(kind, addr(0xa11ce), key, sn);
    let nft = matches!(class, AssetClass::Erc721 | AssetClass::MintableErc721);
    let intent = LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind,
        asset: asset(class, id),
        amount: Amount::from_u128(if nft { 1 } else { u128::from(amount) * 1000 }),
        from: Position::owned(from),
        to: Position::owned(to),
        previous: Some("0x1234".into()),
    };
    let c = contracts();
    let asset_id =
        starkroute_crypto::starkex_asset(&intent.asset).map_or(Felt::ZERO, |s| s.asset_id.0);
    let chain = Ready { frozen: kind == LegKind::Escape, nft_bridge: c.nft_bridge, asset_id };
    let Ok(leg) = rt.block_on(plan_l1_leg(&intent, &c, &chain)) else {
        // Refusals are the protocol's (a mintable asset cannot be deposited, an ETH transfer
        // has no token id…) and the same for both backends by construction.
        return false;
    };
    // Planning is deterministic.
    assert_eq!(rt.block_on(plan_l1_leg(&intent, &c, &chain)).unwrap(), leg);
    assert!(!leg.calls.is_empty());
    for (value, call) in &leg.calls {
        // The sandbox stores and hashes the call as JSON and dispatches it by its target.
        let json = serde_json::to_string(call).unwrap();
        assert_eq!(&serde_json::from_str::<L1Call>(&json).unwrap(), call);
        let (target, payable) = call.target(&c);
        assert!(payable || value.is_zero(), "{call:?} is not payable but carries {value}");
        // The alloy adapter sends the same call to the same contract.
        let enc = encode(call, &c).unwrap();
        assert_eq!(enc.to, target.address(), "{call:?}");
        assert!(decodes(call, &enc.input), "{call:?} does not decode with its contract's ABI");
        assert!(enc.fallback_gas >= 21_000);
    }
    true
}

#[test]
fn every_l1_leg_kind_plans_once_for_both_backends() {
    let key = StarkKey::new(Felt::from_hex_unchecked(
        "0x0579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043",
    ))
    .unwrap();
    for kind in L1_LEGS {
        let planned: Vec<AssetClass> =
            CLASSES.into_iter().filter(|c| plan_all(kind, *c, 2500, 7, key)).collect();
        use AssetClass::{Erc20, Erc721, Eth, MintableErc20, MintableErc721};
        // What each leg carries: anything on L1 itself and through the NFT bridge's claim
        // (its request names the token); StarkEx takes what is listed and not minted there,
        // and releases everything it can name (a mintable ERC-20 needs its minting blob);
        // StarkGate carries ETH and ERC-20s, the NFT bridge ERC-721s.
        let expected: &[AssetClass] = match kind {
            LegKind::L1Transfer | LegKind::L1ClaimFromNftBridge => &CLASSES,
            LegKind::L1DepositToStarkEx => &[Eth, Erc20, Erc721],
            LegKind::FullWithdrawalRequest
            | LegKind::FreezeRequest
            | LegKind::Escape
            | LegKind::L1ClaimFromStarkEx => &[Eth, Erc20, Erc721, MintableErc721],
            LegKind::L1DepositToStarkGate | LegKind::L1ClaimFromStarkGate => {
                &[Eth, Erc20, MintableErc20]
            }
            LegKind::L1DepositToNftBridge => &[Erc721, MintableErc721],
            other => unreachable!("{other} is not an L1 leg"),
        };
        assert_eq!(planned, expected, "{kind}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn plans_are_accepted_by_both_backends(
        k in 0..L1_LEGS.len(),
        c in 0..CLASSES.len(),
        amount in 1u64..u64::MAX / 1000,
        id in any::<u64>(),
        key in 1u64..u64::MAX,
    ) {
        let key = StarkKey::new(Felt::from(key)).unwrap();
        let _planned = plan_all(L1_LEGS[k], CLASSES[c], amount, id, key);
    }
}
