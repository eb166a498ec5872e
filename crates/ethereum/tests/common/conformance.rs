//! The L1 conformance suite: the same cases on every backend behind [`Backend`] (the sandbox's
//! `SandboxL1`; `EthereumL1` on anvil). A difference between backends is a bug in one of them.

#![allow(clippy::unwrap_used, dead_code)] // A failure is the test failing.

use async_trait::async_trait;
use starkroute_layer::{LegIntent, LegProgress, Prepared, SettlementLayer};
use starkroute_types::{
    Account, Amount, Asset, EthAddress, Holding, LegKind, Position, StarkKey, U256,
};

pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;

/// One side of the suite: a settlement layer for L1 and the world around it.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// The adapter under test, holding Alice's and Bob's L1 keys.
    fn layer(&self) -> &dyn SettlementLayer;
    /// Alice: ETH and USDC on L1, a Stark key registered to her address.
    fn alice(&self) -> (EthAddress, StarkKey);
    /// Bob: ETH on L1, a registered Stark key.
    fn bob(&self) -> (EthAddress, StarkKey);
    /// A Starknet account of Bob's (a StarkGate deposit's recipient).
    fn bob_starknet(&self) -> Account;
    /// Ether and USDC as this backend lists them (quanta 10^8 and 1 on StarkEx).
    fn eth(&self) -> Asset;
    /// USDC.
    fn usdc(&self) -> Asset;
    /// The StarkGate L1 bridge and the Starknet core (messaging) contract.
    fn starkgate_and_messaging(&self) -> (EthAddress, EthAddress);
    /// Time passes: blocks are produced, the StarkEx operator batches pending deposits and
    /// posts its root, the Starknet sequencer handles L1→L2 messages.
    async fn advance(&self, secs: u64);
    /// The StarkEx operator credits a withdrawal of `amount` of `asset` from `from`'s vault to
    /// `to`'s Ethereum address in a batch on L1.
    async fn credit_withdrawal(&self, from: StarkKey, to: EthAddress, asset: &Asset, amount: u128);
    /// IMXART #`id`: an ERC-721 minted on StarkEx, created on L1 by `withdrawAndMint` (the
    /// StarkEx contract is the token's minter).
    fn imx_art(&self, id: u64) -> Asset;
    /// The exchange mints `asset` into `to_key`'s vault, then credits its withdrawal to `to` in
    /// a batch on L1.
    async fn mint_and_credit_withdrawal(&self, to_key: StarkKey, to: EthAddress, asset: &Asset);
    /// The operator stops serving full withdrawals (to reach the freeze).
    async fn censor_full_withdrawals(&self);
    /// Wei the prepared leg's transactions paid for gas (0 where gas is not charged).
    async fn gas_paid(&self, p: &Prepared) -> U256;
}

pub(crate) fn leg(
    kind: LegKind,
    asset: Asset,
    amount: u128,
    from: Account,
    to: Account,
) -> LegIntent {
    LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind,
        asset,
        amount: Amount::from_u128(amount),
        from: Position::owned(from),
        to: Position { layer: to.layer(), holder: to, holding: Holding::Owned },
        previous: None,
    }
}

async fn balance(b: &dyn Backend, who: EthAddress, asset: &Asset) -> U256 {
    b.layer().balance(&Account::L1(who), asset).await.unwrap().0
}

/// Advances in `step`s until the leg is `FinalOnL1` (at most `limit` seconds); returns the
/// distinct states seen.
pub(crate) async fn drive(
    b: &dyn Backend,
    p: &Prepared,
    step: u64,
    limit: u64,
) -> Vec<LegProgress> {
    let mut seen: Vec<LegProgress> = Vec::new();
    let mut waited = 0;
    loop {
        let s = b.layer().status(p).await.unwrap();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == LegProgress::FinalOnL1 {
            return seen;
        }
        assert!(!matches!(s, LegProgress::Failed { .. }), "{} failed: {seen:?}", p.kind);
        assert!(waited < limit, "{} not final after {limit} s: {seen:?}", p.kind);
        b.advance(step).await;
        waited += step;
    }
}

/// prepare (signed by the held key) → NotFound → send (twice) → final.
pub(crate) async fn run(b: &dyn Backend, i: &LegIntent, step: u64, limit: u64) -> Prepared {
    let p = b.layer().prepare(i).await.unwrap();
    assert_eq!(p.needs_signature, None, "{}: the adapter holds the key", i.kind);
    assert_eq!(b.layer().status(&p).await.unwrap(), LegProgress::NotFound, "{}", i.kind);
    b.layer().send(&p).await.unwrap();
    b.layer().send(&p).await.unwrap();
    drive(b, &p, step, limit).await;
    p
}

