//! Requests that arrive while a tick posts a batch.

use std::sync::Arc;
use std::time::Duration;

use super::*;

/// A tick holds the engine while its port posts the batch, and the post waits for a task of the
/// runtime (as the devstack's port waits for its transaction, whose HTTP connection is a task).
/// A request that arrives meanwhile waits for the engine on its worker thread. If that task sits
/// in the worker's own queue (spawned from it just before, as a woken connection task can be),
/// no other worker may take it: the post and the request would wait for each other for ever —
/// what hung the official client's test on anvil in CI. Here the request's wait hands the
/// worker's queue to another thread, the task runs, the batch is posted and the request answers.
#[test]
fn a_request_during_a_batch_post_does_not_stall_the_post() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // A task on a worker, as a request's handler is.
        let posted = rt.block_on(rt.spawn(async {
            let (host, app, eth) = setup();
            let alice = Party::new(0xa1);
            register(&app, &alice).await;
            host.lock().1.deposit(alice.stark.public_key(), eth, vid(7), 1_000);
            let gate = Arc::new(tokio::sync::Notify::new());
            host.lock().1.post_gate = Some((tokio::runtime::Handle::current(), gate.clone()));
            let ticking = host.clone();
            let tick = tokio::task::spawn_blocking(move || ticking.tick(NOW + 60));
            // Until the tick holds the engine (its post is under way).
            while host.inner.try_lock().is_some() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // The task the post needs, queued on this worker; then a request.
            tokio::spawn(async move { gate.notify_one() });
            let uri = format!("/v2/balances/{}", alice.eth());
            let (s, b) = call(&app, "GET", &uri, None, &[]).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            tick.await.unwrap().batch_posted
        }));
        let _ = done.send(posted.unwrap());
    });
    let posted = match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(posted) => posted,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the batch post and the request waited for each other for 60 s")
        }
        Err(e) => panic!("the test's runtime thread failed: {e}"),
    };
    assert_eq!(posted, Some(1), "the tick posted the deposit's batch");
}
