//! The path search behind [`crate::plan`].
//!
//! Kept in one file (about 830 lines of code): the search, its pruning and the reasons a path is
//! rejected share the candidate type and are read together.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use starkroute_types::{
    Account, Amount, Asset, AssetClass, EtaRange, FeeItem, FeeKind, Holding, Layer, Leg, LegKind,
    Party, Position, Representation, Route, Wei,
};

use crate::{
    CostModel, LatencyModel, Objective, PlanError, Plans, PriceSource, QuoteRequest, Rejection,
    RejectionCode, Result, Topology,
};

/// Longest route considered, in hops (a withdrawal counts as one hop of two legs).
const MAX_HOPS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Sender,
    Recipient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    layer: Layer,
    holder: Holder,
}

impl Node {
    fn label(self) -> String {
        let who = match self.holder {
            Holder::Sender => "sender",
            Holder::Recipient => "recipient",
        };
        format!("{}:{who}", self.layer)
    }
}

/// One step of the search: the legs it adds and where it leaves the asset.
struct Hop {
    to: Node,
    legs: Vec<Leg>,
    needs_recipient_action: bool,
    assumptions: Vec<String>,
}

struct Refusal {
    leg: LegKind,
    to: Node,
    code: RejectionCode,
    reason: String,
}

struct Ctx<'a> {
    req: &'a QuoteRequest,
    topo: &'a Topology,
    costs: &'a CostModel,
    asset: Asset,
    amount: Amount,
    destinations: Vec<Layer>,
}

pub(crate) fn plan(req: &QuoteRequest, topo: &Topology, costs: &CostModel) -> Result<Plans> {
    let ctx = Ctx::new(req, topo, costs)?;
    let start = Node { layer: req.from, holder: Holder::Sender };
    let mut out = Search { routes: Vec::new(), rejected: Vec::new() };
    let mut path: Vec<(Node, Hop)> = Vec::new();
    ctx.explore(start, &mut path, &mut out);

    // A destination other than the requested one is listed only if the caller asked for it;
    // if the recipient has no account there, say so rather than staying silent.
    if req.allow_other_destinations {
        for layer in Layer::ALL {
            if layer != req.to && topo.has_layer(layer) && req.recipient.on(layer).is_none() {
                out.rejected.push(Rejection {
                    path: format!("{} → {layer}:recipient", start.label()),
                    leg: None,
                    code: RejectionCode::NoAccount,
                    reason: format!(
                        "the recipient has no {layer} account; give its address to consider ending there"
                    ),
                });
            }
        }
    }

    let mut routes = out.routes;
    rank(&mut routes, req.objective);
    let mut rejected = out.rejected;
    rejected.sort_by(|a, b| a.path.cmp(&b.path).then(a.reason.cmp(&b.reason)));
    rejected.dedup_by(|a, b| a.path == b.path && a.reason == b.reason);
    Ok(Plans { asset: ctx.asset, amount: ctx.amount, objective: req.objective, routes, rejected })
}

struct Search {
    routes: Vec<Route>,
    rejected: Vec<Rejection>,
}

fn rank(routes: &mut [Route], objective: Objective) {
    routes.sort_by(|a, b| {
        let by_eta = a.eta.max_secs.cmp(&b.eta.max_secs).then(a.eta.min_secs.cmp(&b.eta.min_secs));
        let by_fee = a.total_fee_wei.cmp(&b.total_fee_wei);
        let primary = match objective {
            Objective::Fastest => by_eta.then(by_fee),
            Objective::Cheapest => by_fee.then(by_eta),
        };
        primary
            .then(a.needs_recipient_action.cmp(&b.needs_recipient_action))
            .then(a.legs.len().cmp(&b.legs.len()))
            .then(a.summary.cmp(&b.summary))
    });
}

