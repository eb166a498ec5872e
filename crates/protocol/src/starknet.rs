//! The Starknet legs: the contract calls each leg makes, with Cairo-serialized calldata, and
//! the NFT bridge's request format. Written once: the sandbox executes these calls, the
//! starknet-rs adapter wraps them in V3 invoke transactions.

use alloy_primitives::{keccak256, U256};
use serde::{Deserialize, Serialize};
use starkroute_crypto::{felts_to_u256, sn_keccak, u256_to_felts};
use starkroute_layer::{AdapterError, LegIntent, Result};
use starkroute_types::{felt_to_u256, Account, EthAddress, Felt, LegKind, StarknetAddress};

use crate::l1_leg::{starkgate_token, token_id};

/// One call of a multicall: `(to, selector, calldata)`, calldata Cairo-serialized (`u256` as
/// low, high; spans as length then items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarknetCall {
    /// The contract.
    pub to: Felt,
    /// The entry point selector (`sn_keccak(name)`).
    pub selector: Felt,
    /// Cairo-serialized arguments.
    pub calldata: Vec<Felt>,
}

fn u256_args(v: U256) -> [Felt; 2] {
    let (lo, hi) = u256_to_felts(v);
    [lo, hi]
}

impl StarknetCall {
    /// A call by entry point name.
    pub fn new(to: Felt, entry_point: &str, calldata: Vec<Felt>) -> Self {
        Self { to, selector: sn_keccak(entry_point.as_bytes()), calldata }
    }

    /// ERC-20 `transfer(recipient, amount: u256)`.
    pub fn erc20_transfer(token: Felt, recipient: Felt, amount: U256) -> Self {
        let [lo, hi] = u256_args(amount);
        Self::new(token, "transfer", vec![recipient, lo, hi])
    }

    /// ERC-20 `approve(spender, amount: u256)`.
    pub fn erc20_approve(token: Felt, spender: Felt, amount: U256) -> Self {
        let [lo, hi] = u256_args(amount);
        Self::new(token, "approve", vec![spender, lo, hi])
    }

    /// ERC-721 `transfer_from(from, to, token_id: u256)`.
    pub fn erc721_transfer_from(token: Felt, from: Felt, to: Felt, id: U256) -> Self {
        let [lo, hi] = u256_args(id);
        Self::new(token, "transfer_from", vec![from, to, lo, hi])
    }

    /// ERC-721 `approve(to, token_id: u256)`.
    pub fn erc721_approve(token: Felt, to: Felt, id: U256) -> Self {
        let [lo, hi] = u256_args(id);
        Self::new(token, "approve", vec![to, lo, hi])
    }

    /// StarkGate L2 bridge `initiate_token_withdraw(l1_token, l1_recipient, amount: u256)`.
    pub fn initiate_token_withdraw(
        bridge: Felt,
        l1_token: &EthAddress,
        l1_recipient: &EthAddress,
        amount: U256,
    ) -> Self {
        let [lo, hi] = u256_args(amount);
        Self::new(
            bridge,
            "initiate_token_withdraw",
            vec![l1_token.to_felt(), l1_recipient.to_felt(), lo, hi],
        )
    }

    /// Starklane `deposit_tokens(salt, collection_l2, owner_l1, token_ids: Span<u256>,
    /// use_withdraw_auto, use_deposit_burn_auto)`.
    pub fn nft_deposit_tokens(
        bridge: Felt,
        salt: Felt,
        collection_l2: Felt,
        owner_l1: &EthAddress,
        ids: &[U256],
        use_withdraw_auto: bool,
        use_deposit_burn_auto: bool,
    ) -> Self {
        let mut data = vec![salt, collection_l2, owner_l1.to_felt(), Felt::from(ids.len() as u64)];
        for id in ids {
            data.extend(u256_args(*id));
        }
        data.push(Felt::from(u64::from(use_withdraw_auto)));
        data.push(Felt::from(u64::from(use_deposit_burn_auto)));
        Self::new(bridge, "deposit_tokens", data)
    }
}

/// The L2 bridges the Starknet legs call, where the network has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarknetBridges {
    /// The StarkGate L2 bridge.
    pub starkgate: Option<Felt>,
    /// The NFT bridge's L2 side.
    pub nft_bridge: Option<Felt>,
}

