//! Shared fixture for the L1 and Starknet tests: a chain with ETH, USDC, an L1-native ERC-721,
//! a StarkEx-mintable ERC-721 and an L2-native ERC-721, all registered where they belong, plus
//! a conservation tally.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use starkroute_crypto::{asset_info, asset_type, StarkPrivateKey};
use starkroute_sandbox::interface::AssetKey;
use starkroute_sandbox::l1::{addr, starkgate_eth_token, CollectionPair, L1Call, L1Config, L1};
use starkroute_sandbox::starknet::{Starknet, StarknetChainConfig};
use starkroute_types::{AssetClass, EthAddress, Felt, Layer, Quantum};

pub(crate) const GENESIS: u64 = 1_767_225_600;
pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;
pub(crate) const ETH_QUANTUM: u128 = 100_000_000;

pub(crate) fn wei(n: u128) -> U256 {
    U256::from(n)
}

pub(crate) struct Env {
    pub(crate) l1: L1,
    pub(crate) sn: Starknet,
    pub(crate) now: u64,
    pub(crate) alice: EthAddress,
    pub(crate) bob: EthAddress,
    pub(crate) usdc: EthAddress,
    pub(crate) art: EthAddress,
    pub(crate) imxart: EthAddress,
    /// L1 mirror of the L2-native collection.
    pub(crate) l2art_l1: EthAddress,
    pub(crate) l2art: Felt,
    pub(crate) l2_eth: Felt,
    pub(crate) l2_usdc: Felt,
    pub(crate) l2_art: Felt,
    pub(crate) eth_type: Felt,
    pub(crate) usdc_type: Felt,
    pub(crate) art_type: Felt,
    pub(crate) imxart_type: Felt,
    /// What the (simulated) StarkEx engine's vaults hold, as of the last state update.
    pub(crate) vaults: BTreeMap<AssetKey, U256>,
    /// Assets minted off L1 by the rules (StarkEx mints), added to the baseline.
    pub(crate) minted: BTreeMap<AssetKey, U256>,
    baseline: BTreeMap<AssetKey, U256>,
}

pub(crate) fn stark_key(n: u64) -> StarkPrivateKey {
    StarkPrivateKey::from_felt(Felt::from(0x1234_5678_9abc_u64 + n)).unwrap()
}

pub(crate) fn ty(class: AssetClass, token: Option<&EthAddress>, q: u128) -> (Felt, Vec<u8>) {
    let info = asset_info(class, token).unwrap();
    (asset_type(&info, Quantum::new(q).unwrap()).0, info)
}

impl Env {
    pub(crate) fn new() -> Self {
        Self::with(
            L1Config::default(),
            StarknetChainConfig { state_update_interval: 600, ..Default::default() },
        )
    }