impl<'a> Ctx<'a> {
    fn new(req: &'a QuoteRequest, topo: &'a Topology, costs: &'a CostModel) -> Result<Self> {
        for (field, layer) in [("from", req.from), ("to", req.to)] {
            if !topo.has_layer(layer) {
                return Err(PlanError::LayerDisabled { field, layer });
            }
        }
        let token = topo
            .find_token(&req.asset.token)
            .ok_or_else(|| PlanError::UnknownToken(req.asset.token.clone()))?
            .clone();
        let invalid = |field, reason: String| PlanError::InvalidRequest { field, reason };
        let (asset, amount) = if token.class.is_fungible() {
            if req.asset.token_id.is_some() {
                return Err(invalid(
                    "asset.token_id",
                    format!(
                        "{} is {}: it takes an amount, not a token id",
                        token.symbol, token.class
                    ),
                ));
            }
            let amount = req.amount.ok_or_else(|| {
                invalid("amount", format!("{} is fungible: an amount is required", token.symbol))
            })?;
            if amount.is_zero() {
                return Err(invalid("amount", "must be greater than zero".into()));
            }
            (Asset::fungible(token).map_err(|e| invalid("asset", e.reason))?, amount)
        } else {
            let id = req.asset.token_id.ok_or_else(|| {
                invalid(
                    "asset.token_id",
                    format!("{} is {}: a token id is required", token.symbol, token.class),
                )
            })?;
            if let Some(a) = req.amount {
                if a != Amount::from_u128(1) {
                    return Err(invalid(
                        "amount",
                        format!("an NFT moves as exactly 1 unit, got {a}"),
                    ));
                }
            }
            (Asset::nft(token, id).map_err(|e| invalid("asset", e.reason))?, Amount::from_u128(1))
        };
        if req.sender.on(req.from).is_none() {
            return Err(invalid("sender", format!("the sender needs an account on {}", req.from)));
        }
        if req.recipient.on(req.to).is_none() {
            return Err(invalid(
                "recipient",
                format!("the recipient needs an account on {}", req.to),
            ));
        }
        if let Err(e) = asset.on(req.from) {
            return Err(invalid("asset", e.to_string()));
        }
        let mut destinations = vec![req.to];
        if req.allow_other_destinations {
            destinations.extend(
                Layer::ALL.into_iter().filter(|l| {
                    *l != req.to && topo.has_layer(*l) && req.recipient.on(*l).is_some()
                }),
            );
        }
        Ok(Self { req, topo, costs, asset, amount, destinations })
    }

    fn account(&self, node: Node) -> Option<Account> {
        match node.holder {
            Holder::Sender => self.req.sender.on(node.layer),
            Holder::Recipient => self.req.recipient.on(node.layer),
        }
    }

    /// A sender position that is the recipient's own account is the recipient.
    fn normalize(&self, node: Node) -> Node {
        if node.holder == Holder::Sender
            && self.req.sender.on(node.layer).is_some()
            && self.req.sender.on(node.layer) == self.req.recipient.on(node.layer)
        {
            Node { layer: node.layer, holder: Holder::Recipient }
        } else {
            node
        }
    }

    fn explore(&self, node: Node, path: &mut Vec<(Node, Hop)>, out: &mut Search) {
        let node = self.normalize(node);
        if node.holder == Holder::Recipient {
            if self.destinations.contains(&node.layer) {
                out.routes.extend(self.finish(node, path));
            }
            return;
        }
        if path.len() >= MAX_HOPS {
            return;
        }
        for step in self.hops(node) {
            match step {
                Ok(hop) => {
                    let to = self.normalize(hop.to);
                    if self.pointless(node, to, path) {
                        continue;
                    }
                    path.push((node, hop));
                    self.explore(to, path, out);
                    path.pop();
                }
                Err(refusal) => {
                    // A refusal toward a place no route would go is noise, not information.
                    if self.pointless(node, self.normalize(refusal.to), path) {
                        continue;
                    }
                    let mut p = String::new();
                    for (n, _) in path.iter() {
                        let _ = write!(p, "{} → ", n.label());
                    }
                    let _ =
                        write!(p, "{} → {} ({})", node.label(), refusal.to.label(), refusal.leg);
                    out.rejected.push(Rejection {
                        path: p,
                        leg: Some(refusal.leg),
                        code: refusal.code,
                        reason: refusal.reason,
                    });
                }
            }
        }
    }

    /// A hop no route should take: back to a layer the asset already left (a round trip only
    /// adds fees and hours), or to the recipient somewhere that is not a destination.
    fn pointless(&self, at: Node, to: Node, path: &[(Node, Hop)]) -> bool {
        let returns = to.layer != at.layer
            && (to.layer == self.req.from || path.iter().any(|(n, _)| n.layer == to.layer));
        returns || (to.holder == Holder::Recipient && !self.destinations.contains(&to.layer))
    }