fn l2_token(intent: &LegIntent) -> Result<Felt> {
    let a = &intent.asset;
    a.token
        .starknet
        .map(|t| t.felt())
        .ok_or_else(|| AdapterError::permanent(format!("{} has no Starknet contract", a.label())))
}

fn l1_recipient(intent: &LegIntent) -> Result<EthAddress> {
    match intent.to.holder {
        Account::L1(a) => Ok(a),
        other => Err(AdapterError::permanent(format!(
            "the L1 recipient of this leg is {other}, not an L1 address"
        ))),
    }
}

/// The calls of a Starknet leg sent by account `from`, whose next nonce is `nonce`.
/// (An account deployment is a transaction of its own, not calls.)
pub fn plan_starknet_leg(
    intent: &LegIntent,
    from: StarknetAddress,
    nonce: Felt,
    bridges: &StarknetBridges,
) -> Result<Vec<StarknetCall>> {
    let a = &intent.asset;
    let amount = intent.amount.0;
    Ok(match intent.kind {
        LegKind::StarknetTransfer => {
            let to = match intent.to.holder {
                Account::Starknet(x) => x.felt(),
                other => {
                    return Err(AdapterError::permanent(format!(
                        "the recipient of this leg is {other}, not a Starknet account"
                    )))
                }
            };
            let token = l2_token(intent)?;
            if a.is_fungible() {
                vec![StarknetCall::erc20_transfer(token, to, amount)]
            } else {
                vec![StarknetCall::erc721_transfer_from(token, from.felt(), to, token_id(a)?)]
            }
        }
        LegKind::StarknetWithdraw => {
            let recipient = l1_recipient(intent)?;
            let l1 = starkgate_token(a)?;
            let bridge = bridges.starkgate.ok_or_else(|| {
                AdapterError::permanent("no StarkGate L2 bridge is configured for this network")
            })?;
            vec![StarknetCall::initiate_token_withdraw(bridge, &l1, &recipient, amount)]
        }
        LegKind::StarknetNftWithdraw => {
            let owner_l1 = l1_recipient(intent)?;
            let (token, id) = (l2_token(intent)?, token_id(a)?);
            let bridge = bridges.nft_bridge.ok_or_else(|| {
                AdapterError::permanent("no NFT bridge is configured for this network")
            })?;
            // Starklane's salt only makes the request hash unique: the account nonce does.
            // Auto-withdraw is disabled on Starklane since its 2024 audit; burning is the L1
            // side's business.
            let salt = nonce;
            vec![
                StarknetCall::erc721_approve(token, bridge, id),
                StarknetCall::nft_deposit_tokens(
                    bridge,
                    salt,
                    token,
                    &owner_l1,
                    &[id],
                    false,
                    false,
                ),
            ]
        }
        other => return Err(AdapterError::permanent(format!("{other} is not a leg of Starknet"))),
    })
}

/// Starklane's `HEADER_V1`.
pub const HEADER_V1: u64 = 0x01;
/// Starklane's `ERC721_TYPE`.
pub const ERC721_TYPE: u64 = 0x01 << 8;
/// Starklane's `ERC1155_TYPE`.
pub const ERC1155_TYPE: u64 = 0x02 << 8;
/// Starklane's `DEPOSIT_AUTO_BURN`.
pub const DEPOSIT_AUTO_BURN: u64 = 0x01 << 16;
/// Starklane's `WITHDRAW_AUTO`.
pub const WITHDRAW_AUTO: u64 = 0x01 << 24;

/// A Starklane bridge request, as the L1→L2 and L2→L1 messages carry it:
/// `[header, hash.low, hash.high, collection_l1, collection_l2, owner_l1, owner_l2, n,
/// ids (low, high)…]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftRequest {
    /// Header bits.
    pub header: u64,
    /// The request hash.
    pub hash: U256,
    /// The L1 collection.
    pub collection_l1: EthAddress,
    /// The L2 collection.
    pub collection_l2: Felt,
    /// The L1 owner (depositor on L1→L2, recipient on L2→L1).
    pub owner_l1: EthAddress,
    /// The L2 owner (recipient on L1→L2, depositor on L2→L1).
    pub owner_l2: Felt,
    /// Token ids.
    pub ids: Vec<U256>,
}

