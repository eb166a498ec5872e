//! Property tests over random requests, topologies and readiness facts.

use proptest::prelude::*;
use starkroute_planner::{plan, Accounts, AssetRef, Objective, QuoteRequest};
use starkroute_types::{Holding, Layer, Position, Wei};

use crate::sandbox;

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![Just(Layer::L1), Just(Layer::StarkEx), Just(Layer::Starknet)]
}

fn accounts(seed: u8, mask: u8) -> Accounts {
    let base = crate::gift_request();
    let l1s = [
        "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584",
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    ];
    let (starkex, starknet) = if seed == 0 {
        (base.sender.starkex, base.sender.starknet)
    } else {
        (base.recipient.starkex, base.recipient.starknet)
    };
    Accounts {
        l1: (mask & 1 != 0).then(|| l1s[usize::from(seed)].parse().unwrap()),
        starkex: starkex.filter(|_| mask & 2 != 0),
        starknet: starknet.filter(|_| mask & 4 != 0),
    }
}

prop_compose! {
    fn scenario()(
        token in 0usize..4,
        from in layer(),
        to in layer(),
        sender_mask in 0u8..8,
        recipient_mask in 0u8..8,
        ready_mask in 0u8..16,
        imx_policy in any::<bool>(),
        starkgate in any::<bool>(),
        nft_bridge in any::<bool>(),
        others in any::<bool>(),
        cheapest in any::<bool>(),
        quanta in 1u64..1000,
        odd in any::<bool>(),
    ) -> (QuoteRequest, starkroute_planner::Topology) {
        let cfg = sandbox();
        let mut topo = cfg.topology;
        topo.starkex.nft_deposits_only_minted_here = imx_policy;
        topo.starkgate.enabled = starkgate;
        topo.nft_bridge.enabled = nft_bridge;
        for (i, r) in topo.readiness.iter_mut().enumerate() {
            r.ready = ready_mask & (1 << i) != 0;
        }
        let symbols = ["ETH", "USDC", "ART", "IMXART"];
        let fungible = token < 2;
        let amount = if fungible {
            let q: u64 = if token == 0 { 100_000_000 } else { 1 };
            Some(starkroute_types::Amount::from_u128(u128::from(quanta * q + u64::from(odd && token == 0))))
        } else {
            None
        };
        let req = QuoteRequest {
            asset: AssetRef {
                token: symbols[token].into(),
                token_id: (!fungible).then(|| "7".parse().unwrap()),
            },
            amount,
            from,
            to,
            sender: accounts(0, sender_mask | 7),
            recipient: accounts(1, recipient_mask),
            objective: if cheapest { Objective::Cheapest } else { Objective::Fastest },
            allow_other_destinations: others,
        };
        (req, topo)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_route_is_a_connected_chain_to_the_recipient((req, topo) in scenario()) {
        let costs = sandbox().costs;
        let Ok(plans) = plan(&req, &topo, &costs) else { return Ok(()) };
        for route in &plans.routes {
            prop_assert!(!route.legs.is_empty());
            // Starts where the sender holds the asset.
            let start = Position::owned(req.sender.on(req.from).unwrap());
            // Every leg that moves the asset starts where the previous one left it; a leg that
            // only prepares an account names that account at both ends.
            let moving: Vec<_> = route.legs.iter().filter(|l| l.kind.moves_asset()).collect();
            prop_assert!(!moving.is_empty());
            prop_assert_eq!(moving[0].from, start);
            for w in moving.windows(2) {
                prop_assert_eq!(w[0].to, w[1].from, "{}", route.summary);
            }
            for l in route.legs.iter().filter(|l| !l.kind.moves_asset()) {
                prop_assert_eq!(l.from, l.to);
                prop_assert_eq!(Some(l.to.holder), req.recipient.on(l.to.layer));
            }
            // Ends at the recipient, owned, on an accepted destination.
            let end = route.legs.last().unwrap().to;
            prop_assert_eq!(end, route.destination);
            prop_assert_eq!(end.holding, Holding::Owned);
            prop_assert_eq!(Some(end.holder), req.recipient.on(end.layer));
            prop_assert!(end.layer == req.to || req.allow_other_destinations);
            // No leg asks a layer for an asset it cannot represent.
            for leg in &route.legs {
                for l in [leg.kind.layer(), leg.from.layer, leg.to.layer] {
                    prop_assert!(plans.asset.exists_on(l), "{} on {l} in {}", plans.asset.label(), route.summary);
                }
                prop_assert!(topo.has_layer(leg.kind.layer()));
                prop_assert_eq!(leg.from.layer == leg.to.layer || leg.kind.moves_asset(), true);
            }
            // Totals are the sums of the legs.
            let fee = route.legs.iter().map(|l| l.fee_total().unwrap()).fold(Wei::ZERO, |a, b| a.checked_add(b).unwrap());
            prop_assert_eq!(fee, route.total_fee_wei);
            prop_assert_eq!(route.eta.max_secs, route.legs.iter().map(|l| l.eta.max_secs).sum::<u64>());
            // Indices are positions.
            for (i, leg) in route.legs.iter().enumerate() {
                prop_assert_eq!(usize::from(leg.index), i);
            }
        }
        // Ranked by the objective.
        for w in plans.routes.windows(2) {
            match req.objective {
                Objective::Fastest => prop_assert!(w[0].eta.max_secs <= w[1].eta.max_secs),
                Objective::Cheapest => prop_assert!(w[0].total_fee_wei <= w[1].total_fee_wei),
            }
        }
    }

    #[test]
    fn nothing_is_dropped_silently((req, topo) in scenario()) {
        let costs = sandbox().costs;
        let Ok(plans) = plan(&req, &topo, &costs) else { return Ok(()) };
        // A request with no route always explains itself.
        if plans.routes.is_empty() && req.from != req.to {
            prop_assert!(!plans.rejected.is_empty(), "no route and no reason for {req:?}");
        }
        for r in &plans.rejected {
            prop_assert!(!r.reason.is_empty());
        }
    }
}
