//! Offline quotes: the planner in-process over the embedded sandbox topology, no server.

use starkroute_sdk::offline::{quote, Network};

use crate::gift_request;

#[test]
fn the_sandbox_quotes_the_gift_offline() {
    let net = Network::sandbox().unwrap();
    let request = gift_request();
    let plans = quote(&request, &net.topology, &net.costs).unwrap();
    assert!(plans.routes.len() >= 2, "{plans:?}");
    assert_eq!(plans, net.quote(&request).unwrap());
    assert!(plans.routes.iter().all(|r| !r.legs.is_empty()));
    assert!(Network::from_toml("topology = 3").is_err());
}
