//! The `starkroute` command line.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use starkroute_planner::{plan, Accounts, AssetRef, Objective, Plans, QuoteRequest};
use starkroute_types::{Amount, EthAddress, Layer, Party, StarkKey, StarknetAddress, TokenId, Wei};

use crate::config::Config;
use crate::util::UtilCommand;

/// The Alice→Bob gift request the demo quotes.
pub const GIFT_REQUEST_JSON: &str =
    include_str!("../../../examples/requests/alice_to_bob_gift.json");

/// starkroute: plan and execute asset routes between StarkEx, Starknet and Ethereum L1.
#[derive(Debug, Parser)]
#[command(name = "starkroute", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Quote ranked routes for a request (JSON file or flags) and print them.
    Quote(QuoteArgs),
    /// Quote the Alice→Bob gift on the embedded sandbox and print the plan.
    Demo(DemoArgs),
    /// Serve the HTTP API over the embedded sandbox, a SQLite store and an executor: one
    /// command, no set-up. Prints the sandbox's demo API key.
    Serve(crate::serve::ServeArgs),
    /// Run the embedded sandbox (L1, StarkEx, Starknet on a virtual clock) and serve the StarkEx
    /// REST API.
    Sandbox(crate::sandbox_cmd::SandboxArgs),
    /// Run one executor instance: drive the routes of a store through the settlement-layer
    /// adapters another process serves over HTTP (several instances share a PostgreSQL store).
    Worker(crate::worker::WorkerArgs),
    /// Start a route on a running server, from a quote (id or file) or a request (quoted, then
    /// route `--route N` started); prints the route's id.
    Route(crate::client_cmd::RouteArgs),
    /// Follow a route's events on a running server until it ends: progress bars per leg on a
    /// terminal, one line per event otherwise; exits non-zero with the recovery instructions
    /// when the route fails or is cancelled.
    Watch(crate::client_cmd::WatchArgs),
    /// Compute what the router computes: asset ids, message hashes, signatures, keys, proofs.
    /// Each prints one JSON object.
    #[command(subcommand)]
    Util(UtilCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object.
    Json,
    /// A human-readable plan.
    Text,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Output format of the quote.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Only quote; do not walk the gift on the sandbox.
    #[arg(long)]
    quote_only: bool,
}

