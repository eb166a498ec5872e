//! `StarkExLayer` and the client against the sandbox's API.

use starkroute_layer::{LegProgress, SettlementLayer, SignatureScheme};
use starkroute_sandbox::starkex::FaultSwitches;
use starkroute_starkex::client::{ListQuery, SignableWithdrawalRequest, TokenSpec};
use starkroute_starkex::{all_pages, Error, StarkExClient, StarkExLayer};
use starkroute_types::{Account, Amount, LegKind, U256};

use crate::{fresh_party, intent, Harness, ETHER};

const TENTH: u128 = ETHER / 10;

fn transfer_intent(h: &Harness) -> starkroute_layer::LegIntent {
    intent(
        LegKind::StarkExTransfer,
        TENTH,
        Account::StarkEx(h.alice.key()),
        Account::StarkEx(h.bob.key()),
    )
}

#[tokio::test]
async fn transfer_prepare_send_status_until_the_batch_is_on_l1() {
    let h = Harness::start().await;
    let layer = h.layer(&[&h.alice], &[&h.alice]);
    let p = layer.prepare(&transfer_intent(&h)).await.unwrap();
    assert_eq!(p.needs_signature, None, "both keys are held");
    assert!(p.nonce.is_some());
    assert_eq!(p.payload["op"], "transfer");
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::NotFound);

    let before = h.transfer_count();
    layer.send(&p).await.unwrap();
    assert_eq!(h.transfer_count(), before + 1);
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);

    h.advance(6 * 3600 + 60);
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::FinalOnL1);
    let bob = layer.balance(&Account::StarkEx(h.bob.key()), &crate::eth_asset()).await.unwrap();
    assert_eq!(bob, Amount::from_u128(ETHER + TENTH));
}

#[tokio::test]
async fn a_second_send_executes_once_even_from_a_restarted_adapter() {
    let h = Harness::start().await;
    let layer = h.layer(&[&h.alice], &[&h.alice]);
    let p = layer.prepare(&transfer_intent(&h)).await.unwrap();
    let before = h.transfer_count();
    layer.send(&p).await.unwrap();
    layer.send(&p).await.unwrap();
    assert_eq!(h.transfer_count(), before + 1);

    // A new process has no memory of the transfer id and does not guess it from the records:
    // not found, so the executor sends the same payload again, which the exchange refuses by
    // its nonce — proof that it was applied.
    let restarted = h.layer(&[&h.alice], &[&h.alice]);
    assert_eq!(restarted.status(&p).await.unwrap(), LegProgress::NotFound);
    restarted.send(&p).await.unwrap();
    assert_eq!(h.transfer_count(), before + 1);
    assert_eq!(restarted.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
    h.advance(6 * 3600 + 60);
    assert_eq!(restarted.status(&p).await.unwrap(), LegProgress::FinalOnL1);
}

/// Two identical transfers (same sender, receiver, asset and amount), only one of them the
/// leg's: after a restart the leg is found by its own nonce, never by the look-alike — whether
/// the leg's transfer was sent before the crash or not.
#[tokio::test]
async fn an_identical_transfer_is_never_taken_for_the_legs_own() {
    let h = Harness::start().await;
    let layer = h.layer(&[&h.alice], &[&h.alice]);

    // The leg's transfer was prepared but not sent when the process died; meanwhile an
    // identical transfer (another payload, its own nonce) was made.
    let leg = layer.prepare(&transfer_intent(&h)).await.unwrap();
    let other = layer.prepare(&transfer_intent(&h)).await.unwrap();
    assert_ne!(leg.nonce, other.nonce);
    layer.send(&other).await.unwrap();
    let before = h.transfer_count();
    let restarted = h.layer(&[&h.alice], &[&h.alice]);
    assert_eq!(restarted.status(&leg).await.unwrap(), LegProgress::NotFound, "not the look-alike");
    restarted.send(&leg).await.unwrap();
    assert_eq!(h.transfer_count(), before + 1, "the leg's own transfer is made");

    // The leg's transfer was sent before the crash, and an identical one after it: a restarted
    // process re-sends, is refused by the nonce, and makes nothing more.
    let leg = layer.prepare(&transfer_intent(&h)).await.unwrap();
    layer.send(&leg).await.unwrap();
    let other = layer.prepare(&transfer_intent(&h)).await.unwrap();
    layer.send(&other).await.unwrap();
    let before = h.transfer_count();
    let restarted = h.layer(&[&h.alice], &[&h.alice]);
    assert_eq!(restarted.status(&leg).await.unwrap(), LegProgress::NotFound);
    restarted.send(&leg).await.unwrap();
    assert_eq!(h.transfer_count(), before, "nothing applied twice");
    assert_eq!(restarted.status(&leg).await.unwrap(), LegProgress::AcceptedOnL2);
    h.advance(6 * 3600 + 60);
    assert_eq!(restarted.status(&leg).await.unwrap(), LegProgress::FinalOnL1);
    let bob = layer.balance(&Account::StarkEx(h.bob.key()), &crate::eth_asset()).await.unwrap();
    assert_eq!(bob, Amount::from_u128(ETHER + 4 * TENTH), "four transfers, each once");
}

/// Without a data-availability source (an ImmutableX-style API alone), a transfer is final when
/// the operator accepts it, and a withdrawal when its `rollup_status` is `confirmed`.
#[tokio::test]
async fn without_availability_finality_comes_from_the_apis_own_fields() {
    let h = Harness::start().await;
    let dir = [&h.alice, &h.bob].iter().map(|p| (p.key(), p.l1())).collect();
    let layer = StarkExLayer::new(h.client(), [(h.alice.key(), h.alice.stark.clone())].into())
        .with_eth_keys([(h.alice.l1(), h.alice.eth.clone())].into())
        .with_directory(dir);
    let p = layer.prepare(&transfer_intent(&h)).await.unwrap();
    layer.send(&p).await.unwrap();
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::FinalOnL1);

    let i = intent(
        LegKind::StarkExWithdrawalRequest,
        TENTH,
        Account::StarkEx(h.alice.key()),
        Account::L1(h.alice.l1()),
    );
    let w = layer.prepare(&i).await.unwrap();
    layer.send(&w).await.unwrap();
    assert_eq!(layer.status(&w).await.unwrap(), LegProgress::AcceptedOnL2);
    h.advance(6 * 3600 + 60);
    assert_eq!(layer.status(&w).await.unwrap(), LegProgress::FinalOnL1);
}

