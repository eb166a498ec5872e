//! The planner, embedded: quotes computed in-process with no server, over the embedded sandbox
//! topology or any topology the caller loads.
//!
//! An offline quote is the same ranking the server would give for the same topology and cost
//! model, but it has no id: to run a route, ask the server ([`crate::Client::quote`]).

use serde::Deserialize;
pub use starkroute_planner::{plan, CostModel, PlanError, Plans, QuoteRequest, Topology};

use crate::error::{Error, Result};

/// The sandbox configuration `starkroute serve` runs by default: this crate's copy of the
/// repository's `config/sandbox.toml` (a test keeps the two identical), inside the crate so it
/// can be packaged.
pub const SANDBOX_TOML: &str = include_str!("../config/sandbox.toml");

/// A topology with its cost model: what the planner needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Network {
    /// Layers, tokens, bridges, policies, readiness facts.
    pub topology: Topology,
    /// Fees and latencies.
    #[serde(default)]
    pub costs: CostModel,
}

impl Network {
    /// The `[topology]` and `[costs]` of a starkroute configuration file (the file's other
    /// tables — API, store, executor — are ignored).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Decode {
            what: "configuration",
            message: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
        })
    }

    /// The embedded sandbox's topology and costs.
    pub fn sandbox() -> Result<Self> {
        Self::from_toml(SANDBOX_TOML)
    }

    /// Quotes `request` on this network.
    pub fn quote(&self, request: &QuoteRequest) -> Result<Plans, PlanError> {
        plan(request, &self.topology, &self.costs)
    }
}

/// Quotes `request` over `topology` and `costs` in-process: ranked routes and every rejected
/// path with its reason (the planner's [`plan`]; pure, no IO).
pub fn quote(
    request: &QuoteRequest,
    topology: &Topology,
    costs: &CostModel,
) -> Result<Plans, PlanError> {
    plan(request, topology, costs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_copy_is_the_repositorys_sandbox_toml() {
        let repo =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sandbox.toml");
        let text = std::fs::read(&repo).expect("config/sandbox.toml in the repository");
        assert!(
            text == SANDBOX_TOML.as_bytes(),
            "crates/sdk/config/sandbox.toml differs from config/sandbox.toml: copy it over"
        );
    }
}
