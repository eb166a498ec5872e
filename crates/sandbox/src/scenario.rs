//! Scripted journeys on the demo deployment, leg by leg, for the demo command and the tests.
//!
//! These drive the sandbox directly, the way a wallet would; the durable executor (which drives
//! real routes through the adapters) is a separate component.

use alloy_primitives::U256;
use starkroute_types::{AssetClass, Felt, StarkExAssetType, TokenId};

use crate::l1::L1Call;
use crate::starknet::{Call, Execution, Finality};
use crate::world::{starkex_asset_type, Demo, GIFT_TOKEN_ID};

/// A step of a journey, reported as it completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Virtual time (seconds since the epoch) when the step completed.
    pub at: u64,
    /// The layer it happened on (`l1`, `starkex`, `starknet`).
    pub layer: &'static str,
    /// What happened.
    pub what: String,
}

/// A journey failed: the step and the reason (a revert, a rejected transaction, a timeout).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct ScenarioError {
    /// The step.
    pub step: &'static str,
    /// Why.
    pub reason: String,
}

fn fail(step: &'static str) -> impl Fn(String) -> ScenarioError {
    move |reason| ScenarioError { step, reason }
}

/// The Alice→Bob gift, the shorter route: Alice sends ART #7 through the NFT bridge to her L1
/// address, claims it on L1 after the Starknet state update, and deposits it straight into Bob's
/// StarkEx vault; the operator picks it up and proves it in a batch.
///
/// Returns Bob's vault id. Conservation is checked after every leg.
pub fn alice_to_bob_gift(
    demo: &mut Demo,
    mut report: impl FnMut(Progress),
) -> Result<starkroute_types::VaultId, ScenarioError> {
    let Demo { world: w, alice, bob, tokens } = demo;
    let id = U256::from(GIFT_TOKEN_ID);
    let conserved = |w: &crate::world::World, step| {
        w.check_conservation().map_err(|e| ScenarioError { step, reason: e.to_string() })
    };
    let mut note = |w: &crate::world::World, layer, what: String| {
        report(Progress { at: w.now(), layer, what });
    };

    // Leg 1: the NFT bridge on Starknet (approve + deposit_tokens in one multicall).
    let bridge = w.starknet.nft_bridge_address();
    let calls = vec![
        Call::erc721_approve(tokens.art_l2, bridge, id),
        Call::nft_deposit_tokens(
            bridge,
            Felt::ONE,
            tokens.art_l2,
            &alice.l1(),
            &[id],
            false,
            false,
        ),
    ];
    let nonce = w.starknet.account(&alice.starknet).map_or(0, |a| a.pending_nonce);
    let hash = w.starknet.invoke_hash(alice.starknet, nonce, &calls);
    let sig = alice.stark.sign(&hash).map_err(|e| fail("sign starknet withdraw")(e.to_string()))?;
    let tx = w
        .starknet
        .invoke(alice.starknet, nonce, calls, &sig)
        .map_err(|e| fail("starknet withdraw")(e.to_string()))?;
    note(w, "starknet", format!("NFT bridge deposit_tokens sent: tx {:#x}", tx));
    let accepted = |w: &crate::world::World, f: Finality| {
        w.starknet.tx_status(&tx).is_some_and(|s| s.finality_status == f)
    };
    advance_until(w, 600, 60, |w| accepted(w, Finality::AcceptedOnL2))
        .map_err(fail("starknet withdraw accepted on L2"))?;
    if w.starknet.tx_status(&tx).and_then(|s| s.execution_status) != Some(Execution::Succeeded) {
        let reason = w.starknet.tx_status(&tx).and_then(|s| s.failure_reason).unwrap_or_default();
        return Err(fail("starknet withdraw")(reason));
    }
    note(w, "starknet", "ACCEPTED_ON_L2: ART #7 escrowed by the L2 bridge".into());
    conserved(w, "after the starknet withdraw")?;
    advance_until(w, 86_400, 600, |w| accepted(w, Finality::AcceptedOnL1))
        .map_err(fail("starknet state update"))?;
    note(w, "starknet", "ACCEPTED_ON_L1: the state update carried the L2→L1 message".into());

    // Leg 2: claim on L1.
    let request = w
        .starknet
        .tx(&tx)
        .and_then(|t| t.messages_to_l1.first().map(|m| m.payload.clone()))
        .ok_or_else(|| fail("l1 claim")("the L2 transaction sent no message to L1".into()))?;
    w.l1.send_and_check(alice.l1(), U256::ZERO, L1Call::NftWithdrawTokens { request })
        .map_err(|r| fail("l1 claim")(r.reason))?;
    note(w, "l1", format!("withdrawTokens: ART #7 now owned by {} on L1", alice.l1()));
    conserved(w, "after the l1 claim")?;

    // Leg 3: deposit straight into Bob's StarkEx vault.
    let art_type = starkex_asset_type(AssetClass::Erc721, Some(&tokens.art_l1), 1)
        .map_err(|e| fail("asset type")(e.to_string()))?;
    let asset_id = starkroute_crypto::nft_asset_id(&StarkExAssetType(art_type), &TokenId(id)).0;
    let vault = w
        .starkex
        .vault_for(bob.stark_key(), asset_id)
        .map_err(|e| fail("vault for bob")(e.to_string()))?;
    let core = w.l1.addresses().starkex_core;
    let approve =
        L1Call::Erc721SetApprovalForAll { token: tokens.art_l1, operator: core, approved: true };
    w.l1.send_and_check(alice.l1(), U256::ZERO, approve).map_err(|r| fail("approve")(r.reason))?;
    let deposit = L1Call::DepositNft {
        stark_key: bob.stark_key().to_u256(),
        asset_type: art_type,
        vault_id: u64::from(vault.get()),
        token_id: id,
    };
    w.l1.send_and_check(alice.l1(), U256::ZERO, deposit).map_err(|r| fail("deposit")(r.reason))?;
    note(w, "l1", format!("depositNft into Bob's vault {vault}: pending on the StarkEx contract"));
    conserved(w, "after the deposit")?;
    let credited = |w: &crate::world::World| w.starkex.vault(vault).is_some_and(|v| v.balance == 1);
    advance_until(w, 3600, 60, credited).map_err(fail("deposit pickup"))?;
    note(w, "starkex", format!("the operator credited vault {vault} of {}", bob.stark_key()));
    let proven =
        |w: &crate::world::World| w.l1.state().starkex.get_vault_root() == w.starkex.vault_root();
    advance_until(w, 2 * 86_400, 600, proven).map_err(fail("batch proof"))?;
    note(w, "starkex", format!("batch proven on L1: vault root {:#x}", w.starkex.vault_root()));
    conserved(w, "at the end")?;
    Ok(vault)
}

/// Advances the world in `step`-second increments until `done` holds, at most `limit` seconds.
fn advance_until(
    w: &mut crate::world::World,
    limit: u64,
    step: u64,
    done: impl Fn(&crate::world::World) -> bool,
) -> Result<(), String> {
    let deadline = w.now() + limit;
    while !done(w) {
        if w.now() >= deadline {
            return Err(format!("not done after {limit} s of simulated time"));
        }
        w.advance(step);
    }
    Ok(())
}
