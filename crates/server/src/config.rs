//! Configuration files: `config/*.toml`.
//!
//! The sandbox configuration is compiled in, so `starkroute` works from any directory with no
//! set-up; `--config FILE` replaces it.

use std::path::Path;

use serde::Deserialize;
use starkroute_planner::{CostModel, Topology};

/// The embedded default configuration (`config/sandbox.toml`).
pub const SANDBOX_TOML: &str = include_str!("../../../config/sandbox.toml");

/// The parts of a configuration file the planner needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Layers, tokens, bridges, policies, readiness facts.
    pub topology: Topology,
    /// Fees and latencies.
    #[serde(default)]
    pub costs: CostModel,
}

/// Errors loading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for the schema; the message names the key.
    #[error("config {path}: {message}")]
    Invalid {
        /// The path.
        path: String,
        /// What is wrong, with the key.
        message: String,
    },
}

impl Config {
    /// The embedded sandbox configuration.
    pub fn sandbox() -> Result<Self, ConfigError> {
        Self::parse("config/sandbox.toml (embedded)", SANDBOX_TOML)
    }

    /// Loads a configuration file, or the embedded sandbox one when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            None => Self::sandbox(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Self::parse(&p.display().to_string(), &text)
            }
        }
    }

    /// Parses configuration text.
    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            // toml's message already names the key and the line; keep it on one line.
            message: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sandbox_parses() {
        let c = Config::sandbox().expect("sandbox.toml must parse");
        assert!(c.topology.find_token("ART").is_some());
    }

    #[test]
    fn bad_key_is_named() {
        let e = Config::parse("x.toml", "[topology]\nlayers = [\"l3\"]\n").unwrap_err().to_string();
        assert!(e.contains("layers") || e.contains("l3"), "{e}");
        let e = Config::parse("x.toml", "[topology.starkex]\nnft_deposit = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nft_deposit"), "{e}");
    }
}
