//! The dispatcher (docs/ARCHITECTURE.md §9): wakes on an in-process notify (SQLite), `LISTEN tasks_new`
//! (PostgreSQL) or a 2 s poll; claims a runnable task atomically (the oldest, or with model affinity the
//! oldest whose model is loaded — see `scheduling.rs`), at most one per session and up to `max_parallel`
//! sessions at once; renews the task's lease while it runs and stops the turn when
//! the lease is lost or a cancel is requested; a worker whose lease was lost cannot write the outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boocode_agents::AgentPool;
use boocode_protocol::{FrameBody, MessageStatus, SessionId, Task, TaskId, TaskState};
use boocode_store::{ClaimedTask, LeaseState, MessageFinish, TaskOutcome};
use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::coding::{CodingDeps, run_coding_turn};
use crate::recorder::CancelReason;

const POLL: Duration = Duration::from_secs(2);
const LEASE: Duration = Duration::from_secs(30);
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// The longest pause between recovery ticks (heartbeat, orphaned replies, expired leases).
const RECOVER_EVERY: Duration = Duration::from_secs(15);
/// How long a worker may be silent before it counts as dead, unless configured.
pub const DEFAULT_WORKER_SILENCE_SECS: u64 = 45;

struct Running {
    session: SessionId,
    /// Starts so far, this one included.
    attempts: u32,
    /// Set when a shutdown interrupts it with starts left: it goes back to the queue.
    requeue: Arc<std::sync::atomic::AtomicBool>,
    /// The model it was scheduled for (task, session, project or default).
    model: Option<String>,
    cancel: CancellationToken,
    reason: CancelReason,
}

/// How the dispatcher orders the queue (`boocode.toml`).
#[derive(Debug, Clone)]
pub struct Scheduling {
    /// Prefer tasks whose model is loaded (off: oldest first).
    pub model_affinity: bool,
    /// A task queued longer than this runs regardless of its model.
    pub max_wait: Duration,
    /// Most tasks of one model at once in this process.
    pub per_model_cap: Option<usize>,
    /// A worker not heard from for this long (three missed heartbeats) is dead: its chat replies are
    /// closed by another (`worker_silence_secs`).
    pub worker_silence: Duration,
    /// How many times a task may be started: one interrupted by a shutdown (an upgrade, `systemctl
    /// restart`) is queued again until it has been started this often (`max_task_attempts`).
    pub max_attempts: u32,
}

/// Starts a task gets by default: the first, and two after shutdowns.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

impl Default for Scheduling {
    fn default() -> Self {
        Self {
            model_affinity: true,
            max_wait: Duration::from_secs(120),
            per_model_cap: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            worker_silence: Duration::from_secs(DEFAULT_WORKER_SILENCE_SECS),
        }
    }
}

/// Shared dispatcher handle; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    deps: CodingDeps,
    pool: std::sync::RwLock<Arc<AgentPool>>,
    worker_id: String,
    max_parallel: usize,
    wake: Notify,
    running: Mutex<HashMap<TaskId, Running>>,
    tracker: TaskTracker,
    stop_claiming: CancellationToken,
    scheduling: Scheduling,
}

/// Whether `path` is a git repository on this machine (its work tree with a `.git`).
fn repository_here(path: &str) -> bool {
    let path = std::path::Path::new(path);
    path.is_dir() && path.join(".git").exists()
}

fn lease_until() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::seconds(30))
}

impl Dispatcher {
    /// A dispatcher; `run` starts it.
    pub fn new(
        deps: CodingDeps,
        pool: Arc<AgentPool>,
        max_parallel: usize,
        tracker: TaskTracker,
        scheduling: Scheduling,
    ) -> Self {
        let worker_id = format!(
            "boocode-{}-{}",
            std::process::id(),
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        Self {
            inner: Arc::new(Inner {
                deps,
                pool: std::sync::RwLock::new(pool),
                worker_id,
                max_parallel,
                wake: Notify::new(),
                running: Mutex::default(),
                tracker,
                stop_claiming: CancellationToken::new(),
                scheduling,
            }),
        }
    }

    /// The agent pool tasks resolve against.
    pub fn pool(&self) -> Arc<AgentPool> {
        match self.inner.pool.read() {
            Ok(p) => p.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// Installs a new pool (providers changed); running turns keep their backend.
    pub fn set_pool(&self, pool: AgentPool) {
        if let Ok(mut p) = self.inner.pool.write() {
            *p = Arc::new(pool);
        }
    }

    /// Nudges the claim loop (a task was enqueued or a slot freed).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    fn running_count(&self) -> usize {
        self.inner
            .running
            .lock()
            .map(|r| r.len())
            .unwrap_or(usize::MAX)
    }

    /// Stops a task running here; `false` when it is not running in this process.
    pub fn cancel(&self, id: &TaskId, why: &str) -> bool {
        let Ok(running) = self.inner.running.lock() else {
            return false;
        };
        let Some(r) = running.get(id) else {
            return false;
        };
        if let Ok(mut reason) = r.reason.lock() {
            reason.get_or_insert_with(|| why.to_owned());
        }
        r.cancel.cancel();
        true
    }

    /// Stops every task of a session running here (the session is being deleted).
    pub fn cancel_session(&self, session: &SessionId, why: &str) {
        let ids: Vec<TaskId> = self
            .inner
            .running
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|(_, t)| &t.session == session)
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            self.cancel(&id, why);
        }
    }

