//! The executor's settings and its retry schedule.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Exponential backoff, capped, with deterministic jitter.
///
/// The delay before retry `attempt` (1 for the first retry) is `initial · multiplier^(attempt-1)`,
/// capped at `max`, minus a jitter of up to `jitter_percent`% of it. The jitter is drawn from a
/// hash of `seed`, the route, the leg and the attempt, not from a random source: the same run
/// gives the same schedule (tests are reproducible), while different routes spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The cap.
    pub max: Duration,
    /// The growth factor per attempt (at least 1).
    pub multiplier: u32,
    /// Up to this share of the delay (0 to 100) is taken off at random.
    pub jitter_percent: u8,
    /// The jitter's seed.
    pub seed: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            multiplier: 2,
            jitter_percent: 20,
            seed: 0x5eed,
        }
    }
}

impl Backoff {
    /// The delay before retry `attempt` (from 1) of a leg; `salt` names the route and leg.
    pub fn delay(&self, attempt: u32, salt: u64) -> Duration {
        let max = self.max.as_millis().min(u128::from(u64::MAX)) as u64;
        let mut ms = self.initial.as_millis().min(u128::from(u64::MAX)) as u64;
        for _ in 1..attempt {
            ms = ms.saturating_mul(u64::from(self.multiplier.max(1)));
            if ms >= max {
                break;
            }
        }
        let ms = ms.min(max);
        let spread = ms / 100 * u64::from(self.jitter_percent.min(100))
            + ms % 100 * u64::from(self.jitter_percent.min(100)) / 100;
        let draw = mix(self.seed ^ mix(salt) ^ u64::from(attempt).rotate_left(32));
        Duration::from_millis(ms - draw % (spread + 1))
    }
}

/// splitmix64's finaliser: a well-spread 64-bit hash of a 64-bit value.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of bytes (FNV-1a, then mixed).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    mix(h)
}

/// How the executor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorConfig {
    /// How long a lease on a route lasts; renewed while the route is being driven. Another
    /// instance takes the route over once it lapses (this instance died).
    pub lease_duration: Duration,
    /// How often a submitted leg's status is asked for, and how long the run loop waits when no
    /// route is due.
    pub poll_interval: Duration,
    /// The retry schedule of retryable errors.
    pub backoff: Backoff,
    /// Retryable failures to *prepare* a leg before the route fails. Legs whose payload may be on
    /// its layer are never given up on this way: they are reconciled until the layer answers.
    pub max_prepare_attempts: u32,
    /// Steps taken on one route per lease before it is released for others (a guard, not a
    /// schedule: a route normally stops at the first thing it must wait for).
    pub max_steps_per_lease: u32,
    /// The keeper's escape hatch: a StarkEx withdrawal request the operator has still not
    /// accepted this long after it was submitted ends its route `failed` (the asset is still in
    /// its vault) and starts an escape route for the vault — `fullWithdrawalRequest`, then
    /// `freezeRequest` once the 7-day grace period has passed, `escape` with the availability
    /// proof, and the L1 claim. Freezing stops the exchange for everyone, so this is off
    /// (`None`) unless configured.
    #[serde(default)]
    pub escape_after: Option<Duration>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            backoff: Backoff::default(),
            max_prepare_attempts: 10,
            max_steps_per_lease: 64,
            escape_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_reproducibly() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            multiplier: 2,
            jitter_percent: 0,
            seed: 1,
        };
        let d: Vec<u128> = (1..=6).map(|a| b.delay(a, 7).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 800, 1000, 1000]);
        let j = Backoff { jitter_percent: 50, ..b };
        for a in 1..=6 {
            let x = j.delay(a, 7);
            assert_eq!(x, j.delay(a, 7), "same seed, same delay");
            assert!(x <= b.delay(a, 7) && x * 2 >= b.delay(a, 7));
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|s| j.delay(3, s)).collect();
        assert!(spread.len() > 1, "different routes spread out");
        assert_eq!(b.delay(u32::MAX, 0), Duration::from_millis(1000));
    }
}
