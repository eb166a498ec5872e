//! What a route moves: the asset and amount its legs' intents need.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starkroute_store::{Event, NewEvent};
use starkroute_types::{Amount, Asset};

/// The event type that records a route's [`RouteOrder`] in its log.
pub const ORDER_EVENT: &str = "route_order";

/// The asset and amount a route moves.
///
/// A planned [`Route`](starkroute_types::Route) names the legs and positions but not the asset
/// or the amount, and every leg's intent needs them. The executor records them in the route's
/// event log right after creating it ([`Executor::create_route`](crate::Executor::create_route))
/// and reads them back from there, so they survive restarts like the rest of the route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteOrder {
    /// The asset.
    pub asset: Asset,
    /// The amount, in base units (1 for an NFT).
    pub amount: Amount,
}

impl RouteOrder {
    /// The event that records it.
    pub fn to_event(&self) -> Result<NewEvent, serde_json::Error> {
        Ok(NewEvent::new(ORDER_EVENT, serde_json::to_value(self)?))
    }

    /// The order recorded in a route's events, if any.
    pub fn find(events: &[Event]) -> Option<Result<Self, serde_json::Error>> {
        events.iter().find(|e| e.kind == ORDER_EVENT).map(|e| Self::from_value(&e.data))
    }

    fn from_value(v: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(v)
    }
}
