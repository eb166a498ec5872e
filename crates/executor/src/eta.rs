//! Live ETAs: each leg's and route's expected completion, re-estimated from what the layers
//! actually took.
//!
//! The [`EtaEstimator`] keeps, per (leg kind, status), a rolling window of how long legs of that
//! kind stayed in that status before they moved on — `submitted` until accepted or final (an L1
//! block's confirmations, a StarkEx batch, Starknet's acceptance), `accepted_on_l2` until final
//! (Starknet's state update on L1, a StarkEx batch proven). It is kept in memory by the executor
//! that observed the transitions and seeded from the static model: a kind with no observation yet
//! is estimated from the plan's ETA range. A leg past its expected time is not reported as due
//! "now": its remaining time becomes what is left of its worst case, or half its expected time
//! when even that is past, so the ETA keeps moving out while the leg is late.
//!
//! The executor emits `eta_changed` (see [`EtaAnnouncer`]) when the route's expected completion
//! moves by more than [`CHANGE_PERCENT`]% of the remaining time *and* more than
//! [`CHANGE_MIN_SECS`], at most once per leg status change or per [`MIN_INTERVAL`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use starkroute_store_api::{LegRecord, RouteId, RouteRecord, Timestamp};
use starkroute_types::{EtaRange, Leg, LegKind, LegStatus, RouteStatus};

/// Observations kept per (kind, status).
pub const WINDOW: usize = 16;
/// A move of the expected completion smaller than this share of the remaining time is noise.
pub const CHANGE_PERCENT: u64 = 20;
/// A move smaller than this is noise, whatever the share.
pub const CHANGE_MIN_SECS: u64 = 30;
/// Without a leg status change, `eta_changed` is sent at most once per this (executor clock).
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// Where an estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EtaSource {
    /// The static latency model only (no leg of this kind observed yet).
    Model,
    /// Legs of this kind observed on their layer.
    Observed,
    /// The leg is final, failed or cancelled: nothing remains.
    Done,
}

/// A leg's or a route's expected completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eta {
    /// The expected completion (milliseconds since the Unix epoch, the executor's clock).
    pub expected_at: Timestamp,
    /// What remains from now: expected, best and worst case, in seconds.
    pub remaining_secs: u64,
    /// Best and worst case of what remains.
    pub remaining: EtaRange,
    /// Whether the estimate rests on observed legs.
    pub source: EtaSource,
}

/// A route's ETA and each of its legs'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEta {
    /// The route's completion; `None` when it failed or was cancelled.
    pub route: Option<Eta>,
    /// Each leg's completion (the same order as the route's legs); `None` for a failed or
    /// cancelled leg.
    pub legs: Vec<Option<Eta>>,
}

/// Seconds spent in one status, in a rolling window.
#[derive(Debug, Default, Clone)]
struct Window(VecDeque<u64>);

impl Window {
    fn push(&mut self, secs: u64) {
        if self.0.len() == WINDOW {
            self.0.pop_front();
        }
        self.0.push_back(secs);
    }

    /// (expected, best, worst).
    fn stats(&self) -> Option<(u64, u64, u64)> {
        let n = self.0.len() as u64;
        if n == 0 {
            return None;
        }
        let sum: u64 = self.0.iter().fold(0, |a, b| a.saturating_add(*b));
        let min = *self.0.iter().min()?;
        let max = *self.0.iter().max()?;
        Some((sum / n, min, max))
    }
}

#[derive(Debug, Default)]
struct Observed {
    dwell: HashMap<(LegKind, LegStatus), Window>,
    /// Kinds seen going through `accepted_on_l2` (Starknet legs, StarkEx ones on some operators).
    two_phase: HashSet<LegKind>,
}

/// The rolling estimator (see the module documentation). Cheap to share; one per executor.
#[derive(Debug, Default)]
pub struct EtaEstimator {
    observed: Mutex<Observed>,
}

/// (expected, best, worst) seconds.
type Est = (u64, u64, u64);

fn from_range(r: EtaRange) -> Est {
    (
        r.min_secs / 2 + r.max_secs / 2 + (r.min_secs % 2 + r.max_secs % 2) / 2,
        r.min_secs,
        r.max_secs,
    )
}

fn secs_between(from: Timestamp, to: Timestamp) -> u64 {
    u64::try_from(to.as_millis().saturating_sub(from.as_millis())).unwrap_or(0) / 1000
}

