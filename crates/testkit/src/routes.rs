//! Routes and legs built by hand, as the planner would write them, for tests that drive the
//! executor without a quote.

use starkroute_types::{EtaRange, Leg, LegKind, Party, Position, Route, Wei};

/// A leg the sender signs, without fees, with a 1–2 s ETA.
pub fn leg(index: u16, kind: LegKind, from: Position, to: Position) -> Leg {
    Leg {
        index,
        kind,
        from,
        to,
        signer: Party::Sender,
        fees: vec![],
        eta: EtaRange::new(1, 2),
        description: kind.to_string(),
    }
}

/// A route of `legs` (at least one) ending where the last leg ends, without fees, with a 1–2 s
/// ETA.
pub fn route(summary: impl Into<String>, legs: Vec<Leg>) -> Route {
    let destination = legs.last().expect("a route has a leg").to;
    Route {
        summary: summary.into(),
        legs,
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(1, 2),
        destination,
        needs_recipient_action: false,
        assumptions: vec![],
    }
}
