//! One test per transition of the route/leg state machine, and one per refusal.

use starkroute_executor::machine::{
    cancel_plan, decide, maybe_sent, on_event, route_on_event, Action, LegEvent, LegView, Refusal,
    RouteEvent, Transition,
};
use starkroute_executor::{recovery, Recovery};
use starkroute_layer::LegProgress;
use starkroute_store::Timestamp;
use starkroute_types::{
    Account, Holding, Layer, LegKind, LegStatus as L, Position, RouteStatus as R,
};

const ALL_LEGS: [L; 8] = [
    L::Planned,
    L::Prepared,
    L::AwaitingSignature,
    L::Submitted,
    L::AcceptedOnL2,
    L::FinalOnL1,
    L::Failed,
    L::Cancelled,
];

fn observed(p: LegProgress) -> LegEvent {
    LegEvent::Observed(p)
}

fn failed(retryable: bool) -> LegProgress {
    LegProgress::Failed { reason: "INVALID_NONCE".into(), retryable }
}

// ---- prepare ----

#[test]
fn planned_prepared_becomes_prepared() {
    let t = on_event(L::Planned, &LegEvent::Prepared { needs_signature: false });
    assert_eq!(t, Ok(Transition::To(L::Prepared)));
}

#[test]
fn planned_prepared_needing_a_signature_awaits_it() {
    let t = on_event(L::Planned, &LegEvent::Prepared { needs_signature: true });
    assert_eq!(t, Ok(Transition::To(L::AwaitingSignature)));
}

#[test]
fn second_prepare_is_refused() {
    for s in [L::Prepared, L::AwaitingSignature, L::Submitted, L::AcceptedOnL2] {
        for needs_signature in [false, true] {
            assert_eq!(
                on_event(s, &LegEvent::Prepared { needs_signature }),
                Err(Refusal::AlreadyPrepared { status: s }),
                "{s:?}"
            );
        }
    }
}

// ---- signature ----

#[test]
fn signature_on_an_awaiting_leg_makes_it_prepared() {
    assert_eq!(
        on_event(L::AwaitingSignature, &LegEvent::SignatureAccepted),
        Ok(Transition::To(L::Prepared))
    );
}

#[test]
fn signature_on_a_leg_not_awaiting_one_is_refused() {
    for s in [L::Planned, L::Prepared, L::Submitted, L::AcceptedOnL2] {
        assert_eq!(
            on_event(s, &LegEvent::SignatureAccepted),
            Err(Refusal::NotAwaitingSignature { status: s })
        );
    }
}

// ---- send ----

#[test]
fn sending_a_prepared_leg_submits_it() {
    assert_eq!(on_event(L::Prepared, &LegEvent::Sent), Ok(Transition::To(L::Submitted)));
}

#[test]
fn sending_a_submitted_leg_again_stays_submitted() {
    assert_eq!(on_event(L::Submitted, &LegEvent::Sent), Ok(Transition::Stay));
}

#[test]
fn sending_without_a_signed_payload_is_refused() {
    for s in [L::Planned, L::AwaitingSignature] {
        assert_eq!(on_event(s, &LegEvent::Sent), Err(Refusal::NothingToSend { status: s }));
    }
}

#[test]
fn sending_a_leg_its_layer_accepted_is_refused() {
    assert_eq!(
        on_event(L::AcceptedOnL2, &LegEvent::Sent),
        Err(Refusal::AlreadyLanded { status: L::AcceptedOnL2 })
    );
}

// ---- observe ----

#[test]
fn not_found_after_prepare_or_send_sends_the_same_payload() {
    for s in [L::Prepared, L::Submitted] {
        assert_eq!(on_event(s, &observed(LegProgress::NotFound)), Ok(Transition::SendAgain));
    }
}

#[test]
fn pending_after_prepare_means_it_was_sent() {
    assert_eq!(
        on_event(L::Prepared, &observed(LegProgress::Pending)),
        Ok(Transition::To(L::Submitted))
    );
}

#[test]
fn pending_while_submitted_stays() {
    assert_eq!(on_event(L::Submitted, &observed(LegProgress::Pending)), Ok(Transition::Stay));
}

