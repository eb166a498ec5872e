//! The StarkEx engine (the off-chain operator) and its ImmutableX-style REST API.
