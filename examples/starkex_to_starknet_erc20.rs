//! USDC from a StarkEx vault to a Starknet account, through the executor on the sandbox.
//!
//! Set-up (itself a route through the executor): Alice deposits 5 USDC from L1 into her StarkEx
//! vault. Then the planner quotes 2.5 USDC from StarkEx to her Starknet account — a StarkEx
//! withdrawal request (signed through the sandbox's ImmutableX-style REST API by the production
//! StarkEx adapter), the L1 claim once the batch is proven, and the StarkGate deposit with its
//! L1→L2 message fee — and the executor runs it leg by leg, with a SQLite store in a temporary
//! directory and the world's virtual clock moved by the example.
//!
//! At the end the example reads every layer's balance from the world itself and checks that
//! exactly 2.5 USDC moved, and that no asset was created or destroyed (`check_conservation`).
//!
//! ```sh
//! cargo run --example starkex_to_starknet_erc20
//! ```

#[path = "common/mod.rs"]
mod common;

use anyhow::{ensure, Context, Result};
use common::{outcome_text, print_plans, Sandbox};
use starkroute_planner::{Accounts, AssetRef, Objective, QuoteRequest};
use starkroute_sandbox::world::starkex_asset_type;
use starkroute_types::{Amount, AssetClass, Layer, StarknetAddress};

/// 5 USDC and 2.5 USDC in base units (USDC has 6 decimals).
const DEPOSIT: u128 = 5_000_000;
const MOVE: u128 = 2_500_000;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("starkex_to_starknet_erc20 failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let s = Sandbox::start().await?;
    let alice_sn = StarknetAddress::new(s.alice.starknet)?;
    let usdc_l1 = s.tokens.usdc;
    let usdc_type = starkex_asset_type(AssetClass::Erc20, Some(&usdc_l1), 1)?;

    println!("Set-up: Alice deposits {} USDC from L1 into her StarkEx vault", usdc(DEPOSIT));
    let deposit = QuoteRequest {
        asset: AssetRef { token: "USDC".into(), token_id: None },
        amount: Some(Amount::from_u128(DEPOSIT)),
        from: Layer::L1,
        to: Layer::StarkEx,
        sender: Accounts { l1: Some(s.alice.l1()), starkex: None, starknet: None },
        recipient: Accounts { l1: None, starkex: Some(s.alice.stark_key()), starknet: None },
        objective: Objective::default(),
        allow_other_destinations: false,
    };
    let plans = s.quote(&deposit)?;
    print_plans(&plans);
    s.run(&plans, 0).await?;

    let (l1_before, sn_before) = balances(&s)?;
    let vault_before = starkex_balance(&s, usdc_type);
    println!(
        "\nAlice now has {} USDC on L1, {} in StarkEx, {} on Starknet",
        usdc(l1_before),
        usdc(vault_before),
        usdc(sn_before)
    );

    println!("\nQuote: {} USDC from StarkEx to Alice's Starknet account", usdc(MOVE));
    let request = QuoteRequest {
        asset: AssetRef { token: "USDC".into(), token_id: None },
        amount: Some(Amount::from_u128(MOVE)),
        from: Layer::StarkEx,
        to: Layer::Starknet,
        sender: Accounts {
            l1: Some(s.alice.l1()),
            starkex: Some(s.alice.stark_key()),
            starknet: None,
        },
        recipient: Accounts { l1: None, starkex: None, starknet: Some(alice_sn) },
        objective: Objective::default(),
        allow_other_destinations: false,
    };
    let plans = s.quote(&request)?;
    print_plans(&plans);
    let kinds: Vec<&str> =
        plans.routes.first().context("no route")?.legs.iter().map(|l| l.kind.as_str()).collect();
    ensure!(
        kinds == ["starkex_withdrawal_request", "l1_claim_from_starkex", "l1_deposit_to_starkgate"],
        "unexpected best route {kinds:?}"
    );
    println!("\nRunning route 0 through the executor:");
    let rec = s.run(&plans, 0).await?;
    println!("  completed after {} simulated: {}", s.elapsed(), outcome_text(&rec));

    let (l1_after, sn_after) = balances(&s)?;
    let vault_after = starkex_balance(&s, usdc_type);
    println!(
        "Alice now has {} USDC on L1, {} in StarkEx, {} on Starknet",
        usdc(l1_after),
        usdc(vault_after),
        usdc(sn_after)
    );
    ensure!(vault_before - vault_after == MOVE, "the vault lost {}", vault_before - vault_after);
    ensure!(sn_after - sn_before == MOVE, "Starknet gained {}", sn_after - sn_before);
    ensure!(l1_after == l1_before, "L1 USDC changed by the route");
    s.check_conservation().context("conservation")?;
    println!("Exactly {} USDC moved; conservation holds on every layer.", usdc(MOVE));
    s.close().await;
    Ok(())
}

/// Alice's USDC on L1 and on Starknet, in base units.
fn balances(s: &Sandbox) -> Result<(u128, u128)> {
    let w = s.world.lock();
    let l1 = w.l1.ledger().erc20_balance(&s.tokens.usdc, &s.alice.l1());
    let sn = w.starknet.erc20_balance(&s.tokens.usdc_l2, &s.alice.starknet);
    Ok((u128::try_from(l1)?, u128::try_from(sn)?))
}

/// Alice's USDC across her StarkEx vaults (quantum 1: quanta are base units).
fn starkex_balance(s: &Sandbox, asset: starkroute_types::Felt) -> u128 {
    let w = s.world.lock();
    w.starkex
        .vaults()
        .values()
        .filter(|v| v.stark_key == s.alice.stark_key() && v.asset_id == asset)
        .map(|v| u128::from(v.balance))
        .sum()
}

/// Base units as USDC, exactly.
fn usdc(units: u128) -> String {
    let frac = format!("{:06}", units % 1_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", units / 1_000_000)
    } else {
        format!("{}.{frac}", units / 1_000_000)
    }
}
