//! The virtual clock: one source of time for blocks, batches, state updates, the freeze grace
//! period and the deposit-cancel delay.
//!
//! Time is whole seconds since the Unix epoch. Tests advance it explicitly
//! (`World::advance`); a demo advances it at a chosen speed.

use serde::{Deserialize, Serialize};

/// 2026-01-01T00:00:00Z, the sandbox's default genesis time.
pub const DEFAULT_GENESIS: u64 = 1_767_225_600;

/// A virtual clock in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    now: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self { now: DEFAULT_GENESIS }
    }
}

impl Clock {
    /// A clock starting at `now` (seconds since the epoch).
    pub const fn starting_at(now: u64) -> Self {
        Self { now }
    }

    /// The current time in seconds since the epoch.
    pub const fn now(&self) -> u64 {
        self.now
    }

    /// The current time in whole hours since the epoch (StarkEx expiration timestamps).
    pub const fn now_hours(&self) -> u64 {
        self.now / 3600
    }

    /// Moves time forward (never backward).
    pub fn set(&mut self, t: u64) {
        self.now = self.now.max(t);
    }
}
