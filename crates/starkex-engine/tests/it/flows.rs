//! StarkEx engine flows end to end against a contract-like port: deposits picked up, transfers,
//! withdrawals credited by posted batches, mints, full withdrawals, fault switches, refusals,
//! independent roots, availability proofs against every posted root, and conservation.

// The helpers below are test code too, outside `#[test]` functions.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::U256;
use starkroute_crypto::{
    asset_info, asset_type, mintable_asset_id, nft_asset_id, StarkPrivateKey, VaultTree,
};
use starkroute_starkex_engine::engine::{DEFAULT_BATCH_INTERVAL_SECS, MAX_EXPIRATION_HOURS};
use starkroute_starkex_engine::port::{
    AssetKey, DepositEvent, FullWithdrawalRequest, Revert, StarkExContractPort, StateUpdate,
};
use starkroute_starkex_engine::{
    FaultSwitches, MintRequest, StarkExEngine, TransferOrder, TransferRequest, WithdrawalOrder,
    WithdrawalReceiver,
};
use starkroute_types::{
    AssetClass, EthAddress, Felt, Quantum, StarkExAssetType, StarkKey, TokenId, VaultId,
};

const T0: u64 = 1_767_225_600;

/// The StarkEx core contract as the engine sees it: deposit log, pending deposits, withdrawal
/// balances, registrations, assets, full-withdrawal requests, freeze flag.
#[derive(Default)]
struct Contract {
    log: Vec<DepositEvent>,
    pending: HashMap<(StarkKey, Felt, VaultId), u64>,
    withdrawable: HashMap<(U256, Felt), u64>,
    eth: HashMap<StarkKey, EthAddress>,
    assets: HashMap<Felt, (Vec<u8>, u128)>,
    full: Vec<FullWithdrawalRequest>,
    roots: Vec<Felt>,
    frozen: bool,
    /// asset id → (conservation key, quantum), for counting the contract's side.
    keys: HashMap<Felt, (AssetKey, u128)>,
    /// Everything ever deposited, in base units.
    deposited: BTreeMap<AssetKey, U256>,
}

impl StarkExContractPort for Contract {
    fn deposits_since(&self, cursor: u64, _: u64) -> Vec<DepositEvent> {
        self.log.iter().filter(|d| d.index >= cursor).cloned().collect()
    }
    fn full_withdrawal_requests(&self) -> Vec<FullWithdrawalRequest> {
        self.full.clone()
    }
    fn eth_key_of(&self, k: &StarkKey) -> Option<EthAddress> {
        self.eth.get(k).copied()
    }
    fn stark_keys_of(&self, eth: &EthAddress) -> Vec<StarkKey> {
        self.eth.iter().filter(|(_, a)| *a == eth).map(|(k, _)| *k).collect()
    }
    fn is_frozen(&self) -> bool {
        self.frozen
    }
    fn registered_asset(&self, t: &Felt) -> Option<(Vec<u8>, u128)> {
        self.assets.get(t).cloned()
    }
    fn apply_state_update(&mut self, u: &StateUpdate) -> Result<(), Revert> {
        if self.frozen {
            return Err(Revert::new("STATE_IS_FROZEN"));
        }
        if u.sequence_number != self.roots.len() as u64 + 1 {
            return Err(Revert::new("INVALID_SEQUENCE_NUMBER"));
        }
        for (k, a, v, q) in &u.deposits {
            let p = self.pending.get_mut(&(*k, *a, *v)).ok_or_else(|| Revert::new("NO_DEPOSIT"))?;
            *p = p.checked_sub(*q).ok_or_else(|| Revert::new("DEPOSIT_INSUFFICIENT"))?;
        }
        for w in &u.withdrawals {
            *self.withdrawable.entry((w.owner_key, w.asset_id)).or_default() += w.quantized_amount;
        }
        self.full.retain(|r| !u.full_withdrawals_served.contains(&(r.stark_key, r.vault_id)));
        self.roots.push(u.vault_root);
        Ok(())
    }
}

