//! `starkroute doctor --config FILE [--json]`: checks a configured network against its chains
//! (the checks `serve` runs at start) and prints one line per check; exits non-zero when one
//! fails, each failure naming the configuration key, what the file expects and what the chain
//! says. Node URLs are never printed.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use starkroute_server::config::{Config, Overrides};

/// Arguments of `starkroute doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The configuration file with a `[network]` section (and the router's `[signers]`).
    #[arg(long, env = "STARKROUTE_CONFIG", value_name = "FILE")]
    config: PathBuf,
    /// Print one JSON object (`{"ok", "checks": [{key, ok, expected, actual}]}`).
    #[arg(long)]
    json: bool,
}

/// Runs the checks; an error (exit code 1) when one fails, after printing them all.
pub(crate) fn run(args: &DoctorArgs) -> Result<String> {
    let overrides = Overrides::new().with_env(std::env::vars());
    let config = Config::layered(Some(&args.config), &overrides)?;
    if config.network.is_none() {
        bail!(
            "{}: no [network] section: the embedded sandbox needs no checks",
            args.config.display()
        );
    }
    let signers = config
        .signers
        .load(&config.base_dir, super::keys::permission_policy()?)
        .context("signers")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let report = runtime.block_on(starkroute_server::doctor::check(&config, &signers));
    let out = if args.json {
        serde_json::to_string_pretty(&report.to_json())?
    } else {
        report.lines().join("\n")
    };
    if report.ok() {
        return Ok(out);
    }
    println!("{out}");
    bail!("{} of {} checks failed", report.failures().len(), report.checks.len())
}
