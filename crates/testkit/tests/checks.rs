//! The fixtures' own guarantees: a world whose assets do not add up fails the test that used it.

#![allow(clippy::unwrap_used)]

use starkroute_testkit::demo::{CheckedDemo, DemoEnv};
use starkroute_types::U256;

/// ETH out of nothing after genesis: the drop check of `DemoEnv` catches it.
#[test]
#[should_panic(expected = "conservation broken at the end of the test")]
fn a_shared_world_that_created_ether_fails_when_dropped() {
    let env = DemoEnv::new();
    let bob = env.bob.l1();
    env.world.lock().l1.ledger_mut().genesis_eth(bob, U256::from(1u64));
}

#[test]
#[should_panic(expected = "conservation broken at the end of the test")]
fn an_owned_world_that_created_ether_fails_when_dropped() {
    let mut demo = CheckedDemo::new();
    let bob = demo.bob.l1();
    demo.world.l1.ledger_mut().genesis_eth(bob, U256::from(1u64));
}

#[test]
fn an_untouched_world_passes() {
    drop(DemoEnv::new());
    drop(CheckedDemo::new());
}