#[derive(Debug, Args)]
struct QuoteArgs {
    /// Configuration file (default: the embedded config/sandbox.toml).
    #[arg(long, env = "STARKROUTE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The request as JSON, from a file or `-` for stdin; flags below override its fields.
    #[arg(long, value_name = "FILE|-")]
    request: Option<String>,
    /// Token: symbol (ETH, USDC), L1 address or Starknet address.
    #[arg(long)]
    asset: Option<String>,
    /// Token id, for an ERC-721.
    #[arg(long)]
    token_id: Option<TokenId>,
    /// Amount in base units (wei for ETH), for a fungible token.
    #[arg(long)]
    amount: Option<Amount>,
    /// Layer the asset is on: l1, starkex or starknet.
    #[arg(long)]
    from: Option<Layer>,
    /// Layer it should end on.
    #[arg(long)]
    to: Option<Layer>,
    /// Sender's L1 address.
    #[arg(long)]
    sender_l1: Option<EthAddress>,
    /// Sender's Stark key.
    #[arg(long)]
    sender_starkex: Option<StarkKey>,
    /// Sender's Starknet address.
    #[arg(long)]
    sender_starknet: Option<StarknetAddress>,
    /// Recipient's L1 address.
    #[arg(long)]
    recipient_l1: Option<EthAddress>,
    /// Recipient's Stark key.
    #[arg(long)]
    recipient_starkex: Option<StarkKey>,
    /// Recipient's Starknet address.
    #[arg(long)]
    recipient_starknet: Option<StarknetAddress>,
    /// Rank by: fastest or cheapest.
    #[arg(long)]
    objective: Option<Objective>,
    /// Also propose routes ending on another layer where the recipient has an account.
    #[arg(long)]
    allow_other_destinations: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// An error for the user: one line, naming the field.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Runs the CLI with the process arguments; returns the exit code.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the CLI with the given arguments (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind()
                    == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // clap names the flag and the reason on its first line; the rest is usage noise.
            let msg = e.to_string();
            eprintln!("{}", msg.lines().next().unwrap_or("error: invalid arguments"));
            return ExitCode::from(2);
        }
    };
    match execute(cli.command) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(CliError(msg)) => {
            eprintln!("error: {}", msg.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<String, CliError> {
    match command {
        Command::Quote(args) => quote(args),
        Command::Demo(args) => demo(&args),
        Command::Util(u) => crate::util::run(u),
        Command::Sandbox(args) => crate::sandbox_cmd::run(&args),
        Command::Serve(args) => crate::serve::run(&args),
        Command::Worker(args) => crate::worker::run(&args),
        Command::Route(args) => crate::client_cmd::route(&args),
        Command::Watch(args) => crate::client_cmd::watch(&args),
    }
}

fn demo(args: &DemoArgs) -> Result<String, CliError> {
    let config = Config::sandbox()?;
    let request: QuoteRequest = serde_json::from_str(GIFT_REQUEST_JSON)?;
    let plans = plan(&request, &config.topology, &config.costs)?;
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&plans)?,
        Format::Text => {
            let mut s = String::from(
                "Alice minted ART #7 on Starknet; Bob has only a StarkEx account.\n\
                 starkroute quotes the gift on the embedded sandbox topology:\n\n",
            );
            s.push_str(&render(&request, &plans));
            if !args.quote_only {
                // The walk prints as it goes: the quote first.
                println!("{s}");
                s = crate::demo_walk::walk(&plans)?;
            }
            s
        }
    })
}

fn quote(args: QuoteArgs) -> Result<String, CliError> {
    let config = Config::load(args.config.as_deref())?;
    let mut request = match args.request.as_deref() {
        Some(src) => Some(read_request(src)?),
        None => None,
    };
    let req = match request.take() {
        Some(mut r) => {
            if let Some(a) = args.asset {
                r.asset.token = a;
            }
            if args.token_id.is_some() {
                r.asset.token_id = args.token_id;
            }
            if args.amount.is_some() {
                r.amount = args.amount;
            }
            r.from = args.from.unwrap_or(r.from);
            r.to = args.to.unwrap_or(r.to);
            merge(&mut r.sender, args.sender_l1, args.sender_starkex, args.sender_starknet);
            merge(
                &mut r.recipient,
                args.recipient_l1,
                args.recipient_starkex,
                args.recipient_starknet,
            );
            r.objective = args.objective.unwrap_or(r.objective);
            r.allow_other_destinations |= args.allow_other_destinations;
            r
        }
        None => QuoteRequest {
            asset: AssetRef {
                token: args
                    .asset
                    .ok_or_else(|| CliError("--asset: required (or give --request)".into()))?,
                token_id: args.token_id,
            },
            amount: args.amount,
            from: args
                .from
                .ok_or_else(|| CliError("--from: required (or give --request)".into()))?,
            to: args.to.ok_or_else(|| CliError("--to: required (or give --request)".into()))?,
            sender: Accounts {
                l1: args.sender_l1,
                starkex: args.sender_starkex,
                starknet: args.sender_starknet,
            },
            recipient: Accounts {
                l1: args.recipient_l1,
                starkex: args.recipient_starkex,
                starknet: args.recipient_starknet,
            },
            objective: args.objective.unwrap_or_default(),
            allow_other_destinations: args.allow_other_destinations,
        },
    };
    let plans = plan(&req, &config.topology, &config.costs)?;
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&plans)?,
        Format::Text => render(&req, &plans),
    })
}

