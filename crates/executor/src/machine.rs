//! The route/leg state machine as pure functions: no IO, no clock, no store.
//!
//! The driver ([`crate::Executor`]) asks [`decide`] what to do next with a route, does the IO
//! (prepare, send, status), feeds what it learned to [`on_event`] (a leg) or [`route_on_event`]
//! (the route), and persists the [`Transition`] it gets back. Everything the machine refuses is a
//! [`Refusal`] with the reason, and leaves the state as it was.
//!
//! | leg status           | event                               | result                          |
//! |----------------------|-------------------------------------|---------------------------------|
//! | planned              | prepared (signed / no key needed)   | → prepared                      |
//! | planned              | prepared (needs a user's signature) | → awaiting_signature            |
//! | other                | prepared                            | refused: already prepared       |
//! | awaiting_signature   | signature accepted                  | → prepared                      |
//! | other                | signature accepted                  | refused: not awaiting one       |
//! | prepared             | sent                                | → submitted                     |
//! | submitted            | sent (the same payload again)       | stay                            |
//! | planned, awaiting    | sent                                | refused: nothing sendable       |
//! | accepted, terminal   | sent                                | refused                         |
//! | prepared, submitted  | observed not_found                  | send the same payload (again)   |
//! | prepared             | observed pending                    | → submitted                     |
//! | submitted            | observed pending                    | stay                            |
//! | prepared, submitted  | observed accepted_on_l2             | → accepted_on_l2                |
//! | accepted_on_l2       | observed accepted_on_l2             | stay                            |
//! | accepted_on_l2       | observed not_found / pending        | refused: goes backwards         |
//! | prepared … accepted  | observed final_on_l1                | → final_on_l1                   |
//! | prepared … accepted  | observed failed (retryable)         | → planned (prepare anew)        |
//! | prepared … accepted  | observed failed (permanent)         | → failed                        |
//! | planned, awaiting    | observed anything                   | refused: nothing was sent       |
//! | planned, awaiting    | cancel                              | → cancelled                     |
//! | prepared … accepted  | cancel                              | refused: may have been sent     |
//! | terminal             | anything                            | refused: terminal               |
//!
//! A route's legs run in order; a leg is done only at `final_on_l1` (the layer's finality where
//! the next leg needs it). See [`decide`] and [`route_on_event`] for the route.

use serde::{Deserialize, Serialize};
use starkroute_layer::LegProgress;
use starkroute_store_api::{LegRecord, RouteRecord, Timestamp};
use starkroute_types::{LegKind, LegStatus, RouteStatus};

/// Something that happened to a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// Its exact payload was built (and stored).
    Prepared {
        /// Whether the payload still needs a signature the router does not hold.
        needs_signature: bool,
    },
    /// A user's signature was checked against the payload and attached.
    SignatureAccepted,
    /// The layer took the prepared payload.
    Sent,
    /// The layer reported the payload's progress.
    Observed(LegProgress),
    /// The route is being cancelled.
    Cancel,
}

/// What the driver must do after a [`LegEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Move the leg to this status.
    To(LegStatus),
    /// Nothing changed; look again later.
    Stay,
    /// The layer has not seen the payload: send the *same* prepared payload (again). Never
    /// prepare anew here: a payload that may still land must not get a sibling with a new nonce.
    SendAgain,
    /// The payload failed for good on its layer but a fresh one can succeed: back to `planned`,
    /// to be prepared anew (the old one can no longer land).
    Reprepare {
        /// The layer's reason.
        reason: String,
    },
    /// The leg failed permanently.
    Fail {
        /// The layer's reason.
        reason: String,
    },
}