impl Contract {
    fn register(&mut self, class: AssetClass, token: Option<&EthAddress>, q: u128) -> Felt {
        let info = asset_info(class, token).unwrap();
        let t = asset_type(&info, Quantum::new(q).unwrap()).0;
        self.assets.insert(t, (info, q));
        t
    }

    fn deposit(
        &mut self,
        key: StarkKey,
        t: Felt,
        vault: VaultId,
        q: u64,
        token_id: Option<u64>,
    ) -> Felt {
        let (info, quantum) = self.assets[&t].clone();
        let token = (info.len() == 36)
            .then(|| EthAddress::new(alloy_primitives::Address::from_slice(&info[16..])).unwrap());
        let (id, tid) = match token_id {
            Some(n) => {
                (nft_asset_id(&StarkExAssetType(t), &TokenId(U256::from(n))).0, Some(U256::from(n)))
            }
            None => (t, None),
        };
        let key_c = AssetKey { token, token_id: tid };
        self.keys.insert(id, (key_c, quantum));
        *self.deposited.entry(key_c).or_default() += U256::from(q) * U256::from(quantum);
        *self.pending.entry((key, id, vault)).or_default() += q;
        self.log.push(DepositEvent {
            index: self.log.len() as u64,
            block: 1,
            depositor: "0x00000000000000000000000000000000000000d0".parse().unwrap(),
            stark_key: key,
            vault_id: vault,
            asset_type: t,
            asset_id: id,
            quantized_amount: q,
            token_id: tid,
        });
        id
    }

    /// What the contract holds: pending deposits and withdrawal balances, in base units.
    fn holdings(&self) -> BTreeMap<AssetKey, U256> {
        let mut out: BTreeMap<AssetKey, U256> = BTreeMap::new();
        let items = self.pending.iter().map(|((_, a, _), q)| (a, q));
        for (a, q) in items.chain(self.withdrawable.iter().map(|((_, a), q)| (a, q))) {
            let (k, quantum) = self.keys[a];
            *out.entry(k).or_default() += U256::from(*q) * U256::from(quantum);
        }
        out.retain(|_, v| !v.is_zero());
        out
    }
}

/// Total across the contract and the engine == deposited + minted, per asset.
fn assert_conserved(e: &StarkExEngine, c: &Contract) {
    let mut total = c.holdings();
    for (k, v) in e.holdings() {
        *total.entry(k).or_default() += v;
    }
    let mut expected = c.deposited.clone();
    for (k, v) in e.minted() {
        *expected.entry(k).or_default() += v;
    }
    expected.retain(|_, v| !v.is_zero());
    total.retain(|_, v| !v.is_zero());
    assert_eq!(total, expected, "conservation");
}

fn assert_root_is_independent(e: &StarkExEngine) {
    let independent = VaultTree::from_vaults(e.vaults().iter().map(|(id, v)| (*id, v.leaf())));
    assert_eq!(e.vault_root(), independent.root());
}

fn vid(i: u64) -> VaultId {
    VaultId::new(i).unwrap()
}

struct User {
    key: StarkPrivateKey,
    eth: EthAddress,
}

impl User {
    fn pk(&self) -> StarkKey {
        self.key.public_key()
    }
}

fn user(c: &mut Contract, secret: u64, eth: &str) -> User {
    let key = StarkPrivateKey::from_felt(Felt::from(secret)).unwrap();
    let eth: EthAddress = eth.parse().unwrap();
    c.eth.insert(key.public_key(), eth);
    User { key, eth }
}

fn transfer(
    from: &User,
    fv: u64,
    to: &User,
    tv: u64,
    asset: Felt,
    amount: u64,
    nonce: u64,
) -> TransferOrder {
    TransferOrder {
        sender: from.pk(),
        sender_vault: vid(fv),
        receiver: to.pk(),
        receiver_vault: vid(tv),
        asset_id: asset,
        amount,
        nonce,
        expiration_hours: T0 / 3600 + 24 * 365,
    }
}