#[test]
fn accepted_on_l2_moves_a_sent_leg() {
    for s in [L::Prepared, L::Submitted] {
        assert_eq!(
            on_event(s, &observed(LegProgress::AcceptedOnL2)),
            Ok(Transition::To(L::AcceptedOnL2))
        );
    }
}

#[test]
fn accepted_on_l2_again_stays() {
    assert_eq!(
        on_event(L::AcceptedOnL2, &observed(LegProgress::AcceptedOnL2)),
        Ok(Transition::Stay)
    );
}

#[test]
fn final_on_l1_finishes_a_sent_leg() {
    for s in [L::Prepared, L::Submitted, L::AcceptedOnL2] {
        assert_eq!(
            on_event(s, &observed(LegProgress::FinalOnL1)),
            Ok(Transition::To(L::FinalOnL1))
        );
    }
}

#[test]
fn a_retryable_failure_on_the_layer_prepares_anew() {
    for s in [L::Prepared, L::Submitted, L::AcceptedOnL2] {
        assert_eq!(
            on_event(s, &observed(failed(true))),
            Ok(Transition::Reprepare { reason: "INVALID_NONCE".into() })
        );
    }
}

#[test]
fn a_permanent_failure_on_the_layer_fails_the_leg() {
    for s in [L::Prepared, L::Submitted, L::AcceptedOnL2] {
        assert_eq!(
            on_event(s, &observed(failed(false))),
            Ok(Transition::Fail { reason: "INVALID_NONCE".into() })
        );
    }
}

#[test]
fn status_going_backwards_is_refused() {
    for p in [LegProgress::NotFound, LegProgress::Pending] {
        assert!(
            matches!(
                on_event(L::AcceptedOnL2, &observed(p.clone())),
                Err(Refusal::Backwards { status: L::AcceptedOnL2, .. })
            ),
            "{p:?}: an accepted leg is never sent again because a node forgot it"
        );
    }
}

#[test]
fn status_of_a_leg_never_sent_is_refused() {
    for s in [L::Planned, L::AwaitingSignature] {
        for p in
            [LegProgress::NotFound, LegProgress::Pending, LegProgress::FinalOnL1, failed(false)]
        {
            assert_eq!(on_event(s, &observed(p)), Err(Refusal::NothingSent { status: s }));
        }
    }
}

// ---- cancel ----

#[test]
fn cancel_of_an_unsent_leg_cancels_it() {
    for s in [L::Planned, L::AwaitingSignature] {
        assert_eq!(on_event(s, &LegEvent::Cancel), Ok(Transition::To(L::Cancelled)));
    }
}

#[test]
fn cancel_of_a_leg_that_may_have_been_sent_is_refused() {
    for s in [L::Prepared, L::Submitted, L::AcceptedOnL2] {
        assert_eq!(on_event(s, &LegEvent::Cancel), Err(Refusal::MaybeSent { status: s }));
    }
}

// ---- terminal legs ----

#[test]
fn terminal_legs_refuse_everything() {
    let events = [
        LegEvent::Prepared { needs_signature: false },
        LegEvent::SignatureAccepted,
        LegEvent::Sent,
        observed(LegProgress::FinalOnL1),
        observed(LegProgress::NotFound),
        LegEvent::Cancel,
    ];
    for s in [L::FinalOnL1, L::Failed, L::Cancelled] {
        for e in &events {
            assert_eq!(on_event(s, e), Err(Refusal::LegTerminal { status: s }), "{s:?} {e:?}");
        }
    }
}

#[test]
fn maybe_sent_is_exactly_the_states_with_a_payload_out() {
    let sent: Vec<L> = ALL_LEGS.into_iter().filter(|s| maybe_sent(*s)).collect();
    assert_eq!(sent, [L::Prepared, L::Submitted, L::AcceptedOnL2, L::FinalOnL1]);
}

// ---- route status ----

#[test]
fn route_starts_running_from_pending() {
    assert_eq!(route_on_event(R::Pending, RouteEvent::Started), Ok(R::Running));
    assert_eq!(route_on_event(R::Running, RouteEvent::Started), Ok(R::Running));
}

#[test]
fn route_cannot_start_a_leg_while_paused() {
    assert!(matches!(
        route_on_event(R::AwaitingSignature, RouteEvent::Started),
        Err(Refusal::RouteNotAllowed { .. })
    ));
}