#[tokio::test]
async fn a_wrong_stark_signature_is_refused_and_nothing_is_sent() {
    let h = Harness::start().await;
    // The router holds Alice's Ethereum key but not her Stark key.
    let layer = h.layer(&[], &[&h.alice]);
    let p = layer.prepare(&transfer_intent(&h)).await.unwrap();
    let need = p.needs_signature.clone().unwrap();
    assert_eq!(need.scheme, SignatureScheme::Stark);
    assert_eq!(need.hash, p.hash);
    assert_eq!(need.signer, Account::StarkEx(h.alice.key()));

    let before = h.transfer_count();
    let err = layer.send(&p).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("awaiting a signature"), "{err}");

    let hash = starkroute_types::parse_felt(&p.hash).unwrap();
    let wrong = h.bob.stark.sign(&hash).unwrap().to_hex();
    let err = layer.attach_signature(&p, &wrong).await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(layer.attach_signature(&p, "0x1234").await.is_err());
    assert_eq!(h.transfer_count(), before);

    let right = h.alice.stark.sign(&hash).unwrap().to_hex();
    let signed = layer.attach_signature(&p, &right).await.unwrap();
    assert_eq!(signed.needs_signature, None);
    assert_eq!(signed.hash, p.hash);
    layer.send(&signed).await.unwrap();
    assert_eq!(h.transfer_count(), before + 1);
}

#[tokio::test]
async fn without_any_key_the_stark_then_the_ethereum_signature_is_asked_for() {
    let h = Harness::start().await;
    let layer = h.layer(&[], &[]);
    let p = layer.prepare(&transfer_intent(&h)).await.unwrap();
    let hash = starkroute_types::parse_felt(&p.hash).unwrap();
    let p = layer.attach_signature(&p, &h.alice.stark.sign(&hash).unwrap().to_hex()).await.unwrap();
    let need = p.needs_signature.clone().unwrap();
    assert_eq!(need.scheme, SignatureScheme::Ethereum);
    assert_eq!(need.signer, Account::L1(h.alice.l1()));
    let message = p.payload["sig"]["signable_message"].as_str().unwrap().to_owned();
    assert_eq!(need.hash, format!("{:#x}", alloy_primitives::eip191_hash_message(&message)));

    let wrong = h.bob.eth.personal_sign_imx(message.as_bytes()).unwrap();
    assert!(layer.attach_signature(&p, &format!("0x{}", hex::encode(wrong))).await.is_err());
    let right = h.alice.eth.personal_sign(message.as_bytes()).unwrap();
    let p = layer.attach_signature(&p, &format!("0x{}", hex::encode(right))).await.unwrap();
    assert_eq!(p.needs_signature, None);
    layer.send(&p).await.unwrap();
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
}

#[tokio::test]
async fn withdrawal_request_is_final_when_its_batch_is_on_l1() {
    let h = Harness::start().await;
    let layer = h.layer(&[&h.alice], &[&h.alice]);
    let i = intent(
        LegKind::StarkExWithdrawalRequest,
        TENTH,
        Account::StarkEx(h.alice.key()),
        Account::L1(h.alice.l1()),
    );
    let p = layer.prepare(&i).await.unwrap();
    assert_eq!(p.payload["op"], "withdrawal");
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::NotFound);
    layer.send(&p).await.unwrap();
    layer.send(&p).await.unwrap();
    assert_eq!(h.world.lock().starkex.withdrawals().len(), 1);
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
    h.advance(6 * 3600 + 60);
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::FinalOnL1);
    // Credited to Alice's Ethereum address on the contract, ready for the L1 claim.
    let eth_type = starkroute_sandbox::world::starkex_asset_type(
        starkroute_types::AssetClass::Eth,
        None,
        crate::ETH_QUANTUM,
    )
    .unwrap();
    let credited = h
        .world
        .lock()
        .l1
        .state()
        .starkex
        .get_withdrawal_balance(&h.alice.l1().to_u256(), &eth_type);
    assert_eq!(credited, U256::from(TENTH));

    // A withdrawal to someone else's address is not something StarkEx can do.
    let other = intent(
        LegKind::StarkExWithdrawalRequest,
        TENTH,
        Account::StarkEx(h.alice.key()),
        Account::L1(h.bob.l1()),
    );
    assert!(!layer.prepare(&other).await.unwrap_err().retryable);
}