/// Why the machine refused an event. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    /// A second prepare of a leg that already has a payload.
    #[error("the leg is already {status:?}: it was prepared once and is never prepared again while its payload may land")]
    AlreadyPrepared {
        /// The leg's status.
        status: LegStatus,
    },
    /// A signature for a leg that is not waiting for one.
    #[error("the leg is {status:?}, not awaiting a signature")]
    NotAwaitingSignature {
        /// The leg's status.
        status: LegStatus,
    },
    /// A send of a leg without a complete payload.
    #[error("the leg is {status:?}: it has no signed payload to send")]
    NothingToSend {
        /// The leg's status.
        status: LegStatus,
    },
    /// A send of a leg that its layer already accepted.
    #[error("the leg is {status:?}: its layer already has it")]
    AlreadyLanded {
        /// The leg's status.
        status: LegStatus,
    },
    /// A status report about a leg that was never sent.
    #[error("the leg is {status:?}: nothing was sent to observe")]
    NothingSent {
        /// The leg's status.
        status: LegStatus,
    },
    /// A status report older than what is already recorded (a node behind, a load balancer).
    #[error(
        "the leg is {status:?} and the layer now says {observed}: progress never goes backwards"
    )]
    Backwards {
        /// The leg's status.
        status: LegStatus,
        /// What the layer reported.
        observed: String,
    },
    /// An event for a leg that can no longer change.
    #[error("the leg is {status:?}, which is final")]
    LegTerminal {
        /// The leg's status.
        status: LegStatus,
    },
    /// Cancel of a leg whose payload may have reached its layer.
    #[error(
        "the leg is {status:?}: its payload may have been sent, so it can no longer be cancelled"
    )]
    MaybeSent {
        /// The leg's status.
        status: LegStatus,
    },
    /// Cancel of a route one of whose irreversible legs may have been sent.
    #[error("leg {leg} ({kind}) may have been sent and cannot be undone: the route can only be completed or recovered now")]
    IrreversibleSent {
        /// The leg.
        leg: u16,
        /// Its kind.
        kind: LegKind,
    },
    /// A change to a route that is already terminal.
    #[error("the route is {status:?}, which is final")]
    RouteTerminal {
        /// The route's status.
        status: RouteStatus,
    },
    /// A route change that its current status does not allow.
    #[error("the route is {status:?}: {what} is not possible now")]
    RouteNotAllowed {
        /// The route's status.
        status: RouteStatus,
        /// What was asked.
        what: String,
    },
    /// Work on a leg while an earlier one is not final.
    #[error("leg {leg} cannot move while leg {blocking} is not final on its layer")]
    OutOfOrder {
        /// The leg asked about.
        leg: u16,
        /// The earlier leg that is not final.
        blocking: u16,
    },
    /// No leg with that index.
    #[error("the route has no leg {leg}")]
    NoSuchLeg {
        /// The index asked about.
        leg: u16,
    },
}

/// Whether a leg's payload may be on its layer (sent, or saved right before sending).
pub const fn maybe_sent(status: LegStatus) -> bool {
    matches!(
        status,
        LegStatus::Prepared | LegStatus::Submitted | LegStatus::AcceptedOnL2 | LegStatus::FinalOnL1
    )
}

fn progress_name(p: &LegProgress) -> String {
    match p {
        LegProgress::NotFound => "not_found".into(),
        LegProgress::Pending => "pending".into(),
        LegProgress::AcceptedOnL2 => "accepted_on_l2".into(),
        LegProgress::FinalOnL1 => "final_on_l1".into(),
        LegProgress::Failed { reason, .. } => format!("failed ({reason})"),
    }
}

/// The one transition function of a leg: what `event` does to a leg in `status`.
pub fn on_event(status: LegStatus, event: &LegEvent) -> Result<Transition, Refusal> {
    use LegStatus as S;
    if status.is_terminal() {
        return Err(Refusal::LegTerminal { status });
    }
    match event {
        LegEvent::Prepared { needs_signature } => match status {
            S::Planned if *needs_signature => Ok(Transition::To(S::AwaitingSignature)),
            S::Planned => Ok(Transition::To(S::Prepared)),
            _ => Err(Refusal::AlreadyPrepared { status }),
        },
        LegEvent::SignatureAccepted => match status {
            S::AwaitingSignature => Ok(Transition::To(S::Prepared)),
            _ => Err(Refusal::NotAwaitingSignature { status }),
        },
        LegEvent::Sent => match status {
            S::Prepared => Ok(Transition::To(S::Submitted)),
            // The same payload sent again after the layer lost it: sending is idempotent.
            S::Submitted => Ok(Transition::Stay),
            S::Planned | S::AwaitingSignature => Err(Refusal::NothingToSend { status }),
            _ => Err(Refusal::AlreadyLanded { status }),
        },
        LegEvent::Observed(progress) => observe(status, progress),
        LegEvent::Cancel => match status {
            S::Planned | S::AwaitingSignature => Ok(Transition::To(S::Cancelled)),
            _ => Err(Refusal::MaybeSent { status }),
        },
    }
}

fn observe(status: LegStatus, progress: &LegProgress) -> Result<Transition, Refusal> {
    use LegStatus as S;
    if !maybe_sent(status) {
        return Err(Refusal::NothingSent { status });
    }
    let backwards = || Refusal::Backwards { status, observed: progress_name(progress) };
    match progress {
        LegProgress::NotFound => match status {
            S::Prepared | S::Submitted => Ok(Transition::SendAgain),
            _ => Err(backwards()),
        },
        LegProgress::Pending => match status {
            S::Prepared => Ok(Transition::To(S::Submitted)),
            S::Submitted => Ok(Transition::Stay),
            _ => Err(backwards()),
        },
        LegProgress::AcceptedOnL2 => match status {
            S::Prepared | S::Submitted => Ok(Transition::To(S::AcceptedOnL2)),
            _ => Ok(Transition::Stay),
        },
        LegProgress::FinalOnL1 => Ok(Transition::To(S::FinalOnL1)),
        LegProgress::Failed { reason, retryable: true } => {
            Ok(Transition::Reprepare { reason: reason.clone() })
        }
        LegProgress::Failed { reason, retryable: false } => {
            Ok(Transition::Fail { reason: reason.clone() })
        }
    }
}