    fn finish(&self, end: Node, path: &[(Node, Hop)]) -> Option<Route> {
        let mut legs = Vec::new();
        let mut needs_recipient_action = false;
        let mut assumptions = Vec::new();
        for (_, hop) in path {
            needs_recipient_action |= hop.needs_recipient_action;
            for a in &hop.assumptions {
                if !assumptions.contains(a) {
                    assumptions.push(a.clone());
                }
            }
            legs.extend(hop.legs.iter().cloned());
        }
        let mut total = Wei::ZERO;
        let mut eta = EtaRange::default();
        for (i, leg) in legs.iter_mut().enumerate() {
            leg.index = u16::try_from(i).unwrap_or(u16::MAX);
            leg.description = describe(leg.kind, &self.asset, self.amount, leg.from, leg.to);
            // Fees are bounded by the cost model's u128 values; saturate rather than fail a quote.
            total = total
                .checked_add(leg.fee_total().unwrap_or(Wei(u128::MAX)))
                .unwrap_or(Wei(u128::MAX));
            eta = eta.then(leg.eta);
        }
        let mut summary = String::new();
        for (n, _) in path {
            let _ = write!(summary, "{} → ", n.layer);
        }
        let _ = write!(summary, "{}:", end.layer);
        for (i, leg) in legs.iter().enumerate() {
            let _ = write!(summary, "{}{}", if i == 0 { " " } else { ", " }, leg.kind);
        }
        // `hop` only reaches a node whose account exists, so this is always `Some`.
        let destination = Position::owned(self.account(end)?);
        Some(Route {
            summary,
            legs,
            total_fee_wei: total,
            eta,
            destination,
            needs_recipient_action,
            assumptions,
        })
    }

    fn refuse(
        &self,
        leg: LegKind,
        to: Node,
        code: RejectionCode,
        reason: impl Into<String>,
    ) -> Result<Hop, Refusal> {
        Err(Refusal { leg, to, code, reason: reason.into() })
    }

    /// Every hop out of a node, taken or refused.
    fn hops(&self, node: Node) -> Vec<Result<Hop, Refusal>> {
        let mut out = Vec::new();
        let s = Holder::Sender;
        let r = Holder::Recipient;
        match node.layer {
            Layer::StarkEx => {
                out.push(self.hop(
                    node,
                    Node { layer: Layer::StarkEx, holder: r },
                    &[LegKind::StarkExTransfer],
                ));
                out.push(self.hop(
                    node,
                    Node { layer: Layer::L1, holder: s },
                    &[LegKind::StarkExWithdrawalRequest, LegKind::L1ClaimFromStarkEx],
                ));
            }
            Layer::Starknet => {
                out.push(self.hop(
                    node,
                    Node { layer: Layer::Starknet, holder: r },
                    &[LegKind::StarknetTransfer],
                ));
                let (withdraw, claim) = if self.asset.is_fungible() {
                    (LegKind::StarknetWithdraw, LegKind::L1ClaimFromStarkGate)
                } else {
                    (LegKind::StarknetNftWithdraw, LegKind::L1ClaimFromNftBridge)
                };
                for holder in [s, r] {
                    out.push(self.hop(node, Node { layer: Layer::L1, holder }, &[withdraw, claim]));
                }
                // The bridge that does not carry this asset is a path a user may wonder about.
                let other = if self.asset.is_fungible() {
                    LegKind::StarknetNftWithdraw
                } else {
                    LegKind::StarknetWithdraw
                };
                out.push(self.bridge_mismatch(other, Node { layer: Layer::L1, holder: s }));
            }
            Layer::L1 => {
                out.push(self.hop(
                    node,
                    Node { layer: Layer::L1, holder: r },
                    &[LegKind::L1Transfer],
                ));
                let deposit_l2 = if self.asset.is_fungible() {
                    LegKind::L1DepositToStarkGate
                } else {
                    LegKind::L1DepositToNftBridge
                };
                for holder in [s, r] {
                    out.push(self.hop(
                        node,
                        Node { layer: Layer::StarkEx, holder },
                        &[LegKind::L1DepositToStarkEx],
                    ));
                    out.push(self.hop(
                        node,
                        Node { layer: Layer::Starknet, holder },
                        &[deposit_l2],
                    ));
                }
                let other = if self.asset.is_fungible() {
                    LegKind::L1DepositToNftBridge
                } else {
                    LegKind::L1DepositToStarkGate
                };
                out.push(self.bridge_mismatch(other, Node { layer: Layer::Starknet, holder: s }));
            }
        }
        out
    }