impl EtaEstimator {
    /// Records that a leg of `kind` left status `from` for `to` after `dwell`. Only time spent
    /// on a layer counts (`submitted`, `accepted_on_l2`); waiting for a signature does not.
    pub fn observe(&self, kind: LegKind, from: LegStatus, to: LegStatus, dwell: Duration) {
        if !matches!(from, LegStatus::Submitted | LegStatus::AcceptedOnL2) || from == to {
            return;
        }
        if !matches!(to, LegStatus::AcceptedOnL2 | LegStatus::FinalOnL1) {
            return;
        }
        let mut o = self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if to == LegStatus::AcceptedOnL2 {
            o.two_phase.insert(kind);
        }
        o.dwell.entry((kind, from)).or_default().push(dwell.as_secs());
    }

    /// What remains of a leg in `status`, `elapsed` seconds into that status, planned with the
    /// static range `model`.
    pub fn remaining(
        &self,
        kind: LegKind,
        model: EtaRange,
        status: LegStatus,
        elapsed: u64,
    ) -> Option<(Est, EtaSource)> {
        let o = self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let sub = o.dwell.get(&(kind, LegStatus::Submitted)).and_then(Window::stats);
        let acc = o.dwell.get(&(kind, LegStatus::AcceptedOnL2)).and_then(Window::stats);
        let two_phase = o.two_phase.contains(&kind) || acc.is_some();
        drop(o);
        let model = from_range(model);
        let (phases, source): (Vec<Est>, EtaSource) = match status {
            LegStatus::FinalOnL1 => return Some(((0, 0, 0), EtaSource::Done)),
            LegStatus::Failed | LegStatus::Cancelled => return None,
            _ if sub.is_none() && acc.is_none() => (vec![model], EtaSource::Model),
            LegStatus::AcceptedOnL2 => {
                (vec![acc.unwrap_or_else(|| less(model, sub))], EtaSource::Observed)
            }
            _ => {
                let first = sub.unwrap_or_else(|| less(model, acc));
                let mut v = vec![first];
                if two_phase {
                    v.push(acc.unwrap_or_else(|| less(model, sub)));
                }
                (v, EtaSource::Observed)
            }
        };
        let in_flight = matches!(status, LegStatus::Submitted | LegStatus::AcceptedOnL2);
        let mut total = (0u64, 0u64, 0u64);
        for (n, p) in phases.into_iter().enumerate() {
            let p = if n == 0 && in_flight { after(p, elapsed) } else { p };
            total = (
                total.0.saturating_add(p.0),
                total.1.saturating_add(p.1),
                total.2.saturating_add(p.2),
            );
        }
        Some((total, source))
    }

    /// A leg's ETA at `now`.
    pub fn leg(&self, plan: &Leg, leg: &LegRecord, now: Timestamp) -> Option<Eta> {
        if leg.status == LegStatus::FinalOnL1 {
            return Some(Eta {
                expected_at: leg.updated_at,
                remaining_secs: 0,
                remaining: EtaRange::new(0, 0),
                source: EtaSource::Done,
            });
        }
        let elapsed = secs_between(leg.updated_at, now);
        let (r, source) = self.remaining(leg.kind, plan.eta, leg.status, elapsed)?;
        Some(Eta {
            expected_at: now.saturating_add(Duration::from_secs(r.0)),
            remaining_secs: r.0,
            remaining: EtaRange::new(r.1, r.2),
            source,
        })
    }