fn withdrawal(
    u: &User,
    vault: u64,
    asset: Felt,
    amount: u64,
    nonce: u64,
    v2: bool,
) -> WithdrawalOrder {
    WithdrawalOrder {
        sender: u.pk(),
        vault: vid(vault),
        asset_id: asset,
        amount,
        nonce,
        expiration_hours: if v2 { T0 / 3600 + 24 * 365 } else { MAX_EXPIRATION_HOURS },
        receiver: if v2 {
            WithdrawalReceiver::EthAddress(u.eth)
        } else {
            WithdrawalReceiver::StarkKey
        },
    }
}

struct World {
    e: StarkExEngine,
    c: Contract,
    now: u64,
    alice: User,
    bob: User,
}

fn world() -> World {
    let mut c = Contract::default();
    let alice = user(&mut c, 0xa11ce, "0x00000000000000000000000000000000000000a1");
    let bob = user(&mut c, 0xb0b, "0x00000000000000000000000000000000000000b2");
    World { e: StarkExEngine::default(), c, now: T0, alice, bob }
}

impl World {
    /// Advances the clock by one batch interval and ticks; returns the batch posted.
    fn next_batch(&mut self) -> Option<u64> {
        self.now += DEFAULT_BATCH_INTERVAL_SECS;
        let r = self.e.tick(self.now, &mut self.c);
        assert_eq!(r.post_error, None);
        assert_conserved(&self.e, &self.c);
        r.batch_posted
    }
}

/// One fungible or NFT asset through every step; `amount` quantized.
fn walk(w: &mut World, asset_type: Felt, token_id: Option<u64>, amount: u64) {
    let (a, b) = (&w.alice, &w.bob);
    w.e.tick(w.now, &mut w.c);
    let asset = w.c.deposit(a.pk(), asset_type, vid(10), amount, token_id);
    assert_conserved(&w.e, &w.c);
    // Picked up: in the vault, still pending on L1 until the batch.
    let r = w.e.tick(w.now + 60, &mut w.c);
    assert_eq!(r.deposits_credited, 1);
    assert_eq!(w.e.vault(vid(10)).unwrap().balance, amount);
    assert_conserved(&w.e, &w.c);
    assert_root_is_independent(&w.e);

    // Transfer everything (or half) to Bob.
    let sent = if token_id.is_some() { 1 } else { amount / 2 };
    let t = transfer(a, 10, b, 20, asset, sent, 1).sign(&a.key).unwrap();
    w.e.transfer(&w.c, w.now, &t).unwrap();
    assert_root_is_independent(&w.e);
    assert_conserved(&w.e, &w.c);

    // Bob withdraws (v2: to his ETH address); Alice withdraws the rest (v1: to her Stark key).
    let wb = withdrawal(b, 20, asset, sent, 1, true).sign(&b.key).unwrap();
    w.e.withdraw(&w.c, w.now, &wb).unwrap();
    if amount > sent {
        let wa = withdrawal(a, 10, asset, amount - sent, 2, false).sign(&a.key).unwrap();
        w.e.withdraw(&w.c, w.now, &wa).unwrap();
    }
    assert!(w.c.withdrawable.is_empty(), "nothing credited before the batch");
    assert_conserved(&w.e, &w.c);

    let seq = w.next_batch().expect("a batch is posted");
    assert_eq!(*w.c.roots.last().unwrap(), w.e.vault_root());
    assert_root_is_independent(&w.e);
    assert_eq!(w.c.withdrawable[&(w.bob.eth.to_u256(), asset)], sent);
    if amount > sent {
        assert_eq!(w.c.withdrawable[&(w.alice.pk().to_u256(), asset)], amount - sent);
    }
    assert!(w.c.pending.values().all(|q| *q == 0), "deposits consumed");
    assert!(w.e.vaults().is_empty());
    assert_eq!(w.e.batch_of(w.e.withdrawals().last().unwrap().transaction_id), Some(seq));
}

#[test]
fn eth_deposit_transfer_withdraw_batch() {
    let mut w = world();
    let eth = w.c.register(AssetClass::Eth, None, 100_000_000);
    walk(&mut w, eth, None, 1_000);
}

