//! The supervisor: starts `starkroute worker` processes, kills them with SIGKILL at chosen
//! points of a leg or at random moments, and restarts them.

use std::{
    collections::BTreeMap,
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use parking_lot::Mutex;
use starkroute_layer_http::WORKER_HEADER;

/// The layer service's token in the harness (the workers get it in their environment).
pub(crate) const LAYERS_TOKEN: &str = "crash-harness-layer-token-0123456789abcdef";

/// Where a worker was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Point {
    /// `prepare` answered: the payload exists, the store does not have it yet.
    AfterPrepare,
    /// The payload is stored; `send` never reached the layer.
    BeforeSend,
    /// `send` executed on the layer; the worker never heard back.
    AfterSend,
    /// A `status` call in flight (mid-poll).
    DuringStatus,
    /// Whatever the worker was doing at a random moment.
    Random,
}

impl Point {
    /// The points at a layer call.
    pub const AT_CALLS: [Point; 4] =
        [Point::AfterPrepare, Point::BeforeSend, Point::AfterSend, Point::DuringStatus];
}

struct Slot {
    name: String,
    child: Option<Child>,
    starts: usize,
}

struct Plan {
    rng: u64,
    /// Layer calls until the next call-point kill.
    countdown: u64,
    kills: BTreeMap<Point, usize>,
    killed: usize,
    /// Workers that exited without being killed (a crash of their own).
    unexpected: Vec<String>,
}

/// What the supervisor did.
#[derive(Debug)]
pub struct Report {
    /// Kills by point.
    pub by_point: BTreeMap<Point, usize>,
    /// Kills in all.
    pub killed: usize,
    /// Starts per worker.
    pub starts: Vec<(String, usize)>,
    /// Exits nobody asked for.
    pub unexpected: Vec<String>,
}

/// Starts, kills and restarts the workers.
pub struct Supervisor {
    bin: PathBuf,
    args: Vec<String>,
    logs: PathBuf,
    slots: Mutex<Vec<Slot>>,
    plan: Mutex<Plan>,
    budget: usize,
    stopping: AtomicBool,
}