/// Something that happens to a route as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteEvent {
    /// A leg's payload was stored, to be sent: work is in flight.
    Started,
    /// A leg waits for a user's signature.
    Paused,
    /// The awaited signature was accepted.
    Resumed,
    /// Every leg is final.
    Completed,
    /// A leg failed permanently.
    Failed,
    /// Cancelled (the legs were checked with [`cancel_plan`]).
    Cancelled,
}

/// The one transition function of a route's status.
pub fn route_on_event(status: RouteStatus, event: RouteEvent) -> Result<RouteStatus, Refusal> {
    use RouteStatus as S;
    if status.is_terminal() {
        return Err(Refusal::RouteTerminal { status });
    }
    let refuse = |what: &str| Err(Refusal::RouteNotAllowed { status, what: what.into() });
    match event {
        RouteEvent::Started => match status {
            S::Pending | S::Running => Ok(S::Running),
            _ => refuse("starting a leg while a signature is awaited"),
        },
        RouteEvent::Paused => Ok(S::AwaitingSignature),
        RouteEvent::Resumed => match status {
            S::AwaitingSignature => Ok(S::Running),
            _ => refuse("resuming a route that is not paused"),
        },
        RouteEvent::Completed => match status {
            S::Running => Ok(S::Completed),
            _ => refuse("completing a route with no leg run"),
        },
        RouteEvent::Failed => Ok(S::Failed),
        RouteEvent::Cancelled => Ok(S::Cancelled),
    }
}

/// The legs a cancel moves to `cancelled`, or why the route can no longer be cancelled: it can
/// until the first irreversible leg may have been sent (its payload saved to be sent, or sent).
pub fn cancel_plan(status: RouteStatus, legs: &[LegView]) -> Result<Vec<u16>, Refusal> {
    route_on_event(status, RouteEvent::Cancelled)?;
    if let Some(leg) = legs.iter().find(|l| l.kind.irreversible() && maybe_sent(l.status)) {
        return Err(Refusal::IrreversibleSent { leg: leg.index, kind: leg.kind });
    }
    Ok(legs
        .iter()
        .filter(|l| matches!(on_event(l.status, &LegEvent::Cancel), Ok(Transition::To(_))))
        .map(|l| l.index)
        .collect())
}

/// What the machine needs to know about a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegView {
    /// Its index.
    pub index: u16,
    /// Its kind.
    pub kind: LegKind,
    /// Its status.
    pub status: LegStatus,
    /// Not before then (backoff, next poll).
    pub next_attempt_at: Option<Timestamp>,
}

impl From<&LegRecord> for LegView {
    fn from(l: &LegRecord) -> Self {
        Self { index: l.index, kind: l.kind, status: l.status, next_attempt_at: l.next_attempt_at }
    }
}

/// What the driver should do next with a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Build and store the leg's payload (then send it at once).
    Prepare(u16),
    /// The leg's payload is stored and may have been sent: ask its layer first
    /// ([`LegEvent::Observed`]), and send the same payload only if the layer never saw it.
    Reconcile(u16),
    /// The leg is on its layer: ask for its progress.
    Poll(u16),
    /// The leg waits for a user's signature; the route is (or must be marked) paused.
    AwaitSignature(u16),
    /// Nothing to do before then.
    Sleep(Timestamp),
    /// Every leg is final: complete the route.
    Complete,
    /// A leg failed but the route is not marked failed yet.
    Fail(u16),
    /// A leg was cancelled but the route is not marked cancelled yet.
    Cancel,
    /// The route is terminal: nothing to do.
    Idle,
    /// The stored legs break the machine's invariants (a later leg moved before an earlier one
    /// was final); nothing is done automatically.
    Inconsistent(Refusal),
}

/// What to do next with a route, from its status and legs at `now`.
pub fn decide(status: RouteStatus, legs: &[LegView], now: Timestamp) -> Action {
    if status.is_terminal() {
        return Action::Idle;
    }
    if let Some(l) = legs.iter().find(|l| l.status == LegStatus::Failed) {
        return Action::Fail(l.index);
    }
    if legs.iter().any(|l| l.status == LegStatus::Cancelled) {
        return Action::Cancel;
    }
    let Some(pos) = legs.iter().position(|l| l.status != LegStatus::FinalOnL1) else {
        return Action::Complete;
    };
    let leg = legs[pos];
    if let Some(later) = legs[pos + 1..].iter().find(|l| l.status != LegStatus::Planned) {
        return Action::Inconsistent(Refusal::OutOfOrder { leg: later.index, blocking: leg.index });
    }
    if leg.status == LegStatus::AwaitingSignature {
        return Action::AwaitSignature(leg.index);
    }
    if let Some(at) = leg.next_attempt_at.filter(|at| *at > now) {
        return Action::Sleep(at);
    }
    match leg.status {
        LegStatus::Planned => Action::Prepare(leg.index),
        LegStatus::Prepared => Action::Reconcile(leg.index),
        _ => Action::Poll(leg.index),
    }
}

/// [`decide`] on a stored route.
pub fn decide_record(route: &RouteRecord, now: Timestamp) -> Action {
    let legs: Vec<LegView> = route.legs.iter().map(LegView::from).collect();
    decide(route.status, &legs, now)
}