#[test]
fn erc20_deposit_transfer_withdraw_batch() {
    let mut w = world();
    let usdc: EthAddress = "0x00000000000000000000000000000000000000c2".parse().unwrap();
    let t = w.c.register(AssetClass::Erc20, Some(&usdc), 10_000);
    walk(&mut w, t, None, 5_000);
}

#[test]
fn erc721_deposit_transfer_withdraw_batch() {
    let mut w = world();
    let coll: EthAddress = "0x00000000000000000000000000000000000000c3".parse().unwrap();
    let t = w.c.register(AssetClass::Erc721, Some(&coll), 1);
    walk(&mut w, t, Some(4100), 1);
    // The withdrawal balance is under the NFT asset id, as `withdrawNft` recomputes it.
    let id = nft_asset_id(&StarkExAssetType(t), &TokenId(U256::from(4100u64))).0;
    assert_eq!(w.c.withdrawable[&(w.bob.eth.to_u256(), id)], 1);
}

#[test]
fn mint_then_withdraw_for_withdraw_and_mint() {
    let mut w = world();
    let coll: EthAddress = "0x00000000000000000000000000000000000000c4".parse().unwrap();
    let t = w.c.register(AssetClass::MintableErc721, Some(&coll), 1);
    let req = MintRequest {
        receiver: w.alice.pk(),
        asset_type: t,
        token_id: U256::from(1u64),
        blueprint: String::new(),
        amount: 1,
    };
    assert_eq!(req.blob(), "{1}:{}");
    let (_, asset, vault) = w.e.mint(&w.c, w.now, &req).unwrap();
    assert_eq!(asset, mintable_asset_id(&StarkExAssetType(t), b"{1}:{}").0);
    let key = AssetKey { token: Some(coll), token_id: Some(U256::from(1u64)) };
    assert_eq!(w.e.minted()[&key], U256::from(1u64));
    assert_conserved(&w.e, &w.c);
    w.c.keys.insert(asset, (key, 1));
    let wd =
        withdrawal(&w.alice, u64::from(vault.get()), asset, 1, 1, true).sign(&w.alice.key).unwrap();
    w.e.withdraw(&w.c, w.now, &wd).unwrap();
    w.next_batch().unwrap();
    // On L1: withdrawAndMint(ownerKey = alice's address, assetType, "{1}:{}") finds this balance.
    assert_eq!(w.c.withdrawable[&(w.alice.eth.to_u256(), asset)], 1);
    assert_root_is_independent(&w.e);
}

#[test]
fn full_withdrawal_served_by_the_operator() {
    let mut w = world();
    let eth = w.c.register(AssetClass::Eth, None, 100_000_000);
    w.c.deposit(w.alice.pk(), eth, vid(7), 300, None);
    w.next_batch();
    w.next_batch();
    w.c.full.push(FullWithdrawalRequest {
        stark_key: w.alice.pk(),
        vault_id: vid(7),
        requested_at: w.now,
    });
    // Someone else's vault: served with nothing.
    w.c.full.push(FullWithdrawalRequest {
        stark_key: w.bob.pk(),
        vault_id: vid(7),
        requested_at: w.now,
    });
    let seq = w.next_batch().unwrap();
    assert!(w.c.full.is_empty());
    assert_eq!(w.c.withdrawable[&(w.alice.pk().to_u256(), eth)], 300);
    assert!(w.e.vault(vid(7)).is_none());
    assert_eq!(w.e.posted_batches()[seq as usize - 1].update.full_withdrawals_served.len(), 2);
}

