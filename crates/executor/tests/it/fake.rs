//! An in-test settlement layer: records every call, lands payloads idempotently, and can be told
//! to fail (retryably or not), lose a send, need a signature, or hang in `send` (to kill the
//! executor there). A port double for the driver's logic; the real adapters are tested elsewhere.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, SettlementLayer, SignatureRequest,
    SignatureScheme,
};
use starkroute_types::{Account, Amount, Asset, Layer, LegKind};

/// Where `send` hangs forever (the test then aborts the executor's task: a kill at that point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hang {
    /// Before the payload reaches the layer.
    BeforeSend,
    /// After the layer took it, before `send` returns.
    AfterSend,
}

#[derive(Default)]
pub struct Script {
    pub fail_prepare: VecDeque<AdapterError>,
    pub fail_send: VecDeque<AdapterError>,
    pub fail_status: VecDeque<AdapterError>,
    /// The next N sends return Ok but never land.
    pub lose_sends: u32,
    /// Kinds whose payload needs a user's signature.
    pub signature_for: HashSet<LegKind>,
    /// Status calls after landing until final: 1 → final at once; 3 → pending, accepted, final.
    pub steps_to_final: u32,
    /// Kinds that fail on the layer (status) instead of becoming final.
    pub fails_on_layer: HashMap<LegKind, (String, bool)>,
    /// The next send hangs there.
    pub hang: Option<Hang>,
    /// Kinds whose landed payloads stay pending (an operator that does not serve them).
    pub pending_forever: HashSet<LegKind>,
}

#[derive(Default)]
struct State {
    nonce: u64,
    script: Script,
    /// Every call, in order: (call, hash or route/leg).
    log: Vec<(String, String)>,
    /// Payloads built per (route, leg).
    prepares: HashMap<(String, u16), u32>,
    /// Send calls per hash, including repeats.
    send_calls: HashMap<String, u32>,
    /// Payloads that landed (executed once each, whatever the repeats) and status calls since.
    landed: HashMap<String, u32>,
    /// Payload hashes landed per (route, leg): more than one would be a double execution.
    executions: HashMap<(String, u16), Vec<String>>,
    in_flight: HashSet<String>,
    overlaps: u32,
    hung: u32,
}

pub struct FakeLayer {
    layer: Layer,
    state: Mutex<State>,
    /// Each call takes this long (to widen race windows).
    pub delay: Duration,
}

fn route_leg(p: &Prepared) -> (String, u16) {
    let route = p.payload["route"].as_str().unwrap_or_default().to_owned();
    let leg = p.payload["leg"].as_u64().unwrap_or_default() as u16;
    (route, leg)
}

impl FakeLayer {
    pub fn new(layer: Layer) -> Self {
        let state =
            State { script: Script { steps_to_final: 1, ..Script::default() }, ..State::default() };
        Self { layer, state: Mutex::new(state), delay: Duration::ZERO }
    }

