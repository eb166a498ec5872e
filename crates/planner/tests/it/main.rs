//! Planner tests against the shipped sandbox configuration.
#![allow(clippy::unwrap_used, missing_docs)]

mod gift;
mod properties;
mod routes;

use serde::Deserialize;
use starkroute_planner::{CostModel, QuoteRequest, Topology};

#[derive(Deserialize)]
pub(crate) struct ConfigFile {
    pub(crate) topology: Topology,
    pub(crate) costs: CostModel,
}

pub(crate) fn sandbox() -> ConfigFile {
    toml::from_str(&starkroute_testkit::files::sandbox_toml()).unwrap()
}

pub(crate) fn gift_request() -> QuoteRequest {
    serde_json::from_str(&starkroute_testkit::files::gift_request_json()).unwrap()
}