    fn bridge_mismatch(&self, leg: LegKind, to: Node) -> Result<Hop, Refusal> {
        let reason = match leg {
            LegKind::StarknetWithdraw | LegKind::L1DepositToStarkGate => format!(
                "StarkGate bridges ETH and ERC-20 only; {} is {}",
                self.asset.label(),
                self.asset.class()
            ),
            _ => format!(
                "the NFT bridge (Starklane interface) carries ERC-721 only; {} is {}",
                self.asset.label(),
                self.asset.class()
            ),
        };
        self.refuse(leg, to, RejectionCode::BridgeUnsupportedAsset, reason)
    }

    /// Builds the legs of one hop after checking every rule that applies to them.
    fn hop(&self, from: Node, to: Node, kinds: &[LegKind]) -> Result<Hop, Refusal> {
        let first = kinds[0];
        let last = kinds[kinds.len() - 1];
        let topo = self.topo;

        // Layers and representation.
        if !topo.has_layer(to.layer) {
            return self.refuse(
                first,
                to,
                RejectionCode::LayerDisabled,
                format!("{} is not enabled", to.layer),
            );
        }
        let repr = match self.asset.on(to.layer) {
            Ok(r) => r,
            Err(e) => return self.refuse(first, to, RejectionCode::AssetNotOnLayer, e.to_string()),
        };

        // Accounts.
        let Some(from_account) = self.account(from) else {
            return self.refuse(
                first,
                to,
                RejectionCode::NoAccount,
                format!("the sender has no {} account", from.layer),
            );
        };
        let Some(to_account) = self.account(to) else {
            let who = if to.holder == Holder::Sender { "sender" } else { "recipient" };
            return self.refuse(
                last,
                to,
                RejectionCode::NoAccount,
                format!("the {who} has no {} account", to.layer),
            );
        };

        let mut assumptions = Vec::new();
        let mut legs = Vec::new();
        let mut needs_recipient_action = false;

        // Bridges and policies.
        match first {
            LegKind::StarknetWithdraw | LegKind::L1DepositToStarkGate
                if !topo.starkgate.enabled =>
            {
                return self.refuse(
                    first,
                    to,
                    RejectionCode::BridgeDisabled,
                    "StarkGate is disabled in this topology",
                );
            }
            LegKind::StarknetNftWithdraw | LegKind::L1DepositToNftBridge => {
                if !topo.nft_bridge.enabled {
                    return self.refuse(
                        first,
                        to,
                        RejectionCode::BridgeDisabled,
                        "the NFT bridge is disabled in this topology",
                    );
                }
                let collection = self.asset.token.l1;
                if !topo.nft_bridge.whitelist.is_empty()
                    && !collection.is_some_and(|c| topo.nft_bridge.whitelist.contains(&c))
                {
                    return self.refuse(
                        first,
                        to,
                        RejectionCode::CollectionNotWhitelisted,
                        format!(
                            "the NFT bridge does not accept the collection of {}",
                            self.asset.label()
                        ),
                    );
                }
            }
            LegKind::L1DepositToStarkEx => {
                if let Representation::StarkEx { minted_on_starkex, .. } = repr {
                    if !self.asset.is_fungible()
                        && topo.starkex.nft_deposits_only_minted_here
                        && !minted_on_starkex
                    {
                        return self.refuse(
                            first,
                            to,
                            RejectionCode::Policy,
                            format!(
                                "this StarkEx deployment accepts ERC-721 deposits only for assets minted on it; {} was not",
                                self.asset.label()
                            ),
                        );
                    }
                }
                if self.asset.class() == AssetClass::MintableErc20
                    || self.asset.class() == AssetClass::MintableErc721
                {
                    // The StarkEx contract's deposit refuses mintable asset types.
                    return self.refuse(
                        first,
                        to,
                        RejectionCode::Policy,
                        "mintable assets cannot be deposited into StarkEx; they only leave it",
                    );
                }
            }
            _ => {}
        }

        // Amounts on StarkEx must be whole quanta.
        for layer in [from.layer, to.layer] {
            if layer == Layer::StarkEx {
                if let Ok(Representation::StarkEx { quantum, .. }) = self.asset.on(Layer::StarkEx) {
                    if let Err(e) = quantum.quantize(self.amount) {
                        return self.refuse(
                            first,
                            to,
                            RejectionCode::Amount,
                            format!("on starkex: {e}"),
                        );
                    }
                }
            }
        }

        // The acting side must be ready: a StarkEx withdrawal pays the L1 address registered for the
        // Stark key; a Starknet transaction needs a deployed account.
        match from_account {
            Account::StarkEx(_) | Account::Starknet(_) => match topo.readiness_of(&from_account) {
                Some(true) => {}
                Some(false) => {
                    let what = if from.layer == Layer::StarkEx {
                        "the sender's Stark key is not registered on StarkEx"
                    } else {
                        "the sender's Starknet account is not deployed"
                    };
                    return self.refuse(first, to, RejectionCode::AccountNotReady, what);
                }
                None => assumptions.push(if from.layer == Layer::StarkEx {
                    format!("the sender's Stark key {from_account} is registered on StarkEx")
                } else {
                    format!("the sender's Starknet account {from_account} is deployed")
                }),
            },
            Account::L1(_) => {}
        }
        if first == LegKind::StarkExWithdrawalRequest && self.req.sender.l1.is_none() {
            return self.refuse(
                first,
                to,
                RejectionCode::NoAccount,
                "a StarkEx withdrawal pays the sender's registered L1 address, and none was given",
            );
        }

        // The receiving side: a recipient that is known not to be ready gets a leg that makes it
        // ready (signed by the recipient); the sender's own accounts must already be ready.
        if matches!(to.layer, Layer::StarkEx | Layer::Starknet) && to_account != from_account {
            let needs = to.layer == Layer::Starknet || topo.starkex.recipient_must_be_registered;
            match (needs, topo.readiness_of(&to_account)) {
                (false, _) | (true, Some(true)) => {}
                (true, Some(false)) if to.holder == Holder::Recipient => {
                    let kind = if to.layer == Layer::StarkEx {
                        LegKind::StarkExRegistration
                    } else {
                        LegKind::StarknetAccountDeployment
                    };
                    // The leg is about the recipient's account, not the asset: both ends name the
                    // account it registers or deploys, and the asset stays where it is.
                    let account = Position::owned(to_account);
                    legs.push(self.leg(kind, account, account, Party::Recipient));
                    needs_recipient_action = true;
                }
                (true, Some(false)) => {
                    return self.refuse(
                        last,
                        to,
                        RejectionCode::AccountNotReady,
                        format!("the sender's {} account is not ready", to.layer),
                    );
                }
                (true, None) => assumptions.push(if to.layer == Layer::StarkEx {
                    format!("the Stark key {to_account} is registered on StarkEx")
                } else {
                    format!("the Starknet account {to_account} is deployed")
                }),
            }
        }

        // The legs themselves.
        let mut at = Position::owned(from_account);
        for (i, kind) in kinds.iter().enumerate() {
            let is_last = i + 1 == kinds.len();
            let next = if is_last {
                Position::owned(to_account)
            } else {
                // The first half of a withdrawal leaves the asset claimable on L1.
                Position { layer: Layer::L1, holder: to_account, holding: Holding::Claimable }
            };
            let signer = match kind {
                LegKind::L1ClaimFromStarkEx
                | LegKind::L1ClaimFromStarkGate
                | LegKind::L1ClaimFromNftBridge => Party::Anyone,
                _ => Party::Sender,
            };
            legs.push(self.leg(*kind, at, next, signer));
            at = next;
        }
        Ok(Hop { to, legs, needs_recipient_action, assumptions })
    }

