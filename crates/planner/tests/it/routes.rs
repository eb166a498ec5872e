//! The other route families: StarkEx → Starknet, same-layer, L1 ↔ either layer, and refusals.

use starkroute_planner::{
    plan, Accounts, AssetRef, Objective, PlanError, QuoteRequest, RejectionCode,
};
use starkroute_types::{Amount, Layer, LegKind::*};

use crate::sandbox;

fn alice() -> Accounts {
    crate::gift_request().sender
}

fn bob_full() -> Accounts {
    Accounts {
        l1: Some("0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().unwrap()),
        starkex: crate::gift_request().recipient.starkex,
        starknet: crate::gift_request().recipient.starknet,
    }
}

fn req(token: &str, amount: &str, from: Layer, to: Layer) -> QuoteRequest {
    QuoteRequest {
        asset: AssetRef { token: token.into(), token_id: None },
        amount: Some(amount.parse().unwrap()),
        from,
        to,
        sender: alice(),
        recipient: bob_full(),
        objective: Objective::Fastest,
        allow_other_destinations: false,
    }
}

fn kinds_of(p: &starkroute_planner::Plans) -> Vec<Vec<starkroute_types::LegKind>> {
    p.routes.iter().map(|r| r.legs.iter().map(|l| l.kind).collect()).collect()
}

#[test]
fn starkex_to_starknet_erc20() {
    let mut cfg = sandbox();
    // Bob's Starknet account is deployed in this scenario.
    for r in &mut cfg.topology.readiness {
        if r.account
            == starkroute_types::Account::Starknet(
                crate::gift_request().recipient.starknet.unwrap(),
            )
        {
            r.ready = true;
        }
    }
    let p =
        plan(&req("USDC", "2500000", Layer::StarkEx, Layer::Starknet), &cfg.topology, &cfg.costs)
            .unwrap();
    let k = kinds_of(&p);
    assert!(
        k.contains(&vec![StarkExWithdrawalRequest, L1ClaimFromStarkEx, L1DepositToStarkGate]),
        "{k:#?}"
    );
    // Also: withdraw, claim, deposit to Alice on Starknet, transfer to Bob.
    assert!(k.contains(&vec![
        StarkExWithdrawalRequest,
        L1ClaimFromStarkEx,
        L1DepositToStarkGate,
        StarknetTransfer
    ]));
    let best = &p.routes[0];
    assert_eq!(best.legs.len(), 3);
    // StarkGate's message fee is part of the fee.
    assert!(best.legs[2]
        .fees
        .iter()
        .any(|f| f.kind == starkroute_types::FeeKind::L1ToL2MessageFee));
    // The withdrawal waits for the batch proof.
    assert!(best.legs[0].eta.max_secs >= cfg.costs.latency.starkex_batch.max_secs);
    assert!(best.assumptions.is_empty(), "{:?}", best.assumptions);
}

#[test]
fn eth_starkex_to_starknet_needs_whole_quanta() {
    let cfg = sandbox();
    // 1 ETH is 10^10 quanta of 10^8 wei.
    let ok = plan(
        &req("ETH", "1000000000000000000", Layer::StarkEx, Layer::Starknet),
        &cfg.topology,
        &cfg.costs,
    )
    .unwrap();
    assert!(!ok.routes.is_empty());
    // 1 wei more is not a whole quantum: every path through StarkEx is refused with the reason.
    let bad = plan(
        &req("ETH", "1000000000000000001", Layer::StarkEx, Layer::Starknet),
        &cfg.topology,
        &cfg.costs,
    )
    .unwrap();
    assert!(bad.routes.is_empty());
    let r = bad.rejected.iter().find(|r| r.code == RejectionCode::Amount).unwrap();
    assert!(r.reason.contains("not a multiple of the quantum 100000000"), "{}", r.reason);
}

#[test]
fn same_layer_transfers() {
    let cfg = sandbox();
    for (layer, kind) in [(Layer::StarkEx, StarkExTransfer), (Layer::L1, L1Transfer)] {
        let p = plan(&req("USDC", "10", layer, layer), &cfg.topology, &cfg.costs).unwrap();
        assert_eq!(kinds_of(&p)[0], vec![kind], "{layer}");
        // A same-layer transfer never detours through another layer first.
        assert_eq!(p.routes[0].legs.len(), 1);
    }
}

#[test]
fn l1_to_either_layer_and_back() {
    let cfg = sandbox();
    let to_ex =
        plan(&req("USDC", "10", Layer::L1, Layer::StarkEx), &cfg.topology, &cfg.costs).unwrap();
    assert_eq!(kinds_of(&to_ex)[0], vec![L1DepositToStarkEx]);
    let to_sn =
        plan(&req("USDC", "10", Layer::L1, Layer::Starknet), &cfg.topology, &cfg.costs).unwrap();
    assert!(kinds_of(&to_sn).contains(&vec![StarknetAccountDeployment, L1DepositToStarkGate]));
    let from_sn =
        plan(&req("USDC", "10", Layer::Starknet, Layer::L1), &cfg.topology, &cfg.costs).unwrap();
    // Withdraw straight to Bob's L1 address: no L1 transfer needed.
    assert_eq!(kinds_of(&from_sn)[0], vec![StarknetWithdraw, L1ClaimFromStarkGate]);
    let from_ex =
        plan(&req("USDC", "10", Layer::StarkEx, Layer::L1), &cfg.topology, &cfg.costs).unwrap();
    assert_eq!(
        kinds_of(&from_ex)[0],
        vec![StarkExWithdrawalRequest, L1ClaimFromStarkEx, L1Transfer]
    );
}

#[test]
fn mintable_nft_leaves_starkex_by_withdraw_and_mint_but_never_enters() {
    let cfg = sandbox();
    let mut r = req("IMXART", "1", Layer::StarkEx, Layer::L1);
    r.amount = None;
    r.asset.token_id = Some("42".parse().unwrap());
    let p = plan(&r, &cfg.topology, &cfg.costs).unwrap();
    assert_eq!(kinds_of(&p)[0], vec![StarkExWithdrawalRequest, L1ClaimFromStarkEx, L1Transfer]);
    assert_eq!(p.asset.minting_blob.as_deref(), Some("{42}:{}"));
}

#[test]
fn request_errors_name_the_field() {
    let cfg = sandbox();
    let mut r = req("NOPE", "1", Layer::L1, Layer::StarkEx);
    assert_eq!(plan(&r, &cfg.topology, &cfg.costs), Err(PlanError::UnknownToken("NOPE".into())));
    r.asset.token = "USDC".into();
    r.amount = None;
    let e = plan(&r, &cfg.topology, &cfg.costs).unwrap_err();
    assert!(e.to_string().starts_with("amount:"), "{e}");
    r.amount = Some(Amount::ZERO);
    assert!(plan(&r, &cfg.topology, &cfg.costs).unwrap_err().to_string().starts_with("amount:"));
    r.amount = Some("5".parse().unwrap());
    r.asset.token_id = Some("1".parse().unwrap());
    assert!(plan(&r, &cfg.topology, &cfg.costs)
        .unwrap_err()
        .to_string()
        .starts_with("asset.token_id:"));
    let mut nft = crate::gift_request();
    nft.asset.token_id = None;
    assert!(plan(&nft, &cfg.topology, &cfg.costs)
        .unwrap_err()
        .to_string()
        .starts_with("asset.token_id:"));
    nft = crate::gift_request();
    nft.sender.starknet = None;
    assert!(plan(&nft, &cfg.topology, &cfg.costs).unwrap_err().to_string().starts_with("sender:"));
    let mut off = cfg.topology.clone();
    off.layers.retain(|l| *l != Layer::StarkEx);
    assert!(matches!(
        plan(&crate::gift_request(), &off, &cfg.costs),
        Err(PlanError::LayerDisabled { field: "to", .. })
    ));
}

#[test]
fn json_request_round_trip_and_unknown_fields_refused() {
    let r = crate::gift_request();
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<QuoteRequest>(&json).unwrap(), r);
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["colour"] = "blue".into();
    assert!(serde_json::from_value::<QuoteRequest>(v).is_err());
}