fn merge(
    a: &mut Accounts,
    l1: Option<EthAddress>,
    ex: Option<StarkKey>,
    sn: Option<StarknetAddress>,
) {
    a.l1 = l1.or(a.l1);
    a.starkex = ex.or(a.starkex);
    a.starknet = sn.or(a.starknet);
}

/// Reads a quote request from a JSON file or `-` (stdin); errors name the field's path.
pub(crate) fn read_request(src: &str) -> Result<QuoteRequest, CliError> {
    let text = if src == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError(format!("--request: stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(src).map_err(|e| CliError(format!("--request: {src}: {e}")))?
    };
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de)
        .map_err(|e| CliError(format!("--request: {}: {}", e.path(), e.inner())))
}

/// Formats wei as ETH exactly (no floating point): `1234500000000000` → `0.0012345 ETH`.
pub fn format_eth(w: Wei) -> String {
    let whole = w.0 / 1_000_000_000_000_000_000;
    let frac = w.0 % 1_000_000_000_000_000_000;
    if frac == 0 {
        return format!("{whole} ETH");
    }
    let frac = format!("{frac:018}");
    format!("{whole}.{} ETH", frac.trim_end_matches('0'))
}

/// Formats seconds as `1d 2h`, `3h 5m`, `4m 10s` or `12s`.
pub fn format_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

fn render(req: &QuoteRequest, plans: &Plans) -> String {
    let mut s = String::new();
    let what = if plans.asset.is_fungible() {
        format!("{} {} (base units)", plans.amount, plans.asset.token.symbol)
    } else {
        plans.asset.label()
    };
    let _ = writeln!(
        s,
        "{what}: {} → {}, {} first{}",
        req.from,
        req.to,
        match plans.objective {
            Objective::Fastest => "fastest",
            Objective::Cheapest => "cheapest",
        },
        if req.allow_other_destinations { " (other destinations allowed)" } else { "" }
    );
    if plans.routes.is_empty() {
        let _ = writeln!(s, "\nNo route: see the rejected paths below.");
    }
    for (i, r) in plans.routes.iter().enumerate() {
        let _ = writeln!(
            s,
            "\nRoute {} — ends at {}\n  ETA {} to {}, fees {}{}",
            i + 1,
            r.destination,
            format_duration(r.eta.min_secs),
            format_duration(r.eta.max_secs),
            format_eth(r.total_fee_wei),
            if r.needs_recipient_action { " — needs the recipient to act" } else { "" }
        );
        for leg in &r.legs {
            let who = match leg.signer {
                Party::Sender => "sender signs",
                Party::Recipient => "recipient signs",
                Party::Anyone => "anyone may send",
            };
            let _ = writeln!(
                s,
                "  {}. [{}] {} ({who}; {}–{}; {})",
                leg.index + 1,
                leg.kind.layer(),
                leg.description,
                format_duration(leg.eta.min_secs),
                format_duration(leg.eta.max_secs),
                format_eth(leg.fee_total().unwrap_or(Wei(u128::MAX))),
            );
        }
        for a in &r.assumptions {
            let _ = writeln!(s, "  assumes: {a}");
        }
    }
    if !plans.rejected.is_empty() {
        let _ = writeln!(s, "\nPaths not taken:");
        for r in &plans.rejected {
            let _ = writeln!(s, "  - {}: {}", r.path, r.reason);
        }
    }
    s.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_formatting_is_exact() {
        assert_eq!(format_eth(Wei(0)), "0 ETH");
        assert_eq!(format_eth(Wei(1)), "0.000000000000000001 ETH");
        assert_eq!(format_eth(Wei(1_234_500_000_000_000_000)), "1.2345 ETH");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(12), "12s");
        assert_eq!(format_duration(3600 + 120), "1h 2m");
        assert_eq!(format_duration(86_400 * 2 + 3600), "2d 1h");
        assert_eq!(format_duration(300), "5m");
    }
}