    fn leg(&self, kind: LegKind, from: Position, to: Position, signer: Party) -> Leg {
        Leg {
            index: 0,
            kind,
            from,
            to,
            signer,
            fees: fees_for(kind, &self.asset, self.costs),
            eta: eta_for(kind, &self.costs.latency),
            // Filled in by `finish`: most hops never become part of a route, and formatting
            // accounts is the most expensive thing the search would otherwise do.
            description: String::new(),
        }
    }
}

fn describe(kind: LegKind, asset: &Asset, amount: Amount, from: Position, to: Position) -> String {
    let what = if asset.is_fungible() {
        format!("{amount} {}", asset.token.symbol)
    } else {
        asset.label()
    };
    match kind {
        LegKind::StarkExTransfer => {
            format!("Transfer {what} on StarkEx from {} to {}", from.holder, to.holder)
        }
        LegKind::StarkExWithdrawalRequest => format!(
            "Request the StarkEx withdrawal of {what} to {} and wait for the batch proof",
            to.holder
        ),
        LegKind::L1ClaimFromStarkEx => {
            format!("Claim {what} on L1 from the StarkEx contract for {}", to.holder)
        }
        LegKind::L1DepositToStarkEx => {
            format!("Deposit {what} from {} into the StarkEx vault of {}", from.holder, to.holder)
        }
        LegKind::StarknetTransfer => {
            format!("Transfer {what} on Starknet from {} to {}", from.holder, to.holder)
        }
        LegKind::StarknetWithdraw => format!(
            "Withdraw {what} through StarkGate to {} and wait for the state update",
            to.holder
        ),
        LegKind::StarknetNftWithdraw => format!(
            "Send {what} through the NFT bridge to {} and wait for the state update",
            to.holder
        ),
        LegKind::L1ClaimFromStarkGate => {
            format!("Claim {what} from StarkGate on L1 for {}", to.holder)
        }
        LegKind::L1ClaimFromNftBridge => {
            format!("Claim {what} from the NFT bridge on L1 for {}", to.holder)
        }
        LegKind::L1DepositToStarkGate => format!("Deposit {what} into StarkGate for {}", to.holder),
        LegKind::L1DepositToNftBridge => {
            format!("Deposit {what} into the NFT bridge for {}", to.holder)
        }
        LegKind::L1Transfer => {
            format!("Transfer {what} on L1 from {} to {}", from.holder, to.holder)
        }
        LegKind::StarkExRegistration => {
            "The recipient registers their Stark key on StarkEx".to_owned()
        }
        LegKind::StarknetAccountDeployment => {
            "The recipient deploys their Starknet account".to_owned()
        }
        LegKind::FullWithdrawalRequest => {
            format!("Request a full withdrawal of the vault holding {what}")
        }
        LegKind::FreezeRequest => "Freeze the StarkEx contract after the grace period".to_owned(),
        LegKind::Escape => format!("Escape {what} with a Merkle proof against the frozen root"),
    }
}