#[test]
fn live_prices_name_their_source_and_block_and_a_token_pays_its_own_bridges_fee() {
    use starkroute_planner::{LivePrices, PriceSource};
    use starkroute_types::{FeeKind, Wei};
    let mut cfg = sandbox();
    // The sandbox's static model: no source, no block, in the JSON either.
    let p = plan(&req("USDC", "2500000", Layer::L1, Layer::Starknet), &cfg.topology, &cfg.costs)
        .unwrap();
    let fees = &p.routes[0].legs[0].fees;
    assert!(fees.iter().all(|f| f.source.is_none() && f.block.is_none()), "{fees:?}");
    let json = serde_json::to_string(&p.routes[0]).unwrap();
    assert!(!json.contains("\"source\"") && !json.contains("\"block\""), "{json}");

    let at = |source, block| PriceSource { source, block: Some(block) };
    cfg.costs.l1_gas_price_wei = Wei(7_000_000_123);
    cfg.costs.live = LivePrices {
        l1_gas: Some(at("eth_feeHistory", 41)),
        starknet_gas: Some(at("starknet_getBlockWithTxHashes", 9)),
        l1_to_l2_message: Some(at("estimateDepositFeeWei", 41)),
        message_fee_by_token: [("USDC".to_owned(), (Wei(333), at("estimateDepositFeeWei", 41)))]
            .into_iter()
            .collect(),
        ..LivePrices::default()
    };
    let p = plan(&req("USDC", "2500000", Layer::L1, Layer::Starknet), &cfg.topology, &cfg.costs)
        .unwrap();
    let route = p.routes.iter().find(|r| r.legs.iter().any(|l| l.kind == L1DepositToStarkGate));
    let route = route.unwrap();
    let leg = route.legs.iter().find(|l| l.kind == L1DepositToStarkGate).unwrap();
    let gas: Vec<_> = leg.fees.iter().filter(|f| f.kind == FeeKind::L1Gas).collect();
    // approve + deposit, each units × the live price, exactly.
    assert_eq!(gas.len(), 2);
    for f in gas {
        assert_eq!(f.source.as_deref(), Some("eth_feeHistory"));
        assert_eq!(f.block, Some(41));
        assert_eq!(f.amount_wei.0, u128::from(f.gas_units.unwrap()) * 7_000_000_123);
    }
    let msg = leg.fees.iter().find(|f| f.kind == FeeKind::L1ToL2MessageFee).unwrap();
    assert_eq!((msg.amount_wei, msg.source.as_deref()), (Wei(333), Some("estimateDepositFeeWei")));
    let total: u128 = route.legs.iter().flat_map(|l| &l.fees).map(|f| f.amount_wei.0).sum();
    assert_eq!(route.total_fee_wei.0, total);
}

