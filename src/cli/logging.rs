//! The process's log: `tracing` events from every crate, on stderr (stdout carries the commands'
//! results), filtered by `RUST_LOG` (default: `warn`), as text or one JSON object per line.

use std::io::IsTerminal as _;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, fields, spans), for log collectors.
    Json,
}

/// The filter when `RUST_LOG` is not set: warnings and errors only, so a command's own output
/// stays the only thing a user sees unless something goes wrong in the background.
const DEFAULT_FILTER: &str = "warn";

/// Installs the global subscriber. A `RUST_LOG` that does not parse is reported once and the
/// default used: a typo in a log filter is no reason to refuse to run.
pub(crate) fn init(format: LogFormat) {
    let (filter, bad) = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new(DEFAULT_FILTER), Some(e)),
        },
        _ => (EnvFilter::new(DEFAULT_FILTER), None),
    };
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // `try_init`: a second call (there is none in the binary) must not abort the process.
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if installed.is_ok() {
        if let Some(e) = bad {
            tracing::warn!(error = %e, "RUST_LOG does not parse; logging at `warn`");
        }
    }
}