/// The fee items of a leg under a cost model. Each item names its price's source and block
/// when the model was read from the chains ([`CostModel::live`]); a token with a StarkGate bridge
/// of its own pays that bridge's message fee.
pub fn fees_for(kind: LegKind, asset: &Asset, costs: &CostModel) -> Vec<FeeItem> {
    let class = asset.class();
    let g = &costs.gas;
    let live = &costs.live;
    let nft = !class.is_fungible();
    let token = class != AssetClass::Eth;
    // Fee items are made for every hop the search tries: nothing here allocates but the vector.
    let symbol = asset.token.symbol.as_str();
    let estimates = for_token(&live.gas_units, symbol);
    let flat = |kind: FeeKind, amount: Wei, from: Option<&PriceSource>| FeeItem {
        kind,
        gas_units: None,
        gas_price_wei: None,
        amount_wei: amount,
        source: from.map(|p| Cow::Borrowed(p.source)),
        block: from.and_then(|p| p.block),
        gas_units_source: None,
        gas_units_block: None,
    };
    // A gas fee: the model's units for `call` (a `costs.gas` key), or the units estimated for
    // this token's call on a configured network, at the layer's price.
    let gas = |kind: FeeKind, call: &'static str, model: u64| {
        let (price, from) = match kind {
            FeeKind::StarknetGas => (costs.starknet_gas_price_wei, live.starknet_gas.as_ref()),
            _ => (costs.l1_gas_price_wei, live.l1_gas.as_ref()),
        };
        let estimate = estimates.and_then(|calls| calls.get(call));
        let units = estimate.map_or(model, |e| e.0);
        let (units_source, units_block) = match (estimate, from) {
            (Some((_, at)), _) => (Some(Cow::Borrowed(at.source)), at.block),
            // Read from the chains, but this call could not be simulated: say so.
            (None, Some(_)) => (Some(Cow::Borrowed(gas_call::model_source(call))), None),
            (None, None) => (None, None),
        };
        FeeItem {
            gas_units: Some(units),
            gas_price_wei: Some(price),
            amount_wei: Wei::from_gas(units, price.0).unwrap_or(Wei(u128::MAX)),
            gas_units_source: units_source,
            gas_units_block: units_block,
            ..flat(kind, Wei(0), from)
        }
    };
    let l1 = |call: &'static str, model: u64| gas(FeeKind::L1Gas, call, model);
    let l2 = |call: &'static str, model: u64| gas(FeeKind::StarknetGas, call, model);
    let starkgate_fee = || match for_token(&live.message_fee_by_token, symbol) {
        Some((fee, from)) => flat(FeeKind::L1ToL2MessageFee, *fee, Some(from)),
        None => flat(
            FeeKind::L1ToL2MessageFee,
            costs.l1_to_l2_message_fee_wei,
            live.l1_to_l2_message.as_ref(),
        ),
    };
    let approval = |items: &mut Vec<FeeItem>| {
        if token {
            items.push(l1(gas_call::L1_APPROVAL, g.l1_approval));
        }
    };
    let mut items = Vec::new();
    match kind {
        LegKind::StarkExTransfer | LegKind::StarkExWithdrawalRequest => {
            items.push(flat(
                FeeKind::OperatorFee,
                costs.starkex_operator_fee_wei,
                live.starkex_operator.as_ref(),
            ));
        }
        LegKind::L1ClaimFromStarkEx => items.push(match class {
            AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
                l1("starkex_withdraw_and_mint", g.starkex_withdraw_and_mint)
            }
            AssetClass::Erc721 => l1("starkex_withdraw_nft", g.starkex_withdraw_nft),
            AssetClass::Eth | AssetClass::Erc20 => l1("starkex_withdraw", g.starkex_withdraw),
        }),
        LegKind::L1DepositToStarkEx => {
            approval(&mut items);
            items.push(match class {
                AssetClass::Eth => l1("starkex_deposit_eth", g.starkex_deposit_eth),
                _ if nft => l1("starkex_deposit_nft", g.starkex_deposit_nft),
                _ => l1("starkex_deposit_erc20", g.starkex_deposit_erc20),
            });
        }
        LegKind::StarknetTransfer => {
            items.push(l2(gas_call::STARKNET_TRANSFER, g.starknet_transfer));
        }
        LegKind::StarknetWithdraw => {
            items.push(l2(gas_call::STARKNET_WITHDRAW, g.starknet_withdraw));
        }
        LegKind::StarknetNftWithdraw => {
            items.push(l2("starknet_nft_withdraw", g.starknet_nft_withdraw));
        }
        LegKind::StarknetAccountDeployment => {
            items.push(l2("starknet_account_deploy", g.starknet_account_deploy));
        }
        LegKind::L1ClaimFromStarkGate => items.push(l1("starkgate_withdraw", g.starkgate_withdraw)),
        LegKind::L1ClaimFromNftBridge => {
            items.push(l1("nft_bridge_withdraw", g.nft_bridge_withdraw));
        }
        LegKind::L1DepositToStarkGate => {
            approval(&mut items);
            items.push(l1(gas_call::STARKGATE_DEPOSIT, g.starkgate_deposit));
            items.push(starkgate_fee());
        }
        LegKind::L1DepositToNftBridge => {
            approval(&mut items);
            items.push(l1("nft_bridge_deposit", g.nft_bridge_deposit));
            items.push(flat(
                FeeKind::L1ToL2MessageFee,
                costs.nft_bridge_message_fee_wei,
                live.nft_bridge_message.as_ref(),
            ));
        }
        LegKind::L1Transfer => items.push(match class {
            AssetClass::Eth => l1(gas_call::L1_ETH_TRANSFER, g.l1_eth_transfer),
            _ if nft => l1("l1_erc721_transfer", g.l1_erc721_transfer),
            _ => l1("l1_erc20_transfer", g.l1_erc20_transfer),
        }),
        LegKind::StarkExRegistration => {}
        // Forced actions: fixed figures of the model, not `costs.gas` keys.
        LegKind::FullWithdrawalRequest => items.push(l1("", 1_000_000)),
        LegKind::FreezeRequest => items.push(l1("", 100_000)),
        LegKind::Escape => items.push(l1("", 500_000)),
    }
    items
}