/// Why a payload is not a request the bridge takes: Starklane's revert reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadNftRequest(pub &'static str);

impl NftRequest {
    /// Starklane's request hash (`Protocol.requestHash`): keccak256 over the 32-byte big-endian
    /// words `salt ‖ collection ‖ to ‖ ids…`, as an integer; `collection` is the sending side's
    /// collection and `to` the receiving side's owner.
    pub fn compute_hash(salt: U256, collection: Felt, to: Felt, ids: &[U256]) -> U256 {
        let mut buf = Vec::with_capacity(32 * (3 + ids.len()));
        buf.extend_from_slice(&salt.to_be_bytes::<32>());
        buf.extend_from_slice(&collection.to_bytes_be());
        buf.extend_from_slice(&to.to_bytes_be());
        for id in ids {
            buf.extend_from_slice(&id.to_be_bytes::<32>());
        }
        U256::from_be_bytes(keccak256(&buf).0)
    }

    /// The request an L2 `deposit_tokens(salt, collection_l2, owner_l1, ids, false, false)` by
    /// `owner_l2` sends to L1 (what `withdrawTokens` on L1 takes).
    pub fn from_l2_deposit(
        salt: Felt,
        collection_l1: EthAddress,
        collection_l2: Felt,
        owner_l1: EthAddress,
        owner_l2: Felt,
        ids: &[U256],
    ) -> Self {
        Self {
            header: HEADER_V1 | ERC721_TYPE,
            hash: Self::compute_hash(felt_to_u256(&salt), collection_l2, owner_l1.to_felt(), ids),
            collection_l1,
            collection_l2,
            owner_l1,
            owner_l2,
            ids: ids.to_vec(),
        }
    }

    /// The payload.
    pub fn to_payload(&self) -> Vec<Felt> {
        let [hlo, hhi] = u256_args(self.hash);
        let mut p = vec![
            Felt::from(self.header),
            hlo,
            hhi,
            self.collection_l1.to_felt(),
            self.collection_l2,
            self.owner_l1.to_felt(),
            self.owner_l2,
            Felt::from(self.ids.len() as u64),
        ];
        for id in &self.ids {
            p.extend(u256_args(*id));
        }
        p
    }

    /// Parses a payload; refuses a malformed one, or one that is not an ERC-721 v1 request,
    /// with Starklane's reason.
    pub fn from_payload(p: &[Felt]) -> std::result::Result<Self, BadNftRequest> {
        let bad = BadNftRequest("BadRequestError");
        let require =
            |ok: bool, why: &'static str| if ok { Ok(()) } else { Err(BadNftRequest(why)) };
        require(p.len() >= 8, bad.0)?;
        let header = u64::try_from(felt_to_u256(&p[0])).map_err(|_| bad)?;
        require(header & 0xff == HEADER_V1, bad.0)?;
        require(header & (0xff << 8) != ERC1155_TYPE, "NotSupportedYetError")?;
        require(header & (0xff << 8) == ERC721_TYPE, bad.0)?;
        let hash = felts_to_u256(p[1], p[2]).map_err(|_| bad)?;
        let eth = |f: &Felt| -> std::result::Result<EthAddress, BadNftRequest> {
            let v = felt_to_u256(f);
            require(v < (U256::from(1) << 160), bad.0)?;
            let b = v.to_be_bytes::<32>();
            EthAddress::new(alloy_primitives::Address::from_slice(&b[12..])).map_err(|_| bad)
        };
        let n = usize::try_from(felt_to_u256(&p[7])).map_err(|_| bad)?;
        require(p.len() == 8 + 2 * n, bad.0)?;
        let ids = (0..n)
            .map(|i| felts_to_u256(p[8 + 2 * i], p[9 + 2 * i]).map_err(|_| bad))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Self {
            header,
            hash,
            collection_l1: eth(&p[3])?,
            collection_l2: p[4],
            owner_l1: eth(&p[5])?,
            owner_l2: p[6],
            ids,
        })
    }
}
