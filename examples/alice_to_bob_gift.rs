//! The seed: Alice minted ART #7 on Starknet; Bob has only a StarkEx account.
//!
//! The planner quotes the gift (`examples/requests/alice_to_bob_gift.json`) on the embedded
//! sandbox topology; then each of its three routes is run through the durable executor
//! ([`starkroute_executor::Executor`]) with the sandbox adapters and a SQLite store in a temporary
//! directory, each on a fresh demo world whose virtual clock the example moves:
//!
//! 1. Starknet NFT bridge → L1 claim → deposit straight into Bob's StarkEx vault;
//! 2. the same, deposited into Alice's vault, then a signed StarkEx transfer to Bob;
//! 3. Bob uses a Starknet account instead: he deploys it (his signature, asked for by the
//!    executor and posted by the example with Bob's demo key), then Alice transfers ART #7.
//!
//! Every stored event is printed leg by leg; at the end of each run the example checks where
//! ART #7 is and that no asset was created or destroyed on any layer (`check_conservation`).
//!
//! ```sh
//! cargo run --example alice_to_bob_gift
//! ```

#[path = "common/mod.rs"]
mod common;

use anyhow::{ensure, Context, Result};
use common::{outcome_text, print_plans, route_with_legs, Sandbox};
use starkroute_planner::QuoteRequest;
use starkroute_sandbox::world::{starkex_asset_type, GIFT_TOKEN_ID};
use starkroute_types::{AssetClass, StarkExAssetType, TokenId, U256};

const GIFT: &str = include_str!("requests/alice_to_bob_gift.json");

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alice_to_bob_gift failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let request: QuoteRequest = serde_json::from_str(GIFT).context("the gift request")?;
    println!("Alice minted ART #7 on Starknet; Bob has only a StarkEx account.");
    println!("Quote (planner, embedded sandbox topology):");
    let plans = Sandbox::start().await?.quote(&request)?;
    print_plans(&plans);

    let variants: [(&str, &[&str]); 3] = [
        (
            "deposit straight into Bob's StarkEx vault",
            &["starknet_nft_withdraw", "l1_claim_from_nft_bridge", "l1_deposit_to_starkex"],
        ),
        (
            "deposit into Alice's StarkEx vault, then a StarkEx transfer to Bob",
            &[
                "starknet_nft_withdraw",
                "l1_claim_from_nft_bridge",
                "l1_deposit_to_starkex",
                "starkex_transfer",
            ],
        ),
        (
            "Bob deploys a Starknet account, Alice transfers on Starknet",
            &["starknet_account_deployment", "starknet_transfer"],
        ),
    ];
    for (n, (title, legs)) in variants.iter().enumerate() {
        println!("\nVariant {}: {title}", n + 1);
        let sandbox = Sandbox::start().await?;
        let plans = sandbox.quote(&request)?;
        let index = route_with_legs(&plans, legs)?;
        let rec = sandbox.run(&plans, index).await?;
        println!("  completed after {} simulated: {}", sandbox.elapsed(), outcome_text(&rec));
        check_where_the_nft_is(&sandbox, legs.contains(&"starknet_transfer"))?;
        sandbox.check_conservation().context("conservation")?;
        println!("  conservation holds on L1, StarkEx, Starknet and in flight");
        sandbox.close().await;
    }
    println!("\nAll three variants completed.");
    Ok(())
}

/// Reads the worlds' own state (not the executor's view) to see where ART #7 ended up.
fn check_where_the_nft_is(s: &Sandbox, on_starknet: bool) -> Result<()> {
    let id = U256::from(GIFT_TOKEN_ID);
    let w = s.world.lock();
    if on_starknet {
        ensure!(w.starknet.is_deployed(&s.bob.starknet), "Bob's Starknet account is not deployed");
        ensure!(
            w.starknet.erc721_owner(&s.tokens.art_l2, &id) == Some(s.bob.starknet),
            "ART #7 is not Bob's on Starknet"
        );
        println!("  Starknet: Bob's account {:#x} is deployed and owns ART #7", s.bob.starknet);
        return Ok(());
    }
    let art_type = starkex_asset_type(AssetClass::Erc721, Some(&s.tokens.art_l1), 1)?;
    let asset_id = starkroute_crypto::nft_asset_id(&StarkExAssetType(art_type), &TokenId(id)).0;
    let vault = w
        .starkex
        .vaults()
        .iter()
        .find(|(_, v)| v.stark_key == s.bob.stark_key() && v.asset_id == asset_id && v.balance == 1)
        .map(|(id, _)| *id)
        .context("no vault of Bob's holds ART #7")?;
    ensure!(
        w.l1.ledger().erc721_owner(&s.tokens.art_l1, &id) == Some(w.l1.addresses().starkex_core),
        "ART #7 is not escrowed by the StarkEx contract on L1"
    );
    ensure!(
        w.l1.state().starkex.get_vault_root() == w.starkex.vault_root(),
        "the vault root on L1 is not the engine's"
    );
    println!("  StarkEx: Bob's vault {vault} holds ART #7; the batch carrying it is proven on L1");
    Ok(())
}