/// A token's entry (by symbol, any case) in a map keyed by upper-case symbols, without
/// allocating.
fn for_token<'a, V>(map: &'a BTreeMap<String, V>, symbol: &str) -> Option<&'a V> {
    map.get(symbol)
        .or_else(|| map.iter().find(|(t, _)| t.eq_ignore_ascii_case(symbol)).map(|(_, v)| v))
}

/// The `costs.gas` keys of the calls a configured network's fee source estimates with the
/// router's own accounts ([`crate::LivePrices::gas_units`]).
pub mod gas_call {
    /// An ERC-20 `approve` of the token's bridge.
    pub const L1_APPROVAL: &str = "l1_approval";
    /// StarkGate's `deposit(token, amount, l2Recipient)`.
    pub const STARKGATE_DEPOSIT: &str = "starkgate_deposit";
    /// A plain ether transfer on L1.
    pub const L1_ETH_TRANSFER: &str = "l1_eth_transfer";
    /// An ERC-20 `transfer` on Starknet.
    pub const STARKNET_TRANSFER: &str = "starknet_transfer";
    /// StarkGate's L2 `initiate_token_withdraw`.
    pub const STARKNET_WITHDRAW: &str = "starknet_withdraw";

    /// The configuration key a gas item names when its call's units are the model's
    /// (`costs.gas.<call>`; `model` for the forced actions' fixed figures).
    pub fn model_source(call: &str) -> &'static str {
        match call {
            L1_APPROVAL => "costs.gas.l1_approval",
            STARKGATE_DEPOSIT => "costs.gas.starkgate_deposit",
            L1_ETH_TRANSFER => "costs.gas.l1_eth_transfer",
            STARKNET_TRANSFER => "costs.gas.starknet_transfer",
            STARKNET_WITHDRAW => "costs.gas.starknet_withdraw",
            "l1_erc20_transfer" => "costs.gas.l1_erc20_transfer",
            "l1_erc721_transfer" => "costs.gas.l1_erc721_transfer",
            "starkex_deposit_eth" => "costs.gas.starkex_deposit_eth",
            "starkex_deposit_erc20" => "costs.gas.starkex_deposit_erc20",
            "starkex_deposit_nft" => "costs.gas.starkex_deposit_nft",
            "starkex_withdraw" => "costs.gas.starkex_withdraw",
            "starkex_withdraw_nft" => "costs.gas.starkex_withdraw_nft",
            "starkex_withdraw_and_mint" => "costs.gas.starkex_withdraw_and_mint",
            "starkgate_withdraw" => "costs.gas.starkgate_withdraw",
            "nft_bridge_deposit" => "costs.gas.nft_bridge_deposit",
            "nft_bridge_withdraw" => "costs.gas.nft_bridge_withdraw",
            "starknet_nft_withdraw" => "costs.gas.starknet_nft_withdraw",
            "starknet_account_deploy" => "costs.gas.starknet_account_deploy",
            _ => "model",
        }
    }
}

