//! The escape hatch: the StarkEx operator stops serving, and Alice gets her ETH out anyway.
//!
//! 1. Alice deposits 1 ETH from L1 into her StarkEx vault — a route planned by the planner and
//!    run by the executor through the sandbox adapters.
//! 2. The operator stops serving (the engine's fault switches): a withdrawal request is refused
//!    and full-withdrawal requests are left unanswered.
//! 3. The escape route — the one the executor's keeper starts for an unserved withdrawal
//!    (`escape_after`) — run by the executor through the sandbox's L1 adapter:
//!    `fullWithdrawalRequest(starkKey, vaultId)`; `freezeRequest`, which the executor holds back
//!    until the 7-day grace period has passed (a `leg_waiting` event, no retries spent);
//!    `escape` with the Merkle path of the vault against the frozen root, taken from the
//!    engine's availability data; and the `withdraw` claim on L1.
//! 4. The example checks, on the world itself, that the contract is frozen, that the proof it
//!    escaped with verifies against the frozen root, that exactly 1 ETH came back to Alice's L1
//!    address, and that no asset was created or destroyed (`check_conservation`).
//!
//! ```sh
//! cargo run --example escape_hatch
//! ```

#[path = "common/mod.rs"]
mod common;

use anyhow::{bail, ensure, Context, Result};
use common::{outcome_text, print_plans, Sandbox};
use starkroute_executor::RouteOrder;
use starkroute_planner::{Accounts, AssetRef, Objective, QuoteRequest};
use starkroute_sandbox::starkex::{FaultSwitches, WithdrawalOrder, WithdrawalReceiver};
use starkroute_sandbox::world::starkex_asset_type;
use starkroute_sdk::format::format_eth;
use starkroute_types::{
    Account, Amount, AssetClass, EtaRange, Holding, Layer, Leg, LegKind, Party, Position, Route,
    Wei,
};

const ETHER: u128 = 1_000_000_000_000_000_000;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("escape_hatch failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let s = Sandbox::start().await?;
    let alice = s.alice.clone();
    let key = alice.stark_key();
    let eth_type = starkex_asset_type(AssetClass::Eth, None, 100_000_000)?;

    println!("1. Alice deposits {} into her StarkEx vault (through the executor)", eth(ETHER));
    let deposit = QuoteRequest {
        asset: AssetRef { token: "ETH".into(), token_id: None },
        amount: Some(Amount::from_u128(ETHER)),
        from: Layer::L1,
        to: Layer::StarkEx,
        sender: Accounts { l1: Some(alice.l1()), starkex: None, starknet: None },
        recipient: Accounts { l1: None, starkex: Some(key), starknet: None },
        objective: Objective::default(),
        allow_other_destinations: false,
    };
    let plans = s.quote(&deposit)?;
    print_plans(&plans);
    s.run(&plans, 0).await?;
    s.check_conservation()?;
    let (vault, balance) = {
        let w = s.world.lock();
        w.starkex
            .vaults()
            .iter()
            .find(|(_, v)| v.stark_key == key && v.asset_id == eth_type)
            .map(|(id, v)| (*id, v.balance))
            .context("Alice has no ETH vault")?
    };
    println!("   vault {vault} holds {balance} quanta of ETH (quantum 10^8 wei)");

    println!("\n2. The operator stops serving");
    {
        let mut guard = s.world.lock();
        let w = &mut *guard;
        w.starkex.set_faults(FaultSwitches {
            ignore_full_withdrawals: true,
            refuse_withdrawals: true,
            ..Default::default()
        });
        let order = WithdrawalOrder {
            sender: key,
            vault,
            asset_id: eth_type,
            amount: balance,
            nonce: w.starkex.offer_nonce(&key),
            expiration_hours: w.now() / 3600 + 24 * 30,
            receiver: WithdrawalReceiver::StarkKey,
        };
        let signed = order.sign(&alice.stark)?;
        match w.starkex.withdraw(&w.l1, w.now(), &signed) {
            Err(e) => println!("   a signed withdrawal request is refused: {e}"),
            Ok(_) => bail!("the operator still serves withdrawals"),
        }
    }

    println!("\n3. The escape route, through the executor");
    let asset = plans.asset.clone();
    let in_vault = Position::owned(Account::StarkEx(key));
    let escaped = Position { holding: Holding::Claimable, ..in_vault };
    let paid = Position::owned(Account::L1(alice.l1()));
    let leg = |index: u16, kind: LegKind, from: Position, to: Position, what: &str| Leg {
        index,
        kind,
        from,
        to,
        signer: Party::Sender,
        fees: vec![],
        eta: EtaRange::new(12, 180),
        description: what.to_owned(),
    };
    let route = Route {
        summary: "escape hatch: full withdrawal → freeze → escape → claim".into(),
        legs: vec![
            leg(0, LegKind::FullWithdrawalRequest, in_vault, in_vault, "fullWithdrawalRequest"),
            leg(1, LegKind::FreezeRequest, in_vault, in_vault, "freezeRequest after 7 days"),
            leg(2, LegKind::Escape, in_vault, escaped, "escape with the availability proof"),
            leg(3, LegKind::L1ClaimFromStarkEx, escaped, paid, "withdraw on L1"),
        ],
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(7 * 86_400, 8 * 86_400),
        destination: paid,
        needs_recipient_action: false,
        assumptions: vec![],
    };
    let before = s.world.lock().l1.ledger().eth_balance(&alice.l1());
    let order = RouteOrder { asset, amount: Amount::from_u128(ETHER) };
    let rec = s.run_route(&route, &order).await?;
    println!("   completed after {} simulated: {}", s.elapsed(), outcome_text(&rec));

    println!("\n4. Checks on the world");
    {
        let w = s.world.lock();
        ensure!(w.l1.state().starkex.is_frozen(), "the StarkEx contract is not frozen");
        let root = w.l1.state().starkex.get_vault_root();
        let p = w.starkex.availability(vault, Some(&root))?;
        ensure!(p.verify(), "the availability proof does not verify against the frozen root");
        println!(
            "   frozen at root {root:#x}; vault {vault}'s path ({} siblings) verifies against it",
            p.proof.siblings.len()
        );
        let got = u128::try_from(w.l1.ledger().eth_balance(&alice.l1()) - before)?;
        ensure!(got == ETHER, "Alice got {} back, expected {}", eth(got), eth(ETHER));
        println!("   Alice's L1 address received exactly {}", eth(got));
        w.check_conservation()?;
        println!("   conservation holds on every layer");
    }
    s.close().await;
    Ok(())
}

fn eth(wei: u128) -> String {
    format_eth(Wei(wei))
}
