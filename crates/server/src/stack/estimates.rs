//! Gas units from the chains: the calls a route's legs make, simulated by the router's own
//! accounts (the first of `[[signers.l1]]` and of `[[signers.starknet]]`), so that a quote's gas
//! items are the chain's estimate of the call times the live price rather than the cost model's
//! units.
//!
//! - **L1** (`eth_estimateGas` from the router's L1 address, at the block of the fee reading):
//!   for each StarkGate token, its bridge's `deposit(token, 1, l2Recipient)` with the bridge's
//!   message fee as value (plus the 1 wei for ether), and for an ERC-20 its `approve(bridge,
//!   1)`; a plain ether transfer for ether.
//! - **Starknet** (`starknet_estimateFee` of an unsigned V3 invoke from the router's account with
//!   `SKIP_VALIDATE`, at the latest block, with the account's nonce there): for each token on
//!   Starknet, `transfer(router, 1)` and its L2 bridge's `initiate_token_withdraw(token, router's
//!   L1 address, 1)`. The estimate's fee is turned into L2 gas units at the estimate's own L2 gas
//!   price (rounded up: `ceil(overall_fee / l2_gas_price)`), so that it is priced at the latest
//!   block's L2 gas price like any other Starknet item. It leaves out the account's signature
//!   validation, which the estimate skips.
//!
//! A call the router's account cannot make now — a deposit of a token it does not hold or has
//! not approved, a claim of a message not yet sent, a leg of a user's vault — keeps the model's
//! units, and its fee item says so (`gas_units_source = "costs.gas.<key>"`). Estimates are
//! taken again every `network.fees.estimate_secs`; a failed one is logged (the call and the
//! node's reason, never its URL) and counted, and the last good estimate of the call stays.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use serde_json::{json, Value};
use starkroute_ethereum::bindings::{StarkGateBridge, TestERC20};
use starkroute_planner::gas_call;
use starkroute_protocol::StarknetCall;
use starkroute_types::{AssetClass, EthAddress, Felt, Layer};

use super::fees::{FeeError, FeeNodes};
use crate::config::{Config, NetworkConfig};
use crate::error::Result;

/// `eth_estimateGas`'s source name in fee items.
pub const L1_ESTIMATE_SOURCE: &str = "eth_estimateGas";
/// `starknet_estimateFee`'s source name in fee items.
pub const STARKNET_ESTIMATE_SOURCE: &str = "starknet_estimateFee";

/// `2^128 + 3`: a V3 transaction for queries only (fee estimates), never executable.
const QUERY_VERSION_3: &str = "0x100000000000000000000000000000003";

/// The router's own accounts, whose calls are simulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterAccounts {
    /// The first `[[signers.l1]]` address.
    pub l1: Option<Address>,
    /// The first `[[signers.starknet]]` account.
    pub starknet: Option<Felt>,
}

/// What a probe simulates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeCall {
    /// An L1 transaction: its value is `value` plus, when `message_fee_of` names an L1 bridge,
    /// that bridge's `estimateDepositFeeWei()` of the same reading.
    L1 {
        /// The router's L1 address.
        from: Address,
        /// The contract (or, for ether, the router itself).
        to: Address,
        /// The ABI-encoded call.
        data: Vec<u8>,
        /// Wei sent besides the message fee.
        value: u128,
        /// The L1 bridge whose message fee is added to the value.
        message_fee_of: Option<Address>,
    },
    /// A Starknet multicall from `sender`.
    Starknet {
        /// The router's Starknet account.
        sender: Felt,
        /// The calls.
        calls: Vec<StarknetCall>,
    },
}

/// One call simulated for one token: its units replace the model's `costs.gas.<call>` for that
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasProbe {
    /// Upper-case token symbol.
    pub token: String,
    /// The `costs.gas` key ([`gas_call`]).
    pub call: &'static str,
    /// The simulated call.
    pub what: ProbeCall,
}

impl GasProbe {
    /// The layer it is simulated on.
    pub fn layer(&self) -> Layer {
        match self.what {
            ProbeCall::L1 { .. } => Layer::L1,
            ProbeCall::Starknet { .. } => Layer::Starknet,
        }
    }
}

