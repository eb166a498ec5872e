//! The seed's Alice→Bob gift: an NFT minted on Starknet, Bob with only a StarkEx account.

use starkroute_planner::{plan, Objective, RejectionCode};
use starkroute_types::{Account, Layer, LegKind::*, Party};

use crate::{gift_request, sandbox};

fn kinds(r: &starkroute_types::Route) -> Vec<starkroute_types::LegKind> {
    r.legs.iter().map(|l| l.kind).collect()
}

#[test]
fn finds_all_three_alternatives() {
    let cfg = sandbox();
    let req = gift_request();
    let plans = plan(&req, &cfg.topology, &cfg.costs).unwrap();
    let found: Vec<_> = plans.routes.iter().map(kinds).collect();

    let direct = vec![StarknetNftWithdraw, L1ClaimFromNftBridge, L1DepositToStarkEx];
    let via_alice =
        vec![StarknetNftWithdraw, L1ClaimFromNftBridge, L1DepositToStarkEx, StarkExTransfer];
    let bob_on_starknet = vec![StarknetAccountDeployment, StarknetTransfer];
    for want in [&direct, &via_alice, &bob_on_starknet] {
        assert!(found.contains(want), "missing {want:?} in {found:#?}");
    }
    assert_eq!(plans.routes.len(), 3, "{found:#?}");

    // Fastest first: the Starknet transfer takes seconds, the bridge trip hours.
    assert_eq!(kinds(&plans.routes[0]), bob_on_starknet);
    assert!(plans.routes[0].needs_recipient_action);
    assert_eq!(plans.routes[0].legs[0].signer, Party::Recipient);
    // The direct deposit beats the deposit-then-transfer on time and on fees.
    let d = plans.routes.iter().find(|r| kinds(r) == direct).unwrap();
    let v = plans.routes.iter().find(|r| kinds(r) == via_alice).unwrap();
    assert!(d.eta.max_secs < v.eta.max_secs);
    assert!(d.total_fee_wei <= v.total_fee_wei);

    // Where the asset ends.
    let bob_key = req.recipient.starkex.unwrap();
    assert_eq!(d.destination.holder, Account::StarkEx(bob_key));
    assert_eq!(d.legs[2].to.holder, Account::StarkEx(bob_key));
    // The bridge trip waits for the state update: at least its minimum.
    assert!(d.legs[0].eta.min_secs >= cfg.costs.latency.starknet_state_update.min_secs);
}

#[test]
fn fees_are_gas_times_price_plus_message_fee() {
    let cfg = sandbox();
    let plans = plan(&gift_request(), &cfg.topology, &cfg.costs).unwrap();
    let d = plans.routes.iter().find(|r| r.legs.len() == 3).unwrap();
    let g = &cfg.costs.gas;
    let l1 = cfg.costs.l1_gas_price_wei.0;
    let l2 = cfg.costs.starknet_gas_price_wei.0;
    let expected = u128::from(g.starknet_nft_withdraw) * l2
        + u128::from(g.nft_bridge_withdraw) * l1
        + u128::from(g.l1_approval + g.starkex_deposit_nft) * l1;
    assert_eq!(d.total_fee_wei.0, expected);
    let cheapest = {
        let mut req = gift_request();
        req.objective = Objective::Cheapest;
        plan(&req, &cfg.topology, &cfg.costs).unwrap()
    };
    let fees: Vec<_> = cheapest.routes.iter().map(|r| r.total_fee_wei).collect();
    assert!(fees.windows(2).all(|w| w[0] <= w[1]), "{fees:?}");
}

#[test]
fn imx_policy_rejects_the_starkex_deposit_with_its_reason() {
    let mut cfg = sandbox();
    cfg.topology.starkex.nft_deposits_only_minted_here = true;
    let plans = plan(&gift_request(), &cfg.topology, &cfg.costs).unwrap();
    assert!(plans.routes.iter().all(|r| r.destination.layer == Layer::Starknet));
    let policy: Vec<_> =
        plans.rejected.iter().filter(|r| r.code == RejectionCode::Policy).collect();
    assert!(!policy.is_empty(), "{:#?}", plans.rejected);
    assert!(policy.iter().all(|r| r.leg == Some(L1DepositToStarkEx)));
    assert!(policy[0].reason.contains("only for assets minted on it"), "{}", policy[0].reason);
    // Both deposit paths (into Bob's vault, into Alice's) are reported.
    assert!(policy.iter().any(|r| r.path.ends_with("starkex:recipient (l1_deposit_to_starkex)")));
    assert!(policy.iter().any(|r| r.path.ends_with("starkex:sender (l1_deposit_to_starkex)")));
}

#[test]
fn starkgate_is_explained_for_nfts() {
    let cfg = sandbox();
    let plans = plan(&gift_request(), &cfg.topology, &cfg.costs).unwrap();
    let r = plans
        .rejected
        .iter()
        .find(|r| {
            r.code == RejectionCode::BridgeUnsupportedAsset && r.leg == Some(StarknetWithdraw)
        })
        .unwrap();
    assert!(r.reason.contains("StarkGate bridges ETH and ERC-20 only"), "{}", r.reason);
}

#[test]
fn unregistered_bob_gets_a_registration_leg() {
    let mut cfg = sandbox();
    for r in &mut cfg.topology.readiness {
        if r.account == Account::StarkEx(gift_request().recipient.starkex.unwrap()) {
            r.ready = false;
        }
    }
    let mut req = gift_request();
    req.allow_other_destinations = false;
    let plans = plan(&req, &cfg.topology, &cfg.costs).unwrap();
    assert!(!plans.routes.is_empty());
    for r in &plans.routes {
        assert!(r.needs_recipient_action);
        assert!(r
            .legs
            .iter()
            .any(|l| l.kind == StarkExRegistration && l.signer == Party::Recipient));
    }
}

#[test]
fn nft_bridge_disabled_leaves_only_starknet_and_says_why() {
    let mut cfg = sandbox();
    cfg.topology.nft_bridge.enabled = false;
    let plans = plan(&gift_request(), &cfg.topology, &cfg.costs).unwrap();
    assert_eq!(plans.routes.len(), 1);
    assert!(plans.rejected.iter().any(|r| r.code == RejectionCode::BridgeDisabled));
}