#[test]
fn estimated_gas_units_replace_the_models_for_their_token_and_call_and_the_rest_say_so() {
    use starkroute_planner::{gas_call, LivePrices, PriceSource};
    use starkroute_types::{FeeKind, Wei};
    let mut cfg = sandbox();
    let p = plan(&req("USDC", "2500000", Layer::L1, Layer::Starknet), &cfg.topology, &cfg.costs)
        .unwrap();
    let json = serde_json::to_string(&p.routes[0]).unwrap();
    assert!(!json.contains("gas_units_source"), "the sandbox's model says nothing: {json}");

    let at = |source, block| PriceSource { source, block: Some(block) };
    cfg.costs.l1_gas_price_wei = Wei(3);
    cfg.costs.live = LivePrices {
        l1_gas: Some(at("eth_feeHistory", 41)),
        starknet_gas: Some(at("starknet_getBlockWithTxHashes", 9)),
        gas_units: [
            ("USDC", gas_call::STARKGATE_DEPOSIT, 123_457),
            // Another token's approval: not USDC's.
            ("ETH", gas_call::L1_APPROVAL, 1),
        ]
        .into_iter()
        .map(|(token, call, units)| {
            (token.to_owned(), [(call, (units, at("eth_estimateGas", 40)))].into_iter().collect())
        })
        .collect(),
        ..LivePrices::default()
    };
    let p = plan(&req("USDC", "2500000", Layer::L1, Layer::Starknet), &cfg.topology, &cfg.costs)
        .unwrap();
    let leg =
        p.routes.iter().flat_map(|r| &r.legs).find(|l| l.kind == L1DepositToStarkGate).unwrap();
    let gas: Vec<_> = leg.fees.iter().filter(|f| f.kind == FeeKind::L1Gas).collect();
    assert_eq!(gas.len(), 2, "approve, deposit: {gas:?}");
    // The approval of USDC was not estimated (ETH's entry is another token's): the model's
    // units, and the item names the model's key.
    assert_eq!(gas[0].gas_units, Some(cfg.costs.gas.l1_approval));
    assert_eq!(gas[0].gas_units_source.as_deref(), Some("costs.gas.l1_approval"));
    assert_eq!(gas[0].gas_units_block, None);
    // The deposit: the estimate's units at the live price, with the estimate's block.
    assert_eq!(gas[1].gas_units, Some(123_457));
    assert_eq!(gas[1].gas_units_source.as_deref(), Some("eth_estimateGas"));
    assert_eq!(gas[1].gas_units_block, Some(40));
    assert_eq!(gas[1].amount_wei, Wei(123_457 * 3));
    assert_eq!(gas[1].source.as_deref(), Some("eth_feeHistory"));
}

#[test]
fn every_gas_table_key_names_itself_as_the_model_source() {
    use starkroute_planner::{gas_call, GasTable};
    let keys = serde_json::to_value(GasTable::default()).unwrap();
    for key in keys.as_object().unwrap().keys() {
        assert_eq!(gas_call::model_source(key), format!("costs.gas.{key}"));
    }
    assert_eq!(gas_call::model_source(""), "model");
}