/// The leg is refused with `reason`: at prepare, at send, or as a failed status.
pub(crate) async fn refused_with(b: &dyn Backend, i: &LegIntent, reason: &str) {
    let p = match b.layer().prepare(i).await {
        Err(e) => {
            assert!(e.message.contains(reason) && !e.retryable, "{}: {e:?}", i.kind);
            return;
        }
        Ok(p) => p,
    };
    if let Err(e) = b.layer().send(&p).await {
        assert!(e.message.contains(reason) && !e.retryable, "{}: {e:?}", i.kind);
        return;
    }
    // A node may report the sent transactions as pending for a moment (anvil mines on its own
    // schedule under load): wait for the outcome, a few blocks at most.
    for _ in 0..20 {
        match b.layer().status(&p).await.unwrap() {
            LegProgress::Failed { reason: r, retryable } => {
                assert!(r.contains(reason) && !retryable, "{}: {r}", i.kind);
                return;
            }
            LegProgress::NotFound | LegProgress::Pending => b.advance(12).await,
            other => panic!("{}: expected a refusal ({reason}), got {other:?}", i.kind),
        }
    }
    panic!("{}: expected a refusal ({reason}), still pending", i.kind);
}

pub(crate) async fn l1_transfers_move_exact_amounts_once(b: &dyn Backend) {
    let ((alice, _), (bob, _)) = (b.alice(), b.bob());
    for (asset, amount) in [(b.eth(), ETHER / 4), (b.usdc(), 1_234_567)] {
        let before = balance(b, bob, &asset).await;
        let i =
            leg(LegKind::L1Transfer, asset.clone(), amount, Account::L1(alice), Account::L1(bob));
        let p = run(b, &i, 12, 600).await;
        assert_eq!(p.payload["txs"].as_array().unwrap().len(), 1);
        assert_eq!(balance(b, bob, &asset).await - before, U256::from(amount), "{}", asset.label());
    }
}

pub(crate) async fn an_unaffordable_transfer_is_refused_with_the_tokens_reason(b: &dyn Backend) {
    let ((alice, _), (bob, _)) = (b.alice(), b.bob());
    let too_much = balance(b, alice, &b.usdc()).await + U256::from(1);
    let mut i = leg(LegKind::L1Transfer, b.usdc(), 1, Account::L1(alice), Account::L1(bob));
    i.amount = Amount(too_much);
    refused_with(b, &i, "ERC20: transfer amount exceeds balance").await;
}

pub(crate) async fn deposits_into_starkex_eth_and_usdc_with_its_approval(b: &dyn Backend) {
    let ((alice, _), (_, bob_key)) = (b.alice(), b.bob());
    let eth = leg(
        LegKind::L1DepositToStarkEx,
        b.eth(),
        ETHER,
        Account::L1(alice),
        Account::StarkEx(bob_key),
    );
    let p = run(b, &eth, 60, 8 * 3600).await;
    assert_eq!(p.payload["txs"].as_array().unwrap().len(), 1);
    assert!(p.payload["starkex_deposit"]["vault_id"].is_u64());

    let amount = 250_000_000u128;
    let before = balance(b, alice, &b.usdc()).await;
    let usdc = leg(
        LegKind::L1DepositToStarkEx,
        b.usdc(),
        amount,
        Account::L1(alice),
        Account::StarkEx(bob_key),
    );
    let p = run(b, &usdc, 60, 8 * 3600).await;
    assert_eq!(p.payload["txs"].as_array().unwrap().len(), 2, "approve, then deposit");
    assert_eq!(before - balance(b, alice, &b.usdc()).await, U256::from(amount));
}

pub(crate) async fn a_deposit_that_is_not_a_multiple_of_the_quantum_is_refused(b: &dyn Backend) {
    let ((alice, _), (_, bob_key)) = (b.alice(), b.bob());
    let i = leg(
        LegKind::L1DepositToStarkEx,
        b.eth(),
        ETHER + 1,
        Account::L1(alice),
        Account::StarkEx(bob_key),
    );
    let e = b.layer().prepare(&i).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("quantum"), "{e:?}");
}

pub(crate) async fn starkgate_eth_deposit_pays_the_estimated_fee(b: &dyn Backend) {
    let (alice, _) = b.alice();
    let (bridge, core) = b.starkgate_and_messaging();
    let eth = b.eth();
    let (bridge0, core0) = (balance(b, bridge, &eth).await, balance(b, core, &eth).await);
    let i = leg(
        LegKind::L1DepositToStarkGate,
        eth.clone(),
        ETHER / 10,
        Account::L1(alice),
        b.bob_starknet(),
    );
    let p = run(b, &i, 60, 3600).await;
    let fee = U256::from(100_000_000_000_000u128); // estimateDepositFeeWei: 20000 * 5 gwei
    assert_eq!(
        balance(b, bridge, &eth).await - bridge0,
        U256::from(ETHER / 10),
        "locked in the bridge"
    );
    assert_eq!(balance(b, core, &eth).await - core0, fee, "the L1→L2 message fee");
    assert_eq!(p.payload["txs"].as_array().unwrap().len(), 1, "ether needs no approval");
}