#[test]
fn route_pauses_from_pending_or_running() {
    for s in [R::Pending, R::Running, R::AwaitingSignature] {
        assert_eq!(route_on_event(s, RouteEvent::Paused), Ok(R::AwaitingSignature));
    }
}

#[test]
fn route_resumes_from_paused() {
    assert_eq!(route_on_event(R::AwaitingSignature, RouteEvent::Resumed), Ok(R::Running));
}

#[test]
fn route_resume_when_not_paused_is_refused() {
    for s in [R::Pending, R::Running] {
        assert!(matches!(
            route_on_event(s, RouteEvent::Resumed),
            Err(Refusal::RouteNotAllowed { .. })
        ));
    }
}

#[test]
fn route_completes_from_running() {
    assert_eq!(route_on_event(R::Running, RouteEvent::Completed), Ok(R::Completed));
}

#[test]
fn route_completing_with_no_leg_run_is_refused() {
    for s in [R::Pending, R::AwaitingSignature] {
        assert!(matches!(
            route_on_event(s, RouteEvent::Completed),
            Err(Refusal::RouteNotAllowed { .. })
        ));
    }
}

#[test]
fn route_fails_or_cancels_from_any_live_status() {
    for s in [R::Pending, R::Running, R::AwaitingSignature] {
        assert_eq!(route_on_event(s, RouteEvent::Failed), Ok(R::Failed));
        assert_eq!(route_on_event(s, RouteEvent::Cancelled), Ok(R::Cancelled));
    }
}

#[test]
fn terminal_routes_refuse_everything() {
    let events = [
        RouteEvent::Started,
        RouteEvent::Paused,
        RouteEvent::Resumed,
        RouteEvent::Completed,
        RouteEvent::Failed,
        RouteEvent::Cancelled,
    ];
    for s in [R::Completed, R::Failed, R::Cancelled] {
        for e in events {
            assert_eq!(route_on_event(s, e), Err(Refusal::RouteTerminal { status: s }));
        }
    }
}

// ---- cancel a route ----

fn leg(index: u16, kind: LegKind, status: L) -> LegView {
    LegView { index, kind, status, next_attempt_at: None }
}

#[test]
fn cancel_before_anything_was_sent_cancels_every_unsent_leg() {
    let legs = [
        leg(0, LegKind::StarkExRegistration, L::FinalOnL1),
        leg(1, LegKind::StarkExTransfer, L::AwaitingSignature),
        leg(2, LegKind::StarkExWithdrawalRequest, L::Planned),
    ];
    assert_eq!(cancel_plan(R::AwaitingSignature, &legs), Ok(vec![1, 2]));
}

#[test]
fn cancel_after_an_irreversible_leg_may_have_been_sent_is_refused() {
    for s in [L::Prepared, L::Submitted, L::AcceptedOnL2, L::FinalOnL1] {
        let legs = [
            leg(0, LegKind::StarknetNftWithdraw, s),
            leg(1, LegKind::L1ClaimFromNftBridge, L::Planned),
        ];
        assert_eq!(
            cancel_plan(R::Running, &legs),
            Err(Refusal::IrreversibleSent { leg: 0, kind: LegKind::StarknetNftWithdraw }),
            "{s:?}"
        );
    }
}

#[test]
fn cancel_of_a_terminal_route_is_refused() {
    let legs = [leg(0, LegKind::L1Transfer, L::FinalOnL1)];
    assert_eq!(
        cancel_plan(R::Completed, &legs),
        Err(Refusal::RouteTerminal { status: R::Completed })
    );
}

// ---- decide ----

const NOW: Timestamp = Timestamp::from_millis(1_000);

#[test]
fn decide_prepares_the_first_planned_leg() {
    let legs = [leg(0, LegKind::L1Transfer, L::Planned), leg(1, LegKind::L1Transfer, L::Planned)];
    assert_eq!(decide(R::Pending, &legs, NOW), Action::Prepare(0));
}

#[test]
fn decide_reconciles_a_prepared_leg_before_sending() {
    let legs = [leg(0, LegKind::L1Transfer, L::Prepared)];
    assert_eq!(decide(R::Running, &legs, NOW), Action::Reconcile(0));
}

#[test]
fn decide_polls_a_sent_leg() {
    for s in [L::Submitted, L::AcceptedOnL2] {
        let legs = [leg(0, LegKind::L1Transfer, s)];
        assert_eq!(decide(R::Running, &legs, NOW), Action::Poll(0));
    }
}