#[test]
fn fault_switches_leave_full_withdrawals_unanswered_and_stop_batches() {
    let mut w = world();
    let eth = w.c.register(AssetClass::Eth, None, 100_000_000);
    w.c.deposit(w.alice.pk(), eth, vid(7), 300, None);
    w.next_batch().unwrap();
    w.e.set_faults(FaultSwitches {
        ignore_full_withdrawals: true,
        refuse_withdrawals: true,
        ..Default::default()
    });
    let wd = withdrawal(&w.alice, 7, eth, 1, 1, false).sign(&w.alice.key).unwrap();
    assert_eq!(w.e.withdraw(&w.c, w.now, &wd).unwrap_err().code(), "withdrawals_unavailable");
    w.c.full.push(FullWithdrawalRequest {
        stark_key: w.alice.pk(),
        vault_id: vid(7),
        requested_at: w.now,
    });
    for _ in 0..28 {
        w.next_batch(); // seven days of batches
    }
    assert_eq!(w.c.full.len(), 1, "unanswered for 7 days: freeze and escape are open");
    assert_eq!(w.e.vault(vid(7)).unwrap().balance, 300);
    // Escape needs the vault's path against the root on L1: the availability service has it.
    let p = w.e.availability(vid(7), Some(w.c.roots.last().unwrap())).unwrap();
    assert!(p.verify());
    assert_eq!((p.stark_key, p.quantized_balance), (w.alice.pk().felt(), 300));

    // Halted batches: transfers still change the vaults, nothing reaches L1.
    w.e.set_faults(FaultSwitches { halt_batches: true, ..Default::default() });
    let t = transfer(&w.alice, 7, &w.bob, 8, eth, 5, 2).sign(&w.alice.key).unwrap();
    w.e.transfer(&w.c, w.now, &t).unwrap();
    let posted = w.c.roots.len();
    assert_eq!(w.next_batch(), None);
    assert_eq!(w.c.roots.len(), posted);
    // Reject everything.
    w.e.set_faults(FaultSwitches { reject_all: true, ..Default::default() });
    let t = transfer(&w.alice, 7, &w.bob, 8, eth, 5, 3).sign(&w.alice.key).unwrap();
    assert_eq!(w.e.transfer(&w.c, w.now, &t).unwrap_err().code(), "service_unavailable");
    // A frozen contract stops the operator.
    w.e.set_faults(FaultSwitches::default());
    w.c.frozen = true;
    assert_eq!(w.e.transfer(&w.c, w.now, &t).unwrap_err().code(), "exchange_frozen");
    assert_eq!(w.next_batch(), None);
}

#[test]
fn every_refusal_leaves_the_root_unchanged() {
    let mut w = world();
    let eth = w.c.register(AssetClass::Eth, None, 100_000_000);
    let usdc: EthAddress = "0x00000000000000000000000000000000000000c2".parse().unwrap();
    let erc20 = w.c.register(AssetClass::Erc20, Some(&usdc), 10_000);
    w.c.deposit(w.alice.pk(), eth, vid(1), 100, None);
    w.c.deposit(w.bob.pk(), erc20, vid(2), 100, None);
    w.e.tick(w.now, &mut w.c);
    let (a, b) = (&w.alice, &w.bob);
    let ok = transfer(a, 1, b, 3, eth, 10, 1).sign(&a.key).unwrap();
    w.e.transfer(&w.c, w.now, &ok).unwrap();
    let root = w.e.vault_root();
    let mallory = StarkPrivateKey::from_felt(Felt::from(0x3a11_u64)).unwrap();
    let mut forged = transfer(a, 1, b, 3, eth, 10, 2).sign(&a.key).unwrap();
    forged.order.receiver = mallory.public_key();
    let mut expired = transfer(a, 1, b, 3, eth, 10, 3);
    expired.expiration_hours = w.now / 3600;
    let unregistered =
        TransferOrder { sender: mallory.public_key(), ..transfer(a, 1, b, 3, eth, 1, 4) };
    // 5³ + 5 + β is not a square: no curve point has x = 5 (and nobody registered it).
    let off_curve = StarkKey::new(Felt::from(5u8)).unwrap();
    let to_off_curve = TransferOrder { receiver: off_curve, ..transfer(a, 1, b, 4, eth, 1, 9) };
    let cases = [
        (forged, "invalid_signature"),
        (ok, "nonce_already_used"),
        (expired.sign(&a.key).unwrap(), "order_expired"),
        (transfer(a, 1, b, 3, eth, 91, 5).sign(&a.key).unwrap(), "insufficient_balance"),
        (transfer(a, 2, b, 3, erc20, 1, 6).sign(&a.key).unwrap(), "vault_not_owned"),
        (unregistered.sign(&mallory).unwrap(), "account_not_found"),
        (transfer(a, 1, b, 3, erc20, 1, 7).sign(&a.key).unwrap(), "asset_mismatch"),
        (transfer(a, 1, b, 2, eth, 1, 8).sign(&a.key).unwrap(), "invalid_receiver_vault"),
        (to_off_curve.sign(&a.key).unwrap(), "bad_request"),
    ];
    for (t, code) in cases {
        assert_eq!(w.e.transfer(&w.c, w.now, &t).unwrap_err().code(), code);
        assert_eq!(w.e.vault_root(), root, "{code}");
        // The same refusals inside a batch undo the batch's earlier transfers.
        let good = transfer(a, 1, b, 3, eth, 1, 100).sign(&a.key).unwrap();
        let (i, err) = w.e.transfer_batch(&w.c, w.now, &[good, t]).unwrap_err();
        assert_eq!((i, err.code()), (1, code));
        assert_eq!(w.e.vault_root(), root, "batch {code}");
        assert!(!w.e.nonce_used(&a.pk(), 100));
    }
    // Withdrawal refusals too.
    let bad = [
        (withdrawal(a, 1, eth, 91, 9, true).sign(&a.key).unwrap(), "insufficient_balance"),
        (withdrawal(a, 2, erc20, 1, 9, false).sign(&a.key).unwrap(), "vault_not_owned"),
        (withdrawal(a, 1, eth, 1, 1, false).sign(&a.key).unwrap(), "nonce_already_used"),
    ];
    for (wd, code) in bad {
        assert_eq!(w.e.withdraw(&w.c, w.now, &wd).unwrap_err().code(), code);
        assert_eq!(w.e.vault_root(), root, "{code}");
    }
    assert_conserved(&w.e, &w.c);
}

