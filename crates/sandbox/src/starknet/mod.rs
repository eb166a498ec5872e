//! StarkNet: accounts, tokens, the L2 bridges, transaction statuses and state updates to L1.