/// splitmix64: a reproducible stream from the seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Supervisor {
    /// Workers named `names`, each `bin worker <args> --owner NAME`, killed `budget` times in all.
    pub fn new(
        bin: &Path,
        args: Vec<String>,
        names: &[String],
        logs: &Path,
        budget: usize,
        seed: u64,
    ) -> Arc<Self> {
        let slots =
            names.iter().map(|n| Slot { name: n.clone(), child: None, starts: 0 }).collect();
        let mut rng = seed;
        let countdown = 3 + next(&mut rng) % 25;
        Arc::new(Self {
            bin: bin.to_owned(),
            args,
            logs: logs.to_owned(),
            slots: Mutex::new(slots),
            plan: Mutex::new(Plan {
                rng,
                countdown,
                kills: BTreeMap::new(),
                killed: 0,
                unexpected: Vec::new(),
            }),
            budget,
            stopping: AtomicBool::new(false),
        })
    }

    fn spawn(&self, slot: &mut Slot) {
        let log = |ext: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.logs.join(format!("{}.{ext}", slot.name)))
                .unwrap()
        };
        let child = Command::new(&self.bin)
            .env(starkroute_layer_http::TOKEN_ENV, LAYERS_TOKEN)
            .arg("worker")
            .args(&self.args)
            .arg("--owner")
            .arg(&slot.name)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log("out")))
            .stderr(Stdio::from(log("err")))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        slot.child = Some(child);
        slot.starts += 1;
    }

    /// Starts every worker, then restarts any that is not running, until [`stop`](Self::stop).
    pub async fn run(self: Arc<Self>) {
        while !self.stopping.load(Ordering::SeqCst) {
            {
                let mut slots = self.slots.lock();
                for slot in slots.iter_mut() {
                    let exited = match slot.child.as_mut().map(Child::try_wait) {
                        None => true,
                        Some(Ok(Some(status))) => {
                            self.plan.lock().unexpected.push(format!("{}: {status}", slot.name));
                            true
                        }
                        Some(Ok(None)) => false,
                        Some(Err(e)) => panic!("waiting for {}: {e}", slot.name),
                    };
                    if exited && !self.stopping.load(Ordering::SeqCst) {
                        self.spawn(slot);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILLs the worker `name` (if it is running and the budget is not spent) and records
    /// where. The budget is checked here, under the lock that counts the kill: two callers that
    /// each decided on a kill while one was left (a worker's call point and the random killer,
    /// or both workers' call points) cannot both spend it.
    fn kill(&self, name: &str, point: Point) -> bool {
        let mut slots = self.slots.lock();
        let mut plan = self.plan.lock();
        if plan.killed >= self.budget {
            return false;
        }
        let Some(slot) = slots.iter_mut().find(|s| s.name == name) else { return false };
        let Some(mut child) = slot.child.take() else { return false };
        // `Child::kill` is SIGKILL on Unix: no clean-up runs in the worker.
        child.kill().unwrap();
        child.wait().unwrap();
        *plan.kills.entry(point).or_default() += 1;
        plan.killed += 1;
        true
    }

    /// Whether to kill the caller of this layer call, and where; the kill itself, in
    /// [`kill`](Self::kill), spends the budget.
    fn call_point(&self, call: &str) -> Option<Point> {
        let mut plan = self.plan.lock();
        if plan.killed >= self.budget || self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        plan.countdown = plan.countdown.saturating_sub(1);
        if plan.countdown > 0 {
            return None;
        }
        let served: &[Point] = match call {
            "prepare" => &[Point::AfterPrepare],
            "send" => &[Point::BeforeSend, Point::AfterSend],
            "status" => &[Point::DuringStatus],
            _ => &[],
        };
        // Until every point has been hit once, kill only at a point not hit yet: the schedule
        // covers them all whatever the timing.
        let missing: Vec<Point> =
            Point::AT_CALLS.into_iter().filter(|p| !plan.kills.contains_key(p)).collect();
        let candidates: Vec<Point> =
            served.iter().copied().filter(|p| missing.is_empty() || missing.contains(p)).collect();
        if candidates.is_empty() {
            // Not a call we kill at now: try the next one.
            plan.countdown = 1;
            return None;
        }
        let pick = next(&mut plan.rng) as usize % candidates.len();
        plan.countdown = 3 + next(&mut plan.rng) % 25;
        Some(candidates[pick])
    }

    /// Kills a random running worker every so often (100 ms to 1.2 s), until the budget is
    /// spent; half of the budget at most goes to these.
    pub async fn random_kills(self: Arc<Self>) {
        loop {
            let wait = 100 + next(&mut self.plan.lock().rng) % 1_100;
            tokio::time::sleep(Duration::from_millis(wait)).await;
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            let (spent, random, pick) = {
                let mut plan = self.plan.lock();
                let random = plan.kills.get(&Point::Random).copied().unwrap_or_default();
                (plan.killed >= self.budget, random, next(&mut plan.rng))
            };
            if spent {
                return;
            }
            if random >= self.budget / 2 {
                continue;
            }
            let name = {
                let slots = self.slots.lock();
                let running: Vec<&Slot> = slots.iter().filter(|s| s.child.is_some()).collect();
                if running.is_empty() {
                    continue;
                }
                running[(pick % running.len() as u64) as usize].name.clone()
            };
            self.kill(&name, Point::Random);
        }
    }

    /// Kills are done: every one of the budget was spent.
    pub fn kills_done(&self) -> bool {
        self.plan.lock().killed >= self.budget
    }

    /// Stops restarting and kills every worker.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let mut slots = self.slots.lock();
        for slot in slots.iter_mut() {
            if let Some(mut child) = slot.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// What happened.
    pub fn report(&self) -> Report {
        // Slots before plan, the order `kill` and `run` take them in.
        let starts = self.slots.lock().iter().map(|s| (s.name.clone(), s.starts)).collect();
        let plan = self.plan.lock();
        Report {
            by_point: plan.kills.clone(),
            killed: plan.killed,
            starts,
            unexpected: plan.unexpected.clone(),
        }
    }

    /// The workers' stderr, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for slot in self.slots.lock().iter() {
            let err = std::fs::read_to_string(self.logs.join(format!("{}.err", slot.name)))
                .unwrap_or_default();
            let tail: Vec<&str> = err.lines().rev().take(20).collect();
            out.push_str(&format!("--- {} stderr (last lines)\n", slot.name));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

/// The middleware in front of the layer server: kills the calling worker at a leg's points.
pub async fn inject(State(sup): State<Arc<Supervisor>>, req: Request, next: Next) -> Response {
    let worker = req
        .headers()
        .get(WORKER_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let call = req.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
    let dead = || (StatusCode::SERVICE_UNAVAILABLE, "worker killed").into_response();
    match sup.call_point(&call) {
        Some(p @ (Point::BeforeSend | Point::DuringStatus)) => {
            if sup.kill(&worker, p) {
                dead()
            } else {
                next.run(req).await
            }
        }
        Some(p) => {
            let resp = next.run(req).await;
            // The call happened on the layer; its caller dies before it hears of it.
            if sup.kill(&worker, p) {
                dead()
            } else {
                resp
            }
        }
        None => next.run(req).await,
    }
}