pub(crate) async fn a_starkex_claim_waits_for_the_operators_batch_then_pays_exactly(
    b: &dyn Backend,
) {
    let (alice, alice_key) = b.alice();
    let dep = leg(
        LegKind::L1DepositToStarkEx,
        b.eth(),
        ETHER,
        Account::L1(alice),
        Account::StarkEx(alice_key),
    );
    run(b, &dep, 60, 8 * 3600).await;
    let half = ETHER / 2;
    let claim =
        leg(LegKind::L1ClaimFromStarkEx, b.eth(), half, Account::L1(alice), Account::L1(alice));
    let e = b.layer().prepare(&claim).await.unwrap_err();
    assert!(e.retryable, "nothing to claim before the batch: {e:?}");
    b.credit_withdrawal(alice_key, alice, &b.eth(), half).await;
    let before = balance(b, alice, &b.eth()).await;
    let p = run(b, &claim, 12, 600).await;
    let gas = b.gas_paid(&p).await;
    assert_eq!(balance(b, alice, &b.eth()).await + gas - before, U256::from(half));
}

pub(crate) async fn full_withdrawal_then_freeze_after_the_grace_period_then_escape(
    b: &dyn Backend,
) {
    let (alice, alice_key) = b.alice();
    let amount = 40_000_000u128;
    b.censor_full_withdrawals().await;
    let dep = leg(
        LegKind::L1DepositToStarkEx,
        b.usdc(),
        amount,
        Account::L1(alice),
        Account::StarkEx(alice_key),
    );
    run(b, &dep, 60, 8 * 3600).await;
    // Let the deposit reach the vault tree on L1.
    b.advance(7 * 3600).await;

    let me = Account::StarkEx(alice_key);
    let esc = leg(LegKind::Escape, b.usdc(), amount, me, me);
    let e = b.layer().prepare(&esc).await.unwrap_err();
    assert!(e.retryable && e.message.contains("not frozen"), "{e:?}");

    run(b, &leg(LegKind::FullWithdrawalRequest, b.usdc(), amount, me, me), 12, 600).await;
    let freeze = leg(LegKind::FreezeRequest, b.usdc(), amount, me, me);
    let e = b.layer().prepare(&freeze).await.unwrap_err();
    assert!(
        e.retryable && e.not_before.is_some() && e.message.contains("FORCED_ACTION_PENDING"),
        "{e:?}"
    );

    b.advance(7 * 86_400).await;
    run(b, &freeze, 12, 600).await;
    let e = b.layer().prepare(&freeze).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("frozen already"), "{e:?}");

    run(b, &esc, 12, 600).await;
    let before = balance(b, alice, &b.usdc()).await;
    run(b, &leg(LegKind::L1ClaimFromStarkEx, b.usdc(), amount, me, Account::L1(alice)), 12, 600)
        .await;
    assert_eq!(balance(b, alice, &b.usdc()).await - before, U256::from(amount));

    // A frozen exchange takes no deposits.
    let deposit_frozen = leg(LegKind::L1DepositToStarkEx, b.usdc(), 1, Account::L1(alice), me);
    refused_with(b, &deposit_frozen, "STATE_IS_FROZEN").await;
}

pub(crate) async fn a_token_minted_on_starkex_is_claimed_with_withdraw_and_mint(b: &dyn Backend) {
    let (alice, alice_key) = b.alice();
    let art = b.imx_art(42);
    let claim =
        leg(LegKind::L1ClaimFromStarkEx, art.clone(), 1, Account::L1(alice), Account::L1(alice));
    let e = b.layer().prepare(&claim).await.unwrap_err();
    assert!(e.retryable, "nothing to claim before the batch: {e:?}");
    assert_eq!(balance(b, alice, &art).await, U256::ZERO, "not on L1 before withdrawAndMint");
    b.mint_and_credit_withdrawal(alice_key, alice, &art).await;
    let p = run(b, &claim, 12, 600).await;
    assert_eq!(p.payload["txs"].as_array().unwrap().len(), 1);
    assert_eq!(balance(b, alice, &art).await, U256::from(1u64), "minted to Alice on L1");
    // Claimed once: nothing is pending any more.
    let e = b.layer().prepare(&claim).await.unwrap_err();
    assert!(e.retryable && e.message.contains("nothing to claim"), "{e:?}");
}