#[test]
fn decide_goes_to_the_next_leg_only_at_final_on_l1() {
    let legs = [
        leg(0, LegKind::StarkExWithdrawalRequest, L::AcceptedOnL2),
        leg(1, LegKind::L1ClaimFromStarkEx, L::Planned),
    ];
    assert_eq!(decide(R::Running, &legs, NOW), Action::Poll(0));
    let legs = [
        leg(0, LegKind::StarkExWithdrawalRequest, L::FinalOnL1),
        leg(1, LegKind::L1ClaimFromStarkEx, L::Planned),
    ];
    assert_eq!(decide(R::Running, &legs, NOW), Action::Prepare(1), "the claim goes at once");
}

#[test]
fn decide_waits_for_a_signature() {
    let legs = [leg(0, LegKind::StarkExTransfer, L::AwaitingSignature)];
    assert_eq!(decide(R::Running, &legs, NOW), Action::AwaitSignature(0));
}

#[test]
fn decide_sleeps_until_the_next_attempt() {
    let later = Timestamp::from_millis(5_000);
    let legs =
        [LegView { next_attempt_at: Some(later), ..leg(0, LegKind::L1Transfer, L::Submitted) }];
    assert_eq!(decide(R::Running, &legs, NOW), Action::Sleep(later));
    assert_eq!(decide(R::Running, &legs, later), Action::Poll(0));
}

#[test]
fn decide_completes_when_every_leg_is_final() {
    let legs =
        [leg(0, LegKind::L1Transfer, L::FinalOnL1), leg(1, LegKind::L1Transfer, L::FinalOnL1)];
    assert_eq!(decide(R::Running, &legs, NOW), Action::Complete);
}

#[test]
fn decide_finishes_a_route_whose_leg_failed_or_was_cancelled() {
    let legs = [leg(0, LegKind::L1Transfer, L::FinalOnL1), leg(1, LegKind::L1Transfer, L::Failed)];
    assert_eq!(decide(R::Running, &legs, NOW), Action::Fail(1));
    let legs = [leg(0, LegKind::L1Transfer, L::Cancelled)];
    assert_eq!(decide(R::Pending, &legs, NOW), Action::Cancel);
}

#[test]
fn decide_does_nothing_on_a_terminal_route() {
    let legs = [leg(0, LegKind::L1Transfer, L::Planned)];
    for s in [R::Completed, R::Failed, R::Cancelled] {
        assert_eq!(decide(s, &legs, NOW), Action::Idle);
    }
}

#[test]
fn decide_refuses_a_later_leg_that_moved_first() {
    let legs =
        [leg(0, LegKind::L1Transfer, L::Submitted), leg(1, LegKind::L1Transfer, L::Prepared)];
    assert_eq!(
        decide(R::Running, &legs, NOW),
        Action::Inconsistent(Refusal::OutOfOrder { leg: 1, blocking: 0 })
    );
}

// ---- recovery ----

fn pos(layer: Layer, holding: Holding) -> Position {
    let holder = match layer {
        Layer::L1 => Account::parse(layer, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        Layer::StarkEx => Account::parse(layer, "0x1"),
        Layer::Starknet => Account::parse(layer, "0x1234"),
    }
    .expect("valid account");
    Position { layer, holder, holding }
}

#[test]
fn recovery_paths() {
    let claimable = pos(Layer::L1, Holding::Claimable);
    assert_eq!(recovery(&claimable, LegKind::L1ClaimFromStarkEx, false), Recovery::ClaimOnL1);
    let on_l1 = pos(Layer::L1, Holding::Owned);
    assert_eq!(recovery(&on_l1, LegKind::L1DepositToStarkEx, true), Recovery::ReclaimDeposit);
    assert_eq!(recovery(&on_l1, LegKind::L1DepositToStarkEx, false), Recovery::None);
    let on_starkex = pos(Layer::StarkEx, Holding::Owned);
    assert_eq!(recovery(&on_starkex, LegKind::StarkExWithdrawalRequest, false), Recovery::Escape);
    let on_starknet = pos(Layer::Starknet, Holding::Owned);
    assert_eq!(recovery(&on_starknet, LegKind::StarknetWithdraw, false), Recovery::None);
}