    /// A route's ETA and its legs' at `now`: each leg's remaining time added to the ones before
    /// it (the legs run one after the other).
    pub fn route(&self, rec: &RouteRecord, now: Timestamp) -> RouteEta {
        let failed = matches!(rec.status, RouteStatus::Failed | RouteStatus::Cancelled);
        let mut acc = (0u64, 0u64, 0u64);
        let mut observed = false;
        let mut legs = Vec::with_capacity(rec.legs.len());
        for (leg, plan) in rec.legs.iter().zip(&rec.route.legs) {
            let own = if failed && leg.status != LegStatus::FinalOnL1 {
                None
            } else {
                self.leg(plan, leg, now)
            };
            legs.push(own.map(|e| {
                if e.source == EtaSource::Done {
                    return e;
                }
                observed |= e.source == EtaSource::Observed;
                acc = (
                    acc.0.saturating_add(e.remaining_secs),
                    acc.1.saturating_add(e.remaining.min_secs),
                    acc.2.saturating_add(e.remaining.max_secs),
                );
                Eta {
                    expected_at: now.saturating_add(Duration::from_secs(acc.0)),
                    remaining_secs: acc.0,
                    remaining: EtaRange::new(acc.1, acc.2),
                    source: e.source,
                }
            }));
        }
        let route = if failed {
            None
        } else if rec.status == RouteStatus::Completed {
            Some(Eta {
                expected_at: rec.updated_at,
                remaining_secs: 0,
                remaining: EtaRange::new(0, 0),
                source: EtaSource::Done,
            })
        } else {
            Some(Eta {
                expected_at: now.saturating_add(Duration::from_secs(acc.0)),
                remaining_secs: acc.0,
                remaining: EtaRange::new(acc.1, acc.2),
                source: if observed { EtaSource::Observed } else { EtaSource::Model },
            })
        };
        RouteEta { route, legs }
    }
}

/// The model's whole-leg estimate without the phase already known (`known`).
fn less(model: Est, known: Option<Est>) -> Est {
    let k = known.unwrap_or((0, 0, 0));
    (model.0.saturating_sub(k.0), model.1.saturating_sub(k.1), model.2.saturating_sub(k.2))
}

/// What remains of a phase expected to take `p`, `elapsed` seconds in. A late phase keeps what
/// is left of its worst case, or half its expected time (at least a second) once past that too.
fn after(p: Est, elapsed: u64) -> Est {
    let (mean, min, max) = p;
    let expected = if elapsed < mean {
        mean - elapsed
    } else {
        max.saturating_sub(elapsed).max(mean / 2).max(1)
    };
    let best = min.saturating_sub(elapsed).min(expected);
    let worst = max.saturating_sub(elapsed).max(expected);
    (expected, best, worst)
}

/// The last `eta_changed` announced for a route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Announced {
    pub(crate) expected_at: Timestamp,
    pub(crate) remaining_secs: u64,
    pub(crate) at: Timestamp,
    /// The legs' statuses when announced, hashed: a change allows a new announcement at once.
    pub(crate) statuses: u64,
}

/// The executor's memory of what it announced (seeded from the route's last `eta_changed`
/// event, or its initial ETA, on the first look after a start).
#[derive(Debug, Default)]
pub(crate) struct EtaAnnouncer {
    pub(crate) last: Mutex<HashMap<RouteId, Announced>>,
}

impl EtaAnnouncer {
    pub(crate) fn get(&self, id: &RouteId) -> Option<Announced> {
        self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).copied()
    }

    pub(crate) fn set(&self, id: RouteId, a: Announced) {
        self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, a);
    }

    pub(crate) fn forget(&self, id: &RouteId) {
        self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }
}

/// A hash of the legs' statuses.
pub(crate) fn statuses(rec: &RouteRecord) -> u64 {
    rec.legs.iter().fold(0u64, |h, l| {
        h.wrapping_mul(31).wrapping_add(match l.status {
            LegStatus::Planned => 1,
            LegStatus::Prepared => 2,
            LegStatus::AwaitingSignature => 3,
            LegStatus::Submitted => 4,
            LegStatus::AcceptedOnL2 => 5,
            LegStatus::FinalOnL1 => 6,
            LegStatus::Failed => 7,
            LegStatus::Cancelled => 8,
        })
    })
}