#[test]
fn availability_proofs_verify_against_every_posted_root() {
    let mut w = world();
    let eth = w.c.register(AssetClass::Eth, None, 100_000_000);
    // The first tick is a batch boundary with nothing to post.
    assert_eq!(w.e.tick(w.now, &mut w.c).batch_posted, None);
    let mut nonce = 0;
    for round in 0..4u64 {
        w.c.deposit(w.alice.pk(), eth, vid(1), 50, None);
        w.e.tick(w.now, &mut w.c);
        nonce += 1;
        let t = transfer(&w.alice, 1, &w.bob, 100 + round, eth, 10 + round, nonce)
            .sign(&w.alice.key)
            .unwrap();
        w.e.transfer(&w.c, w.now, &t).unwrap();
        w.next_batch().unwrap();
    }
    assert_eq!(w.c.roots.len(), 4);
    for (i, root) in w.c.roots.iter().enumerate() {
        for v in [1, 100, 101, 102, 103, 5_000_000] {
            let p = w.e.availability(vid(v), Some(root)).unwrap();
            assert!(p.verify(), "vault {v} at root {i}");
            assert_eq!(p.root, *root);
            assert_eq!(p.sequence_number, i as u64 + 1);
        }
        // Vault 103 gets its coins only in the last batch.
        let p = w.e.availability(vid(103), Some(root)).unwrap();
        assert_eq!(p.quantized_balance, if i == 3 { 13 } else { 0 });
    }
    // A proof against one root does not verify against another.
    let mut p = w.e.availability(vid(1), Some(&w.c.roots[0])).unwrap();
    p.root = w.c.roots[1];
    assert!(!p.verify());
    assert_eq!(
        w.e.availability(vid(1), Some(&Felt::from(7u64))).unwrap_err().code(),
        "resource_not_found"
    );
}

