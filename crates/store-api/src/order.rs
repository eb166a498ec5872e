//! What a route moves: the asset and amount its legs' intents need.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starkroute_types::{Amount, Asset};

/// The event type that records a route's [`RouteOrder`] in its log (the API's event stream shows
/// it; the server counts a route as pending from it).
pub const ORDER_EVENT: &str = "route_order";

/// The asset and amount a route moves.
///
/// A planned [`Route`](starkroute_types::Route) names the legs and positions but not the asset
/// or the amount, and every leg's intent needs them. They are stored with the route, in the same
/// transaction that creates it ([`RouteStore::create_route`](crate::RouteStore::create_route)),
/// which also appends them to the route's log as an [`ORDER_EVENT`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteOrder {
    /// The asset.
    pub asset: Asset,
    /// The amount, in base units (1 for an NFT).
    pub amount: Amount,
}

impl RouteOrder {
    /// The sequence number of the [`ORDER_EVENT`] in a route's log: right after `route_created`.
    pub const EVENT_SEQ: u64 = 2;

    /// The order as the [`ORDER_EVENT`]'s data: `{"asset": …, "amount": "…"}`.
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "asset": self.asset, "amount": self.amount })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use starkroute_types::{AssetClass, Layer, Token};

    #[test]
    fn the_event_data_is_the_serde_form() {
        let token = Token {
            symbol: "ETH".into(),
            class: AssetClass::Eth,
            decimals: 18,
            home: Layer::L1,
            l1: None,
            starknet: None,
            starkex: None,
        };
        let order =
            RouteOrder { asset: Asset::fungible(token).unwrap(), amount: Amount::from_u128(7) };
        assert_eq!(order.to_value(), serde_json::to_value(&order).unwrap());
        assert_eq!(order.to_value()["amount"], "7");
        assert_eq!(RouteOrder::deserialize(&order.to_value()).unwrap(), order);
    }
}
