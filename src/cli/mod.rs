//! The `starkroute` command line: `serve`, the planner's `quote`, a `demo` that quotes and walks
//! the Alice→Bob gift, `sandbox`, `worker`, `route` and `watch` (clients of a running server),
//! the `util` commands that expose the protocol cryptography, and `keys` (keystores and starkli
//! account files).
//!
//! Results go to stdout; errors go to stderr as one line (`error: …`, exit code 1; 2 for a bad
//! argument). Background events (a failed batch, a store that does not answer) are `tracing`
//! events on stderr, filtered by `RUST_LOG` (default `warn`), as text or, with
//! `--log-format json`, one JSON object per line.

mod client;
mod demo;
mod doctor;
mod keys;
mod logging;
mod sandbox;
mod serve;
mod util;
mod worker;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use starkroute_planner::{plan, Accounts, AssetRef, Objective, Plans, QuoteRequest};
use starkroute_sdk::format::{format_duration, format_eth};
use starkroute_server::config::Config;
use starkroute_types::{Amount, EthAddress, Layer, Party, StarkKey, StarknetAddress, TokenId, Wei};

use self::util::UtilCommand;

/// The Alice→Bob gift request the demo quotes.
const GIFT_REQUEST_JSON: &str = include_str!("../../examples/requests/alice_to_bob_gift.json");

/// starkroute: plan and execute asset routes between StarkEx, Starknet and Ethereum L1.
#[derive(Debug, Parser)]
#[command(name = "starkroute", version, about, long_about = None)]
struct Cli {
    /// Format of the log events on stderr (their level: `RUST_LOG`, default `warn`).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Quote ranked routes for a request (JSON file or flags) and print them.
    Quote(QuoteArgs),
    /// Quote the Alice→Bob gift on the embedded sandbox and print the plan.
    Demo(DemoArgs),
    /// Check a configured network (nodes, chain ids, contracts, bridges, the router's accounts)
    /// as `serve` does at start: one line per check, each failure naming its configuration key;
    /// exit code 1 when one fails.
    Doctor(doctor::DoctorArgs),
    /// Serve the HTTP API over the embedded sandbox, a SQLite store and an executor: one
    /// command, no set-up. Prints the sandbox's demo API key.
    Serve(serve::ServeArgs),
    /// Run the embedded sandbox (L1, StarkEx, Starknet on a virtual clock) and serve the StarkEx
    /// REST API.
    Sandbox(sandbox::SandboxArgs),
    /// Run one executor instance: drive the routes of a store through the settlement-layer
    /// adapters another process serves over HTTP (`--layers URL`), or through the production
    /// adapters of a network file it builds itself, after `doctor`'s checks (`--config FILE`,
    /// keys from its `[signers]`); several instances share a PostgreSQL store.
    Worker(worker::WorkerArgs),
    /// Start a route on a running server, from a quote (id or file) or a request (quoted, then
    /// route `--route N` started); prints the route's id.
    Route(client::RouteArgs),
    /// Follow a route's events on a running server until it ends: progress bars per leg on a
    /// terminal, one line per event otherwise; exits non-zero with the recovery instructions
    /// when the route fails or is cancelled.
    Watch(client::WatchArgs),
    /// Make and inspect keys: Ethereum, Stark and Starknet keys in Web3 Secret Storage v3
    /// keystores (geth, cast and starkli read them), Starknet accounts in starkli's account
    /// files. Passwords from an environment variable, a file or the terminal; never a flag.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
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

/// Runs the CLI with the process arguments; returns the exit code.
pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
    logging::init(cli.log_format);
    match execute(cli.command) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line. A cause whose text the message already carries (an
/// error that prints its source) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !msg.contains(&cause) {
            msg.push_str(": ");
            msg.push_str(&cause);
        }
    }
    msg.replace('\n', " ")
}

fn execute(command: Command) -> Result<String> {
    let name = match &command {
        Command::Quote(_) => "quote",
        Command::Demo(_) => "demo",
        Command::Doctor(_) => "doctor",
        Command::Serve(_) => "serve",
        Command::Sandbox(_) => "sandbox",
        Command::Worker(_) => "worker",
        Command::Route(_) => "route",
        Command::Watch(_) => "watch",
        Command::Util(_) => "util",
        Command::Keys(_) => "keys",
    };
    tracing::debug!(command = name, version = env!("CARGO_PKG_VERSION"), "starting");
    match command {
        Command::Quote(args) => quote(args),
        Command::Demo(args) => demo(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Util(u) => util::run(u),
        Command::Keys(k) => keys::run(k),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Worker(args) => worker::run(&args),
        Command::Route(args) => client::route(&args),
        Command::Watch(args) => client::watch(&args),
    }
}

fn demo(args: &DemoArgs) -> Result<String> {
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
                s = demo::walk(&plans)?;
            }
            s
        }
    })
}

fn quote(args: QuoteArgs) -> Result<String> {
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
                    .ok_or_else(|| anyhow!("--asset: required (or give --request)"))?,
                token_id: args.token_id,
            },
            amount: args.amount,
            from: args.from.ok_or_else(|| anyhow!("--from: required (or give --request)"))?,
            to: args.to.ok_or_else(|| anyhow!("--to: required (or give --request)"))?,
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
fn read_request(src: &str) -> Result<QuoteRequest> {
    let text = if src == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("--request: stdin")?;
        s
    } else {
        std::fs::read_to_string(src).with_context(|| format!("--request: {src}"))?
    };
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow!("--request: {}: {}", e.path(), e.inner()))
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

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