/// A busy batch: one sender vault used by most transfers, new receiver vaults spread over the
/// tree, a receiver vault credited twice, a self-transfer, and a vault drained to empty.
fn busy_batch(w: &World, eth: Felt) -> Vec<TransferRequest> {
    let (a, b) = (&w.alice, &w.bob);
    let mut orders: Vec<TransferOrder> =
        (0..24).map(|n| transfer(a, 1, b, spread(n), eth, 10 + n, n + 1)).collect();
    orders.push(transfer(a, 1, b, spread(0), eth, 5, 100)); // credited again
    orders.push(transfer(a, 1, a, 1, eth, 3, 101)); // to itself
    orders.push(transfer(b, 5, a, 1, eth, 200, 1)); // drains Bob's vault 5 ...
    orders.push(transfer(b, 5, b, 9, eth, 300, 2)); // ... to zero: its leaf is emptied
    orders
        .into_iter()
        .map(|o| {
            let key = if o.sender == a.pk() { &a.key } else { &b.key };
            o.sign(key).unwrap()
        })
        .collect()
}

/// Vault ids spread over the whole tree.
fn spread(n: u64) -> u64 {
    2_654_435_761 * (n + 1) % (1 << 31)
}

fn funded_world(threads: usize) -> (World, Felt) {
    let mut w = world();
    let eth = w.c.register(AssetClass::Eth, None, 100_000_000);
    w.c.deposit(w.alice.pk(), eth, vid(1), 10_000, None);
    w.c.deposit(w.bob.pk(), eth, vid(5), 500, None);
    w.e.tick(w.now, &mut w.c);
    w.e.set_verify_threads(threads);
    (w, eth)
}

#[test]
fn batched_transfers_equal_one_by_one_on_any_thread_count() {
    let (mut one_by_one, eth) = funded_world(1);
    let batch = busy_batch(&one_by_one, eth);
    for t in &batch {
        one_by_one.e.transfer(&one_by_one.c, one_by_one.now, t).unwrap();
    }
    assert!(one_by_one.e.vault(vid(5)).is_none(), "drained to empty");
    assert_root_is_independent(&one_by_one.e);
    for threads in [1, 2, 3] {
        let (mut w, _) = funded_world(threads);
        let ids = w.e.transfer_batch(&w.c, w.now, &batch).unwrap();
        assert_eq!(ids.len(), batch.len());
        assert_eq!(w.e.vault_root(), one_by_one.e.vault_root(), "{threads} threads");
        assert_eq!(w.e.vaults(), one_by_one.e.vaults(), "{threads} threads");
        assert_root_is_independent(&w.e);
        for id in [1, 5, spread(0)] {
            let p = w.e.tree().proof(vid(id));
            assert!(p.verify(&w.e.vault_root()), "vault {id}, {threads} threads");
        }
        assert_conserved(&w.e, &w.c);
        w.next_batch().expect("the batch's root is posted");
        assert_eq!(*w.c.roots.last().unwrap(), w.e.vault_root());
    }
}

#[test]
fn refused_batches_leave_vaults_and_tree_untouched_on_any_thread_count() {
    for threads in [1, 2, 3] {
        let (mut w, eth) = funded_world(threads);
        let root = w.e.vault_root();
        let vaults = w.e.vaults().clone();
        let batch = busy_batch(&w, eth);
        // Refused by the signature check (found by a verifier thread) …
        let mut forged = batch.clone();
        forged[19].order.amount += 1;
        // … and by a stateful rule after every signature verified (Bob's vault 5 is empty by
        // then).
        let mut overdrawn = batch.clone();
        overdrawn.push(transfer(&w.bob, 5, &w.alice, 1, eth, 1, 3).sign(&w.bob.key).unwrap());
        for (bad, at, code) in
            [(forged, 19, "invalid_signature"), (overdrawn, batch.len(), "insufficient_balance")]
        {
            let (i, err) = w.e.transfer_batch(&w.c, w.now, &bad).unwrap_err();
            assert_eq!((i, err.code()), (at, code), "{threads} threads");
            assert_eq!(w.e.vault_root(), root, "{code}, {threads} threads");
            assert_eq!(w.e.vaults(), &vaults, "{code}, {threads} threads");
            assert!(w.e.transfers().is_empty());
            assert!(!w.e.nonce_used(&w.alice.pk(), 1));
            assert_root_is_independent(&w.e);
        }
        // The same batch, untampered, still goes through.
        w.e.transfer_batch(&w.c, w.now, &batch).unwrap();
        assert_root_is_independent(&w.e);
    }
}