/// The probes of a network: every StarkGate token's calls the router's accounts can simulate.
pub fn probes(
    config: &Config,
    network: &NetworkConfig,
    router: RouterAccounts,
) -> Result<Vec<GasProbe>> {
    let default = super::network::starkgate_pair(network)?;
    let mut out = Vec::new();
    for token in &config.topology.tokens {
        let symbol = token.symbol.to_ascii_uppercase();
        let eth = token.class == AssetClass::Eth;
        if let (true, Some(from)) = (eth, router.l1) {
            out.push(GasProbe {
                token: symbol.clone(),
                call: gas_call::L1_ETH_TRANSFER,
                what: ProbeCall::L1 {
                    from,
                    to: from,
                    data: Vec::new(),
                    value: 0,
                    message_fee_of: None,
                },
            });
        }
        if let (Some(sender), Some(l2_token), true) =
            (router.starknet, token.starknet, token.class.is_fungible())
        {
            out.push(GasProbe {
                token: symbol.clone(),
                call: gas_call::STARKNET_TRANSFER,
                what: ProbeCall::Starknet {
                    sender,
                    calls: vec![StarknetCall::erc20_transfer(
                        l2_token.felt(),
                        sender,
                        U256::from(1u8),
                    )],
                },
            });
        }
        // The rest go through the token's StarkGate pair (its own, or the network's default).
        let own = network.starkgate.tokens.iter().find(|(s, _)| s.eq_ignore_ascii_case(&symbol));
        let Some((l1_bridge, l2_bridge)) = own.map(|(_, b)| (b.l1_bridge, b.l2_bridge)).or(default)
        else {
            continue;
        };
        let Some(l1_token) =
            super::network::starkgate_l1_token(token).filter(|_| token.class.is_fungible())
        else {
            continue;
        };
        if let Some(from) = router.l1 {
            // Any Starknet recipient does for a simulation; the router's own when it has one.
            let recipient = router
                .starknet
                .map_or_else(|| U256::from(1u8), |f| starkroute_types::felt_to_u256(&f));
            if !eth {
                out.push(GasProbe {
                    token: symbol.clone(),
                    call: gas_call::L1_APPROVAL,
                    what: ProbeCall::L1 {
                        from,
                        to: l1_token,
                        data: TestERC20::approveCall {
                            spender: l1_bridge.address(),
                            amount: U256::from(1u8),
                        }
                        .abi_encode(),
                        value: 0,
                        message_fee_of: None,
                    },
                });
            }
            out.push(GasProbe {
                token: symbol.clone(),
                call: gas_call::STARKGATE_DEPOSIT,
                what: ProbeCall::L1 {
                    from,
                    to: l1_bridge.address(),
                    data: StarkGateBridge::depositCall {
                        token: l1_token,
                        amount: U256::from(1u8),
                        l2Recipient: recipient,
                    }
                    .abi_encode(),
                    value: u128::from(eth),
                    message_fee_of: Some(l1_bridge.address()),
                },
            });
        }
        if let (Some(sender), Some(_)) = (router.starknet, token.starknet) {
            // Any L1 recipient does for a simulation; the router's own when it has one.
            let to = router.l1.and_then(|a| EthAddress::new(a).ok()).unwrap_or(l1_bridge);
            out.push(GasProbe {
                token: symbol,
                call: gas_call::STARKNET_WITHDRAW,
                what: ProbeCall::Starknet {
                    sender,
                    calls: vec![StarknetCall::initiate_token_withdraw(
                        l2_bridge.felt(),
                        &EthAddress::new(l1_token).unwrap_or(l1_bridge),
                        &to,
                        U256::from(1u8),
                    )],
                },
            });
        }
    }
    Ok(out)
}

/// A hex quantity that fits a `u64` (gas units).
fn units(v: &Value, name: &str) -> std::result::Result<u64, FeeError> {
    let q = super::fees::quantity(v, name)?;
    u64::try_from(q)
        .map_err(|_| super::fees::field(name, format!("{q} gas does not fit in 64 bits")))
}

/// `eth_estimateGas`'s answer: the gas units.
pub fn parse_l1_estimate(v: &Value) -> std::result::Result<u64, FeeError> {
    units(v, "eth_estimateGas")
}

/// `starknet_estimateFee`'s answer for one transaction: L2 gas units equivalent to its overall
/// fee at its own L2 gas price, rounded up.
pub fn parse_starknet_estimate(v: &Value) -> std::result::Result<u64, FeeError> {
    const M: &str = "starknet_estimateFee";
    let one =
        v.as_array().filter(|a| a.len() == 1).map(|a| &a[0]).filter(|e| e.is_object()).ok_or_else(
            || super::fees::field(M, format!("expected one fee estimate, found {v}")),
        )?;
    let overall = super::fees::quantity(&one["overall_fee"], &format!("{M}[0].overall_fee"))?;
    let price = super::fees::quantity(&one["l2_gas_price"], &format!("{M}[0].l2_gas_price"))?;
    if price == 0 {
        return Err(super::fees::field(format!("{M}[0].l2_gas_price"), "is zero"));
    }
    let units = overall.div_ceil(price);
    u64::try_from(units).map_err(|_| {
        super::fees::field(
            format!("{M}[0].overall_fee"),
            format!("{units} L2 gas does not fit in 64 bits"),
        )
    })
}

/// The unsigned V3 invoke of `calls` from `sender` at `nonce`, for estimates only: the
/// account's `__execute__` calldata (`[n, (to, selector, len, data…)…]`), zero resource bounds,
/// the query version.
pub fn query_invoke(sender: Felt, nonce: &Value, calls: &[StarknetCall]) -> Value {
    let hex = |f: &Felt| format!("{f:#x}");
    let mut calldata = vec![format!("{:#x}", calls.len())];
    for c in calls {
        calldata.push(hex(&c.to));
        calldata.push(hex(&c.selector));
        calldata.push(format!("{:#x}", c.calldata.len()));
        calldata.extend(c.calldata.iter().map(hex));
    }
    let zero = json!({ "max_amount": "0x0", "max_price_per_unit": "0x0" });
    json!({
        "type": "INVOKE",
        "version": QUERY_VERSION_3,
        "sender_address": hex(&sender),
        "calldata": calldata,
        "signature": [],
        "nonce": nonce,
        "resource_bounds": { "l1_gas": zero, "l1_data_gas": zero, "l2_gas": zero },
        "tip": "0x0",
        "paymaster_data": [],
        "account_deployment_data": [],
        "nonce_data_availability_mode": "L1",
        "fee_data_availability_mode": "L1",
    })
}