    /// Stops claiming; running tasks go on until `cancel_all`.
    pub fn stop_claiming(&self) {
        self.inner.stop_claiming.cancel();
    }

    /// Shutdown: stops every task running here. One with starts left goes back to the queue (its
    /// output so far kept and marked interrupted) and runs again after the restart; the others end
    /// cancelled.
    pub fn interrupt_all_for_shutdown(&self) {
        let cap = self.inner.scheduling.max_attempts;
        let Ok(running) = self.inner.running.lock() else {
            return;
        };
        for r in running.values() {
            let why = if r.attempts < cap {
                r.requeue.store(true, std::sync::atomic::Ordering::Relaxed);
                format!(
                    "interrupted by shutdown (attempt {} of {cap}); it runs again after the restart",
                    r.attempts
                )
            } else {
                format!(
                    "{} (attempt {} of {cap}: not run again)",
                    crate::chat::SHUTDOWN_REASON,
                    r.attempts
                )
            };
            if let Ok(mut reason) = r.reason.lock() {
                reason.get_or_insert(why);
            }
            r.cancel.cancel();
        }
    }

    /// Cancels every task running here, saying why.
    pub fn cancel_all(&self, why: &str) {
        let ids: Vec<TaskId> = self
            .inner
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.cancel(&id, why);
        }
    }

    async fn publish_task(&self, task: Task) {
        let session = task.session_id.clone();
        if let Err(e) = self
            .inner
            .deps
            .broker
            .publish(
                &session,
                FrameBody::TaskUpdated {
                    task: Box::new(task),
                },
            )
            .await
        {
            tracing::warn!(error = %e, "task_updated not published");
        }
    }

    /// This process's worker id (leases, heartbeats, the replies it streams).
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Says this worker is alive, and closes chat replies whose worker stopped saying so (killed) with
    /// a frame for their open tabs. Any worker sweeps for all.
    async fn sweep_orphaned_replies(&self) {
        let store = &self.inner.deps.store;
        if let Err(e) = store.heartbeat(&self.inner.worker_id).await {
            tracing::warn!(error = %e, "worker heartbeat not stored");
        }
        let stale = Utc::now()
            - chrono::Duration::from_std(self.inner.scheduling.worker_silence)
                .unwrap_or_else(|_| chrono::Duration::seconds(45));
        match store
            .interrupt_orphaned_messages(stale, "interrupted: the worker streaming it stopped")
            .await
        {
            Ok(closed) => {
                for m in closed {
                    crate::recorder::publish_interrupted(
                        &self.inner.deps.broker,
                        &m.session_id,
                        &m.id,
                        &m.chat_id,
                        "interrupted: the worker streaming it stopped",
                    )
                    .await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "orphaned replies not swept"),
        }
    }

    /// Fails tasks whose worker died (lease expired before `horizon`) and closes their messages.
    pub async fn recover(&self, horizon: chrono::DateTime<Utc>) {
        self.sweep_orphaned_replies().await;
        let store = &self.inner.deps.store;
        let recovered = match store.recover_expired_tasks(horizon).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "task recovery failed");
                return;
            }
        };
        for task in recovered {
            tracing::info!(task = %task.id, "task interrupted by a dead worker marked failed");
            if let Some(message_id) = &task.message_id
                && let Ok(m) = store.get_message(message_id).await
                && m.status == MessageStatus::Streaming
            {
                let finish = MessageFinish {
                    status: MessageStatus::Error,
                    content: m.content,
                    reasoning: m.reasoning,
                    error: Some("interrupted by restart".into()),
                    usage: None,
                    ttft_ms: None,
                    duration_ms: None,
                    finished_at: Utc::now(),
                };
                match store.finish_message(message_id, &finish).await {
                    Ok(()) => {
                        crate::recorder::publish_interrupted(
                            &self.inner.deps.broker,
                            &task.session_id,
                            message_id,
                            &task.chat_id,
                            "interrupted by restart",
                        )
                        .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "interrupted message not closed"),
                }
            }
            self.publish_task(task).await;
        }
    }

    /// The claim loop; returns when claiming stops.
    pub async fn run(self, mut notices: Option<tokio::sync::mpsc::UnboundedReceiver<()>>) {
        // Three heartbeats per silence window, so one late tick never makes a live worker look dead.
        let tick =
            (self.inner.scheduling.worker_silence / 3).clamp(Duration::from_secs(1), RECOVER_EVERY);
        let mut recover = tokio::time::interval(tick);
        recover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.fill().await;
            let notice = async {
                match notices.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.inner.stop_claiming.cancelled() => return,
                () = self.inner.wake.notified() => {}
                Some(()) = notice => {}
                () = tokio::time::sleep(POLL) => {}
                _ = recover.tick() => self.recover(Utc::now()).await,
            }
        }
    }

    async fn fill(&self) {
        while !self.inner.stop_claiming.is_cancelled()
            && self.running_count() < self.inner.max_parallel
        {
            match self.claim_next().await {
                Ok(Some((claimed, model))) => self.start(claimed, model).await,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a task failed; retrying on the next tick");
                    return;
                }
            }
        }
    }

    /// The next task to run, as the scheduling policy orders the queue; tasks held back for their
    /// model are marked `waiting_for_model` (and framed).
    async fn claim_next(
        &self,
    ) -> Result<Option<(ClaimedTask, Option<String>)>, boocode_store::StoreError> {
        let deps = &self.inner.deps;
        for _ in 0..4 {
            let mut candidates = deps.store.claim_candidates(64).await?;
            if candidates.is_empty() {
                return Ok(None);
            }
            // Only tasks whose repository this worker can reach; the others wait, saying why, for a
            // worker that can (another machine sharing the queue, or this one once the path is back).
            let mut unreachable = Vec::new();
            candidates.retain(|c| {
                let here = repository_here(&c.project_path);
                if !here {
                    unreachable.push((c.id.clone(), c.project_path.clone(), c.note.clone()));
                }
                here
            });
            for (id, path, note) in unreachable {
                // The same words from every worker that cannot, so they do not take turns rewriting it.
                let why = format!("waiting for a worker that can reach {path}");
                if note.as_deref() != Some(why.as_str())
                    && let Ok(Some(task)) = deps.store.set_task_note(&id, &why).await
                {
                    self.publish_task(task).await;
                }
            }
            if candidates.is_empty() {
                return Ok(None);
            }
            let sched = &self.inner.scheduling;
            let loaded = if sched.model_affinity {
                deps.catalog.loaded_models().await
            } else {
                None
            };
            let mut running: HashMap<String, usize> = HashMap::new();
            if let Ok(r) = self.inner.running.lock() {
                for t in r.values() {
                    if let Some(m) = &t.model {
                        *running.entry(m.clone()).or_default() += 1;
                    }
                }
            }
            let policy = crate::scheduling::Policy {
                affinity: sched.model_affinity,
                loaded,
                running,
                per_model_cap: sched.per_model_cap,
                starve_after: chrono::Duration::from_std(sched.max_wait)
                    .unwrap_or_else(|_| chrono::Duration::seconds(120)),
                default_model: deps.default_model.clone(),
            };
            let choice = policy.choose(&candidates, Utc::now());
            for id in &choice.hold {
                if let Ok(Some(task)) = deps.store.set_task_waiting(id, true).await {
                    self.publish_task(task).await;
                }
            }
            let Some(id) = choice.start else {
                return Ok(None);
            };
            let model = candidates
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.model.clone())
                .or_else(|| deps.default_model.clone());
            if let Some(claimed) = deps
                .store
                .claim_task_id(&id, &self.inner.worker_id, lease_until())
                .await?
            {
                return Ok(Some((claimed, model)));
            }
            // Another worker took it first: look again.
        }
        Ok(None)
    }

    async fn start(&self, claimed: ClaimedTask, model: Option<String>) {
        let cancel = CancellationToken::new();
        let reason = CancelReason::default();
        let requeue = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Ok(mut running) = self.inner.running.lock() {
            running.insert(
                claimed.task.id.clone(),
                Running {
                    session: claimed.task.session_id.clone(),
                    attempts: claimed.task.attempts,
                    requeue: requeue.clone(),
                    model,
                    cancel: cancel.clone(),
                    reason: reason.clone(),
                },
            );
        }
        self.publish_task(claimed.task.clone()).await;
        let this = self.clone();
        self.inner.tracker.spawn(async move {
            let id = claimed.task.id.clone();
            let outcome = this.drive(&claimed, cancel, reason).await;
            if outcome.state == TaskState::Cancelled
                && requeue.load(std::sync::atomic::Ordering::Relaxed)
            {
                this.requeue(&claimed, &outcome).await;
                return;
            }
            // Frame and journal the final state before the task is marked finished: the session's next
            // task (perhaps on another worker) can only be claimed after that, so it numbers its frames
            // after these.
            let mut done = claimed.task.clone();
            done.state = outcome.state;
            done.output_summary = outcome.output_summary.clone();
            done.error = outcome.error.clone();
            done.cost_tokens = outcome.cost_tokens;
            done.ended_at = Some(Utc::now());
            if let Ok(Some(message)) = this.inner.deps.store.get_task(&id).await.map(|t| t.message_id) {
                done.message_id = Some(message);
            }
            this.publish_task(done).await;
            this.inner.deps.broker.flush().await;
            let finished = this.inner.deps.store.finish_task(&id, claimed.generation, &outcome).await;
            if let Ok(mut running) = this.inner.running.lock() {
                running.remove(&id);
            }
            match finished {
                Ok(Some(_)) => {}
                Ok(None) => tracing::warn!(task = %id, "lease lost: another worker owns this task; outcome dropped"),
                Err(e) => tracing::error!(task = %id, error = %e, "task outcome not saved"),
            }
            this.wake();
        });
    }

    /// Puts a task a shutdown interrupted back in the queue for the next start.
    async fn requeue(&self, claimed: &ClaimedTask, outcome: &TaskOutcome) {
        let id = &claimed.task.id;
        let note = outcome
            .error
            .clone()
            .unwrap_or_else(|| "interrupted by shutdown".into());
        let requeued = self
            .inner
            .deps
            .store
            .requeue_task(id, claimed.generation, &note)
            .await;
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(id);
        }
        match requeued {
            Ok(Some(task)) => {
                self.publish_task(task).await;
                self.inner.deps.broker.flush().await;
            }
            Ok(None) => tracing::warn!(task = %id, "lease lost: not queued again"),
            Err(e) => tracing::error!(task = %id, error = %e, "task not queued again"),
        }
    }

    /// Runs the turn while renewing the lease; a lost lease or a cancel request stops the turn.
    async fn drive(
        &self,
        claimed: &ClaimedTask,
        cancel: CancellationToken,
        reason: CancelReason,
    ) -> TaskOutcome {
        let task = &claimed.task;
        let backend = match self.pool().resolve(&task.agent) {
            Ok(b) => b,
            Err(e) => {
                return TaskOutcome {
                    state: TaskState::Failed,
                    output_summary: None,
                    error: Some(e.to_string()),
                    cost_tokens: None,
                };
            }
        };
        let turn = run_coding_turn(
            &self.inner.deps,
            claimed,
            backend,
            cancel.clone(),
            reason.clone(),
        );
        tokio::pin!(turn);
        let mut renew =
            tokio::time::interval_at(tokio::time::Instant::now() + RENEW_EVERY, RENEW_EVERY);
        loop {
            tokio::select! {
                outcome = &mut turn => return outcome,
                _ = renew.tick() => {
                    let why = match self.inner.deps.store.renew_lease(&task.id, claimed.generation, lease_until()).await {
                        Ok(LeaseState::Held { cancel_requested: false }) => None,
                        Ok(LeaseState::Held { cancel_requested: true }) => Some("cancelled by the user"),
                        Ok(LeaseState::Lost) => Some("lease lost to another worker"),
                        Err(e) => {
                            tracing::warn!(error = %e, "lease renewal failed; retrying");
                            None
                        }
                    };
                    if let Some(why) = why {
                        if let Ok(mut r) = reason.lock() {
                            r.get_or_insert_with(|| why.to_owned());
                        }
                        cancel.cancel();
                    }
                }
            }
        }
    }
}