    pub fn script(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.state.lock().unwrap().script);
    }

    pub fn prepares(&self, route: &str, leg: u16) -> u32 {
        self.state.lock().unwrap().prepares.get(&(route.to_owned(), leg)).copied().unwrap_or(0)
    }

    pub fn send_calls(&self, hash: &str) -> u32 {
        self.state.lock().unwrap().send_calls.get(hash).copied().unwrap_or(0)
    }

    pub fn executions(&self, route: &str, leg: u16) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .executions
            .get(&(route.to_owned(), leg))
            .cloned()
            .unwrap_or_default()
    }

    pub fn log(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn overlaps(&self) -> u32 {
        self.state.lock().unwrap().overlaps
    }

    pub fn hung(&self) -> u32 {
        self.state.lock().unwrap().hung
    }

    /// Marks a call on a route as in flight; counts an overlap if one already was.
    fn enter(&self, route: &str) {
        let mut s = self.state.lock().unwrap();
        if !s.in_flight.insert(route.to_owned()) {
            s.overlaps += 1;
        }
    }

    fn leave(&self, route: &str) {
        self.state.lock().unwrap().in_flight.remove(route);
    }

    async fn pause(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

#[async_trait]
impl SettlementLayer for FakeLayer {
    fn layer(&self) -> Layer {
        self.layer
    }

    async fn balance(&self, _: &Account, _: &Asset) -> starkroute_layer::Result<Amount> {
        Ok(Amount::ZERO)
    }

    async fn readiness(&self, account: &Account) -> starkroute_layer::Result<Readiness> {
        Ok(Readiness { account: *account, ready: true, missing: None })
    }

    async fn prepare(&self, intent: &LegIntent) -> starkroute_layer::Result<Prepared> {
        let route = intent.route_id.to_string();
        self.enter(&route);
        self.pause().await;
        let out = {
            let mut s = self.state.lock().unwrap();
            s.log.push(("prepare".into(), format!("{}/{}", intent.route_id, intent.leg_index)));
            match s.script.fail_prepare.pop_front() {
                Some(e) => Err(e),
                None => {
                    let key = (route.clone(), intent.leg_index);
                    *s.prepares.entry(key).or_default() += 1;
                    s.nonce += 1;
                    let nonce = s.nonce;
                    let hash =
                        format!("0x{:x}{:04x}{nonce:06x}", self.layer as u8, intent.leg_index);
                    let needs_signature =
                        s.script.signature_for.contains(&intent.kind).then(|| SignatureRequest {
                            scheme: SignatureScheme::Stark,
                            signer: intent.from.holder,
                            hash: hash.clone(),
                        });
                    Ok(Prepared {
                        layer: self.layer,
                        kind: intent.kind,
                        payload: json!({
                            "route": intent.route_id,
                            "leg": intent.leg_index,
                            "previous": intent.previous,
                            "amount": intent.amount,
                        }),
                        hash,
                        nonce: Some(nonce),
                        needs_signature,
                    })
                }
            }
        };
        self.leave(&route);
        out
    }

    async fn attach_signature(
        &self,
        prepared: &Prepared,
        signature: &str,
    ) -> starkroute_layer::Result<Prepared> {
        if prepared.needs_signature.is_none() {
            return Err(AdapterError::permanent("nothing to sign"));
        }
        if signature != format!("sig:{}", prepared.hash) {
            return Err(AdapterError::permanent("signature does not match the payload hash"));
        }
        let mut signed = prepared.clone();
        signed.needs_signature = None;
        signed.payload["signature"] = json!(signature);
        Ok(signed)
    }

    async fn send(&self, prepared: &Prepared) -> starkroute_layer::Result<()> {
        let (route, leg) = route_leg(prepared);
        self.enter(&route);
        self.pause().await;
        let outcome: Result<Option<Hang>, AdapterError> = {
            let mut s = self.state.lock().unwrap();
            let hang = s.script.hang.take();
            if hang == Some(Hang::BeforeSend) {
                s.hung += 1;
                Ok(hang)
            } else {
                s.log.push(("send".into(), prepared.hash.clone()));
                if prepared.needs_signature.is_some() {
                    Err(AdapterError::permanent("unsigned payload"))
                } else if let Some(e) = s.script.fail_send.pop_front() {
                    Err(e)
                } else {
                    *s.send_calls.entry(prepared.hash.clone()).or_default() += 1;
                    if s.script.lose_sends > 0 {
                        s.script.lose_sends -= 1;
                    } else if !s.landed.contains_key(&prepared.hash) {
                        s.landed.insert(prepared.hash.clone(), 0);
                        s.executions
                            .entry((route.clone(), leg))
                            .or_default()
                            .push(prepared.hash.clone());
                    }
                    if hang.is_some() {
                        s.hung += 1;
                    }
                    Ok(hang)
                }
            }
        };
        self.leave(&route);
        match outcome {
            Ok(Some(_)) => std::future::pending().await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn status(&self, prepared: &Prepared) -> starkroute_layer::Result<LegProgress> {
        let (route, _) = route_leg(prepared);
        self.enter(&route);
        self.pause().await;
        let out = {
            let mut s = self.state.lock().unwrap();
            s.log.push(("status".into(), prepared.hash.clone()));
            if let Some(e) = s.script.fail_status.pop_front() {
                Err(e)
            } else {
                let steps = s.script.steps_to_final.max(1);
                let failure = s.script.fails_on_layer.get(&prepared.kind).cloned();
                let stuck = s.script.pending_forever.contains(&prepared.kind);
                match s.landed.get_mut(&prepared.hash) {
                    None => Ok(LegProgress::NotFound),
                    Some(n) => {
                        *n += 1;
                        Ok(match (*n, failure) {
                            (_, Some((reason, retryable))) => {
                                LegProgress::Failed { reason, retryable }
                            }
                            (_, None) if stuck => LegProgress::Pending,
                            (n, None) if n >= steps => LegProgress::FinalOnL1,
                            (1, None) => LegProgress::Pending,
                            _ => LegProgress::AcceptedOnL2,
                        })
                    }
                }
            }
        };
        self.leave(&route);
        out
    }
}