#[tokio::test]
async fn registration_of_a_new_user_and_readiness() {
    let h = Harness::start().await;
    let carol = fresh_party(7);
    let layer =
        StarkExLayer::new(h.client(), [(carol.key(), carol.stark.clone())].into_iter().collect())
            .with_eth_keys([(carol.l1(), carol.eth.clone())].into_iter().collect())
            .with_directory([(carol.key(), carol.l1())].into_iter().collect());
    let acct = Account::StarkEx(carol.key());
    assert!(!layer.readiness(&acct).await.unwrap().ready);
    let mut i = intent(LegKind::StarkExRegistration, 0, acct, acct);
    i.amount = Amount::ZERO;
    let p = layer.prepare(&i).await.unwrap();
    assert_eq!(p.needs_signature, None);
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::NotFound);
    layer.send(&p).await.unwrap();
    layer.send(&p).await.unwrap();
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::FinalOnL1);
    assert!(layer.readiness(&acct).await.unwrap().ready);
}

#[tokio::test]
async fn errors_map_to_retryable_or_permanent() {
    let h = Harness::start().await;
    let client = h.client();
    // 4xx: a withdrawal of more than the vault holds... of an asset Alice has no vault of.
    let req = SignableWithdrawalRequest {
        user: h.alice.l1(),
        token: TokenSpec::erc20(&"0x00000000000000000000000000000000000005dc".parse().unwrap()),
        amount: Amount::from_u128(5),
    };
    let err = client.signable_withdrawal(&req).await.unwrap_err();
    assert!(matches!(&err, Error::Api { status: 400, code, .. } if code == "insufficient_balance"));
    assert!(!err.is_retryable());
    // 404 with the API's code.
    let err = client.transfer(999_999).await.unwrap_err();
    assert!(err.is_not_found() && err.code() == Some("resource_not_found"), "{err}");

    // 503 from the operator's fault switch: retryable, through the port too.
    h.world.lock().starkex.set_faults(FaultSwitches { reject_all: true, ..Default::default() });
    let layer = h.layer(&[&h.alice], &[&h.alice]);
    let err = layer.prepare(&transfer_intent(&h)).await.unwrap_err();
    assert!(err.retryable, "{err}");
    h.world.lock().starkex.set_faults(FaultSwitches::default());

    // Nobody listening: retryable.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = StarkExClient::new(&format!("http://{closed}")).unwrap().transfer(1).await;
    let err = err.unwrap_err();
    assert!(matches!(err, Error::Transport(_)) && err.is_retryable(), "{err}");
}

/// An operator API that accepts the connection and never answers: the call fails at the
/// configured timeout as a retryable error naming the StarkEx API, not the URL.
#[tokio::test]
async fn an_api_that_never_answers_times_out_as_a_retryable_error_without_its_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().collect();
        drop(held);
    });
    let timeouts = starkroute_layer::RpcTimeouts {
        connect: std::time::Duration::from_secs(1),
        request: std::time::Duration::from_secs(1),
    };
    let client =
        StarkExClient::with_timeouts(&format!("http://{addr}/?apikey=SECRETKEY"), timeouts)
            .unwrap();
    let err = client.transfer(1).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)) && err.is_retryable(), "{err}");
    let adapter = starkroute_layer::AdapterError::from(err);
    assert!(adapter.retryable);
    assert!(adapter.message.starts_with("StarkEx API unreachable:"), "{}", adapter.message);
    assert!(adapter.message.contains("timed out"), "{}", adapter.message);
    assert!(!adapter.message.contains("SECRETKEY") && !adapter.message.contains("127.0.0.1"));
}

#[tokio::test]
async fn pagination_walks_every_transfer() {
    let h = Harness::start().await;
    let layer = h.layer(&[&h.alice], &[&h.alice]);
    for _ in 0..3 {
        let p = layer.prepare(&transfer_intent(&h)).await.unwrap();
        layer.send(&p).await.unwrap();
    }
    let client = h.client();
    let all = all_pages(10, |cursor| {
        let q = ListQuery { page_size: Some(1), ascending: true, cursor, ..ListQuery::default() };
        let c = client.clone();
        async move { c.list_transfers(&q).await }
    })
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].transaction_id < w[1].transaction_id));
    assert!(all.iter().all(|t| t.token.data.quantity == Amount::from_u128(TENTH)));
    let enc = client.encode_asset(&TokenSpec::eth()).await.unwrap();
    assert_eq!(enc.asset_id, all[0].token.data.id);
}