impl FeeNodes {
    /// Simulates one probe: its gas units and the block they were estimated at. An L1 probe
    /// runs at `l1_block` with `message_fees` (each L1 bridge's fee of that reading).
    pub async fn estimate(
        &self,
        probe: &GasProbe,
        l1_block: u64,
        message_fees: &[(Address, u128)],
        starknet_block: u64,
    ) -> std::result::Result<(u64, u64), FeeError> {
        match &probe.what {
            ProbeCall::L1 { from, to, data, value, message_fee_of } => {
                let fee = match message_fee_of {
                    None => 0,
                    Some(b) => {
                        message_fees.iter().find(|(a, _)| a == b).map(|x| x.1).ok_or_else(|| {
                            super::fees::field(
                                "estimateDepositFeeWei",
                                format!("not read for {b:#x}"),
                            )
                        })?
                    }
                };
                let value = value.checked_add(fee).ok_or_else(|| {
                    super::fees::field("estimateDepositFeeWei", "the value overflows")
                })?;
                let tx = json!({
                    "from": format!("{from:#x}"),
                    "to": format!("{to:#x}"),
                    "data": format!("0x{}", hex::encode(data)),
                    "value": format!("{value:#x}"),
                });
                let v = self.l1("eth_estimateGas", json!([tx, format!("{l1_block:#x}")])).await?;
                Ok((parse_l1_estimate(&v)?, l1_block))
            }
            ProbeCall::Starknet { sender, calls } => {
                let block = json!({ "block_number": starknet_block });
                let nonce = self
                    .starknet(
                        "starknet_getNonce",
                        json!({ "block_id": block, "contract_address": format!("{sender:#x}") }),
                    )
                    .await?;
                super::fees::quantity(&nonce, "starknet_getNonce")?;
                let v = self
                    .starknet(
                        "starknet_estimateFee",
                        json!({
                            "request": [query_invoke(*sender, &nonce, calls)],
                            "simulation_flags": ["SKIP_VALIDATE"],
                            "block_id": block,
                        }),
                    )
                    .await?;
                Ok((parse_starknet_estimate(&v)?, starknet_block))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_is_the_fee_in_l2_gas_at_its_own_price_rounded_up() {
        let v = json!([{ "overall_fee": "0x3e9", "l2_gas_price": "0xa", "unit": "FRI" }]);
        assert_eq!(parse_starknet_estimate(&v).unwrap(), 101);
        let exact = json!([{ "overall_fee": "0x3e8", "l2_gas_price": "0xa" }]);
        assert_eq!(parse_starknet_estimate(&exact).unwrap(), 100);
        let cases = [
            (json!([]), "starknet_estimateFee: expected one fee estimate"),
            (
                json!([{"overall_fee": "0x1"}]),
                "starknet_estimateFee[0].l2_gas_price: expected a hex",
            ),
            (
                json!([{"overall_fee": "0x1", "l2_gas_price": "0x0"}]),
                "starknet_estimateFee[0].l2_gas_price: is zero",
            ),
            (
                json!([{"overall_fee": format!("0x{}", "f".repeat(30)), "l2_gas_price": "0x1"}]),
                "starknet_estimateFee[0].overall_fee: ",
            ),
        ];
        for (v, want) in cases {
            let e = parse_starknet_estimate(&v).unwrap_err().to_string();
            assert!(e.starts_with(want), "{v}: {e}");
        }
        assert_eq!(parse_l1_estimate(&json!("0x5208")).unwrap(), 21_000);
        let e = parse_l1_estimate(&json!(format!("0x1{}", "0".repeat(16)))).unwrap_err();
        assert!(e.to_string().contains("does not fit in 64 bits"), "{e}");
    }

    #[test]
    fn the_query_invoke_carries_the_accounts_multicall_calldata() {
        let call =
            StarknetCall::erc20_transfer(Felt::from(0x99u64), Felt::from(7u64), U256::from(1u8));
        let v = query_invoke(Felt::from(7u64), &json!("0x3"), std::slice::from_ref(&call));
        let data: Vec<&str> =
            v["calldata"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        assert_eq!(data[0], "0x1", "one call");
        assert_eq!(data[1], "0x99");
        assert_eq!(data[2], format!("{:#x}", call.selector));
        assert_eq!(data[3], "0x3", "recipient, amount low, high");
        assert_eq!(&data[4..], ["0x7", "0x1", "0x0"]);
        assert_eq!(v["version"], QUERY_VERSION_3);
        assert_eq!(v["nonce"], "0x3");
        assert_eq!(v["signature"], json!([]));
    }
}