    pub(crate) fn with(l1c: L1Config, snc: StarknetChainConfig) -> Self {
        let mut l1 = L1::new(l1c, GENESIS);
        let alice = addr(0xa11ce);
        let bob = addr(0xb0b);
        let usdc = addr(0x5dc);
        let art = addr(0xa47);
        let imxart = addr(0x1a47);
        let l2art_l1 = addr(0x2a47);
        let core = l1.addresses().starkex_core;
        {
            let led = l1.ledger_mut();
            led.genesis_eth(alice, wei(100 * ETHER));
            led.genesis_eth(bob, wei(100 * ETHER));
            led.deploy_erc20(usdc, "USDC", 6, None);
            led.erc20_mint(&usdc, None, alice, wei(1_000_000_000)).unwrap();
            led.deploy_erc721(art, "ART", None);
            for id in 1..=3u64 {
                led.erc721_mint(&art, None, alice, U256::from(id)).unwrap();
            }
            led.deploy_erc721(imxart, "IMXART", Some(core));
        }
        let (eth_type, eth_info) = ty(AssetClass::Eth, None, ETH_QUANTUM);
        let (usdc_type, usdc_info) = ty(AssetClass::Erc20, Some(&usdc), 1);
        let (art_type, art_info) = ty(AssetClass::Erc721, Some(&art), 1);
        let (imxart_type, imxart_info) = ty(AssetClass::MintableErc721, Some(&imxart), 1);
        let admin = l1.addresses().starkex_token_admin;
        for (t, info, q) in [
            (eth_type, eth_info, ETH_QUANTUM),
            (usdc_type, usdc_info, 1),
            (art_type, art_info, 1),
            (imxart_type, imxart_info, 1),
        ] {
            l1.send_and_check(
                admin,
                U256::ZERO,
                L1Call::RegisterToken { asset_type: t, asset_info: info, quantum: U256::from(q) },
            )
            .unwrap();
        }
        let mut sn = Starknet::new(snc, &l1, GENESIS);
        let l2_eth =
            Felt::from_hex("0x049d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7")
                .unwrap();
        let l2_usdc = Felt::from(0x05dc_u64);
        let l2_art = Felt::from(0x0a47_u64);
        let l2art = Felt::from(0x2a47_u64);
        sn.enroll_starkgate_token(&mut l1, starkgate_eth_token(), l2_eth, "ETH");
        sn.enroll_starkgate_token(&mut l1, usdc, l2_usdc, "USDC");
        sn.register_nft_pair(
            &mut l1,
            CollectionPair { l1: art, l2: l2_art, native: Layer::L1 },
            "ART",
        );
        sn.register_nft_pair(
            &mut l1,
            CollectionPair { l1: l2art_l1, l2: l2art, native: Layer::Starknet },
            "L2ART",
        );
        let mut env = Self {
            l1,
            sn,
            now: GENESIS,
            alice,
            bob,
            usdc,
            art,
            imxart,
            l2art_l1,
            l2art,
            l2_eth,
            l2_usdc,
            l2_art,
            eth_type,
            usdc_type,
            art_type,
            imxart_type,
            vaults: BTreeMap::new(),
            minted: BTreeMap::new(),
            baseline: BTreeMap::new(),
        };
        env.baseline = env.totals();
        env
    }

    /// Advances the clock by `secs` and drives L1 then Starknet.
    pub(crate) fn advance(&mut self, secs: u64) {
        self.now += secs;
        self.l1.advance_to(self.now);
        self.sn.advance_to(self.now, &mut self.l1);
    }

    pub(crate) fn send(
        &mut self,
        from: EthAddress,
        value: U256,
        call: L1Call,
    ) -> Result<(), String> {
        self.l1.send_and_check(from, value, call).map(|_| ()).map_err(|r| r.reason)
    }

    pub(crate) fn totals(&self) -> BTreeMap<AssetKey, U256> {
        let mut t = self.l1.holdings();
        for (k, v) in self.sn.holdings(&self.l1).into_iter().chain(self.vaults.clone()) {
            *t.entry(k).or_default() += v;
        }
        t.retain(|_, v| !v.is_zero());
        t
    }

    /// Conservation across L1, StarkEx (simulated vaults) and Starknet, and each bridge's
    /// invariant.
    pub(crate) fn assert_conserved(&self) {
        let mut expected = self.baseline.clone();
        for (k, v) in &self.minted {
            *expected.entry(*k).or_default() += *v;
        }
        assert_eq!(self.totals(), expected, "conservation");
        self.sn.check_bridges(&self.l1).unwrap();
    }

    pub(crate) fn vault_add(&mut self, k: AssetKey, v: U256) {
        *self.vaults.entry(k).or_default() += v;
    }

    pub(crate) fn vault_sub(&mut self, k: AssetKey, v: U256) {
        let e = self.vaults.entry(k).or_default();
        *e -= v;
    }
}

/// Every test on this fixture ends with the conservation check (unless it already failed), so a
/// test cannot forget it, refusal tests included.
impl Drop for Env {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_conserved();
        }
    }
}

pub(crate) fn eth_key() -> AssetKey {
    AssetKey { token: None, token_id: None }
}