/// How long a leg takes until it is final where the next leg needs it.
pub fn eta_for(kind: LegKind, lat: &LatencyModel) -> EtaRange {
    match kind {
        LegKind::StarkExTransfer | LegKind::StarkExRegistration => lat.starkex_accept,
        LegKind::StarkExWithdrawalRequest => lat.starkex_accept.then(lat.starkex_batch),
        LegKind::L1DepositToStarkEx => lat.l1_final().then(lat.starkex_deposit_pickup),
        LegKind::StarknetTransfer | LegKind::StarknetAccountDeployment => lat.starknet_accept,
        LegKind::StarknetWithdraw | LegKind::StarknetNftWithdraw => {
            lat.starknet_accept.then(lat.starknet_state_update)
        }
        LegKind::L1DepositToStarkGate | LegKind::L1DepositToNftBridge => {
            lat.l1_final().then(lat.l1_to_l2_delivery)
        }
        LegKind::L1ClaimFromStarkEx
        | LegKind::L1ClaimFromStarkGate
        | LegKind::L1ClaimFromNftBridge
        | LegKind::L1Transfer
        | LegKind::FullWithdrawalRequest
        | LegKind::Escape => lat.l1_final(),
        // The grace period is the contract's constant, not a latency to model.
        LegKind::FreezeRequest => EtaRange::new(7 * 86_400, 7 * 86_400).then(lat.l1_final()),
    }
}