/// Whether the move from `old` to `new` (both expected completions) is worth an `eta_changed`:
/// more than [`CHANGE_PERCENT`]% of what remained when `old` was announced and more than
/// [`CHANGE_MIN_SECS`].
pub fn is_significant(old: Timestamp, old_remaining_secs: u64, new: Timestamp) -> bool {
    let moved = old.as_millis().abs_diff(new.as_millis()) / 1000;
    moved > CHANGE_MIN_SECS && moved * 100 > CHANGE_PERCENT * old_remaining_secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn without_observations_the_model_decides() {
        let e = EtaEstimator::default();
        let model = EtaRange::new(3600, 43_200);
        let (r, src) =
            e.remaining(LegKind::StarknetWithdraw, model, LegStatus::Planned, 0).unwrap();
        assert_eq!(src, EtaSource::Model);
        assert_eq!(r, (23_400, 3600, 43_200));
        // 1000 s into its submission: 1000 s less.
        let (r, _) =
            e.remaining(LegKind::StarknetWithdraw, model, LegStatus::Submitted, 1000).unwrap();
        assert_eq!(r, (22_400, 2600, 42_200));
    }

    #[test]
    fn observations_replace_the_model_per_kind_and_phase() {
        let e = EtaEstimator::default();
        let model = EtaRange::new(3600, 43_200);
        // Starknet withdrawals observed: accepted after 10 s, final 2 h after that.
        for (a, f) in [(8, 7000), (12, 7400)] {
            e.observe(
                LegKind::StarknetWithdraw,
                LegStatus::Submitted,
                LegStatus::AcceptedOnL2,
                D(a),
            );
            e.observe(
                LegKind::StarknetWithdraw,
                LegStatus::AcceptedOnL2,
                LegStatus::FinalOnL1,
                D(f),
            );
        }
        let (r, src) =
            e.remaining(LegKind::StarknetWithdraw, model, LegStatus::Planned, 0).unwrap();
        assert_eq!(src, EtaSource::Observed);
        assert_eq!(r, (10 + 7200, 8 + 7000, 12 + 7400));
        let (r, _) =
            e.remaining(LegKind::StarknetWithdraw, model, LegStatus::AcceptedOnL2, 200).unwrap();
        assert_eq!(r, (7000, 6800, 7200));
        // Another kind is still on the model.
        let (_, src) = e.remaining(LegKind::StarkExTransfer, model, LegStatus::Planned, 0).unwrap();
        assert_eq!(src, EtaSource::Model);
        // Waiting for a signature is not the layer's time.
        e.observe(
            LegKind::StarkExTransfer,
            LegStatus::AwaitingSignature,
            LegStatus::Submitted,
            D(9),
        );
        let (_, src) = e.remaining(LegKind::StarkExTransfer, model, LegStatus::Planned, 0).unwrap();
        assert_eq!(src, EtaSource::Model);
    }

    #[test]
    fn the_window_rolls() {
        let e = EtaEstimator::default();
        let k = LegKind::L1DepositToStarkEx;
        for _ in 0..WINDOW {
            e.observe(k, LegStatus::Submitted, LegStatus::FinalOnL1, D(100));
        }
        for _ in 0..WINDOW {
            e.observe(k, LegStatus::Submitted, LegStatus::FinalOnL1, D(300));
        }
        let (r, _) = e.remaining(k, EtaRange::new(1, 2), LegStatus::Planned, 0).unwrap();
        assert_eq!(r, (300, 300, 300), "the oldest observations are gone");
    }

    #[test]
    fn a_late_leg_moves_its_eta_out() {
        let e = EtaEstimator::default();
        let k = LegKind::StarkExTransfer;
        let model = EtaRange::new(60, 600);
        // Mean 330 s: at 400 s in, what is left of the worst case.
        let (r, _) = e.remaining(k, model, LegStatus::Submitted, 400).unwrap();
        assert_eq!(r, (200, 0, 200));
        // Past the worst case: half the expected time, never "now".
        let (r, _) = e.remaining(k, model, LegStatus::Submitted, 5000).unwrap();
        assert_eq!(r, (165, 0, 165));
        let (r, _) = e.remaining(k, EtaRange::new(0, 0), LegStatus::Submitted, 5000).unwrap();
        assert_eq!(r.0, 1);
    }

    #[test]
    fn final_and_failed_legs() {
        let e = EtaEstimator::default();
        let k = LegKind::StarkExTransfer;
        let (r, src) = e.remaining(k, EtaRange::new(1, 2), LegStatus::FinalOnL1, 9).unwrap();
        assert_eq!((r, src), ((0, 0, 0), EtaSource::Done));
        assert!(e.remaining(k, EtaRange::new(1, 2), LegStatus::Failed, 0).is_none());
    }

    #[test]
    fn significance_needs_both_the_share_and_the_floor() {
        let t = |s: i64| Timestamp::from_millis(s * 1000);
        // 25 s on 60 s remaining: over 20%, under 30 s.
        assert!(!is_significant(t(1000), 60, t(1025)));
        // 31 s on 1000 s remaining: over 30 s, under 20%.
        assert!(!is_significant(t(1000), 1000, t(1031)));
        // 300 s on 1000 s: both.
        assert!(is_significant(t(1000), 1000, t(1300)));
        assert!(is_significant(t(1000), 1000, t(700)), "earlier counts too");
    }
}
