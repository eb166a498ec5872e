//! The adapter tests' set-up, from the shared fixtures: the demo world behind a `SharedWorld`,
//! the adapters with the demo parties' keys, the demo's assets, leg intents, and a driver that
//! advances the clock until a leg reaches a state.

pub(crate) use starkroute_testkit::demo::{
    drive, l1_account as l1, leg_intent as leg, run, sn, starkex_account as starkex,
    starknet_account as starknet, DemoEnv as Env, ETHER,
};
