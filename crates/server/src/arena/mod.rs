//! Arenas (docs/ARCHITECTURE.md §8): one input raced by 2–6 contenders, each an ordinary task in its own session
//! whose worktree starts from the same base commit, so their diffs compare like for like. A runner per
//! arena follows the lanes, runs the optional check command in each worktree once its turn is over
//! (killed at its timeout), and frames every change (`arena_updated` in each lane's session). Picking a
//! contender accepts its change through the normal review path (a conflict is a 409 and changes
//! nothing) and closes the other lanes; deleting the arena deletes every lane but the picked one.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use boocode_protocol::{
    Arena, ArenaId, ArenaStatus, ChangeStatus, CheckResult, CheckStatus, Contender,
    CreateArenaRequest, CreateTaskRequest, FrameBody, OpenStatus, Session, SessionId, TaskState,
    UpdateSessionRequest,
};
use boocode_store::{ArenaRow, ContenderRow, SessionWorktree};
use chrono::Utc;

mod check;
mod leaderboard;
pub use check::run_check;
pub use leaderboard::leaderboard;

use crate::app::AppState;

/// Why an arena could not be started, picked or deleted.
#[derive(Debug, thiserror::Error)]
pub enum ArenaError {
    /// The request is wrong (contender count, empty input, unknown agent, no contender N…).
    #[error("{0}")]
    Invalid(String),
    /// Not now: already picked, the contender is not done or has no change.
    #[error("{0}")]
    Conflict(String),
    /// A contender's worktree could not be made.
    #[error("{0}")]
    Workspace(String),
    #[error(transparent)]
    Task(#[from] crate::tasks::TaskError),
    #[error(transparent)]
    Change(#[from] crate::changes::ChangeError),
    #[error(transparent)]
    Session(#[from] crate::sessions::SessionError),
    #[error(transparent)]
    Store(#[from] boocode_store::StoreError),
}

impl From<ArenaError> for crate::error::ApiError {
    fn from(e: ArenaError) -> Self {
        match e {
            ArenaError::Invalid(m) => Self::bad_request(m),
            ArenaError::Conflict(m) => Self::conflict(m),
            ArenaError::Workspace(m) => Self::internal(m),
            ArenaError::Task(e) => e.into(),
            ArenaError::Change(e) => e.into(),
            ArenaError::Session(e) => e.into(),
            ArenaError::Store(e) => e.into(),
        }
    }
}

/// How many contenders an arena takes.
pub const CONTENDERS: std::ops::RangeInclusive<usize> = 2..=6;
const DEFAULT_CHECK_TIMEOUT_SECS: u64 = 300;
/// How much of a check's output is kept (its end, where the verdict is).
const OUTPUT_TAIL_BYTES: usize = 4000;
const POLL: Duration = Duration::from_millis(250);

/// Validates and starts an arena: a session, worktree and task per contender.
pub async fn create_arena(state: &AppState, req: CreateArenaRequest) -> Result<Arena, ArenaError> {
    if !CONTENDERS.contains(&req.contenders.len()) {
        return Err(ArenaError::Invalid(format!(
            "an arena takes {} to {} contenders, not {}",
            CONTENDERS.start(),
            CONTENDERS.end(),
            req.contenders.len()
        )));
    }
    if req.input.trim().is_empty() {
        return Err(ArenaError::Invalid("input must not be empty".into()));
    }
    let check = match req.check.as_deref().map(str::trim) {
        Some("") => {
            return Err(ArenaError::Invalid(
                "check must not be empty when given".into(),
            ));
        }
        other => other.map(str::to_owned),
    };
    for c in &req.contenders {
        state
            .dispatcher
            .pool()
            .resolve(&c.agent)
            .map_err(|e| ArenaError::Invalid(e.to_string()))?;
    }
    check_models(state, &req).await?;
    let project = state.store.get_project(&req.project_id).await?;
    let repo = Path::new(&project.path);
    let base = boocode_workspace::project_head(repo).await.map_err(|e| {
        ArenaError::Invalid(format!("the project has no commit to start from: {e}"))
    })?;
    let id = ArenaId::new();
    let mut lanes = Vec::new();
    let mut made: Vec<SessionId> = Vec::new();
    let total = req.contenders.len();
    // Lanes are queued grouped by model (their indices stay as given), so on one GPU behind a model
    // swapper the dispatcher's model affinity runs each model's lanes back to back instead of thrashing.
    let mut order: Vec<(usize, &boocode_protocol::ContenderSpec)> =
        req.contenders.iter().enumerate().collect();
    order.sort_by(|a, b| a.1.model.cmp(&b.1.model));
    for (index, c) in order {
        let lane = async {
            let label = match &c.model {
                Some(m) => format!("{} · {m}", c.agent),
                None => c.agent.clone(),
            };
            let session = Session {
                id: SessionId::new(),
                project_id: project.id.clone(),
                name: format!("Arena {}/{total}: {label}", index + 1),
                model: c.model.clone(),
                status: OpenStatus::Open,
                created_at: Utc::now(),
                last_seq: 0,
            };
            state.store.insert_session(&session).await?;
            made.push(session.id.clone());
            let wt = boocode_workspace::create_worktree_at(
                repo,
                &state.worktrees_dir,
                session.id.as_str(),
                Some(&base),
            )
            .await
            .map_err(|e| ArenaError::Workspace(format!("creating a contender's worktree: {e}")))?;
            state
                .store
                .insert_worktree(&SessionWorktree {
                    session_id: session.id.clone(),
                    worktree_path: wt.path.to_string_lossy().into_owned(),
                    branch: wt.branch,
                    base_commit: wt.base_commit,
                    created_at: Utc::now(),
                })
                .await?;
            let task = state
                .tasks
                .create(CreateTaskRequest {
                    project_id: project.id.clone(),
                    session_id: Some(session.id.clone()),
                    chat_id: None,
                    input: req.input.clone(),
                    agent: c.agent.clone(),
                    model: c.model.clone(),
                    mode_id: c.mode_id.clone(),
                    thinking_option_id: None,
                    feature_values: None,
                })
                .await?;
            Ok::<_, ArenaError>(ContenderRow {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                agent: c.agent.clone(),
                model: c.model.clone(),
                mode_id: c.mode_id.clone(),
                session_id: session.id,
                task_id: task.id,
                check: None,
            })
        }
        .await;
        match lane {
            Ok(l) => lanes.push(l),
            Err(e) => {
                // Leave nothing half made behind.
                for s in &made {
                    let _ = state.sessions.delete_session(s).await;
                }
                return Err(e);
            }
        }
    }
    let row = ArenaRow {
        id: id.clone(),
        project_id: project.id,
        input: req.input,
        check_command: check,
        check_timeout_secs: req
            .check_timeout_secs
            .unwrap_or(DEFAULT_CHECK_TIMEOUT_SECS)
            .max(1),
        base_commit: base,
        status: ArenaStatus::Running,
        picked: None,
        picked_change: None,
        created_at: Utc::now(),
    };
    lanes.sort_by_key(|l| l.index);
    state.store.insert_arena(&row, &lanes).await?;
    spawn_runner(state.clone(), id.clone());
    let arena = view(state, &id).await?;
    publish(state, &arena).await;
    Ok(arena)
}

/// Refuses a native contender whose model the model server does not list (when it answers at all;
/// external agents name models of their own, checked when they start).
async fn check_models(state: &AppState, req: &CreateArenaRequest) -> Result<(), ArenaError> {
    let native: Vec<&str> = req
        .contenders
        .iter()
        .filter(|c| c.agent == "native")
        .filter_map(|c| c.model.as_deref())
        .collect();
    if native.is_empty() {
        return Ok(());
    }
    let Ok(models) = state.catalog.list().await else {
        return Ok(());
    };
    for m in native {
        if !models.iter().any(|known| known.id == m) {
            let names: Vec<&str> = models.iter().map(|k| k.id.as_str()).collect();
            return Err(ArenaError::Invalid(format!(
                "the model server has no model {m:?} (it lists {})",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Completion tokens per second after the first token, when the reply recorded both.
fn speed(m: &boocode_protocol::Message) -> Option<f64> {
    let tokens = m.tokens_completion? as f64;
    let ms = m.duration_ms?.saturating_sub(m.ttft_ms.unwrap_or(0));
    (ms > 0 && tokens > 0.0).then(|| tokens * 1000.0 / ms as f64)
}

/// A project's arenas, newest first.
pub async fn list(
    state: &AppState,
    project: &boocode_protocol::ProjectId,
) -> Result<Vec<Arena>, ArenaError> {
    state.store.get_project(project).await?;
    let mut out = Vec::new();
    for id in state.store.list_project_arenas(project, 100).await? {
        match view(state, &id).await {
            Ok(a) => out.push(a),
            Err(e) => tracing::debug!("arena {id} skipped: {e}"),
        }
    }
    Ok(out)
}

/// The arena as it stands: each lane's task state, time, usage, change (with its diff) and check.
pub async fn view(state: &AppState, id: &ArenaId) -> Result<Arena, ArenaError> {
    let (row, lanes) = state.store.get_arena(id).await?;
    Ok(assemble(state, row, lanes).await)
}

/// The arena from its stored rows plus each lane's task and change.
async fn assemble(state: &AppState, row: ArenaRow, lanes: Vec<ContenderRow>) -> Arena {
    let mut contenders = Vec::new();
    for lane in lanes {
        let task = state.store.get_task(&lane.task_id).await.ok();
        let change = match task {
            Some(_) => state
                .store
                .list_changes(&lane.session_id, None)
                .await
                .ok()
                .and_then(|c| c.into_iter().next()),
            None => None,
        };
        let duration_ms = task.as_ref().and_then(|t| {
            let ms = (t.ended_at? - t.started_at?).num_milliseconds();
            u64::try_from(ms).ok()
        });
        let reply = match task.as_ref().and_then(|t| t.message_id.clone()) {
            Some(id) => state.store.get_message(&id).await.ok(),
            None => None,
        };
        let (ttft_ms, tokens_per_second) = reply
            .as_ref()
            .map_or((None, None), |m| (m.ttft_ms, speed(m)));
        contenders.push(Contender {
            index: lane.index,
            agent: lane.agent,
            model: lane.model,
            mode_id: lane.mode_id,
            session_id: lane.session_id,
            task_id: lane.task_id,
            state: task.as_ref().map_or(TaskState::Failed, |t| t.state),
            error: match &task {
                Some(t) => t.error.clone(),
                None => Some("the contender's session was deleted".into()),
            },
            duration_ms,
            tokens: task.as_ref().and_then(|t| t.cost_tokens),
            ttft_ms,
            tokens_per_second,
            change,
            check: lane.check,
        });
    }
    Arena {
        id: row.id,
        project_id: row.project_id,
        input: row.input,
        check: row.check_command,
        base_commit: row.base_commit,
        status: row.status,
        picked: row.picked,
        picked_change: row.picked_change,
        created_at: row.created_at,
        contenders,
    }
}

/// Accepts contender `index`'s change into the project and closes the other lanes.
pub async fn pick(state: &AppState, id: &ArenaId, index: u32) -> Result<Arena, ArenaError> {
    let arena = view(state, id).await?;
    if let Some(picked) = arena.picked {
        return Err(ArenaError::Conflict(format!(
            "this arena already picked contender {picked}"
        )));
    }
    let lane = arena
        .contenders
        .iter()
        .find(|c| c.index == index)
        .ok_or_else(|| {
            ArenaError::Invalid(format!(
                "no contender {index} (this arena has 0 to {})",
                arena.contenders.len().saturating_sub(1)
            ))
        })?;
    if lane.state != TaskState::Completed {
        return Err(ArenaError::Conflict(format!(
            "contender {index} has not completed (it is {})",
            lane.state.as_str()
        )));
    }
    let change = lane
        .change
        .as_ref()
        .filter(|c| c.status == ChangeStatus::Pending)
        .ok_or_else(|| ArenaError::Conflict(format!("contender {index} has no pending change")))?;
    state.changes.accept_lane(&change.id).await?;
    state
        .store
        .set_arena_status(id, ArenaStatus::Picked, Some((index, change.id.clone())))
        .await?;
    for other in arena.contenders.iter().filter(|c| c.index != index) {
        state
            .dispatcher
            .cancel_session(&other.session_id, "another contender was picked");
        // Only the picked lane can be accepted: the others' changes are closed as rejected.
        if let Some(c) = other
            .change
            .as_ref()
            .filter(|c| c.status == ChangeStatus::Pending)
            && let Err(e) = state
                .changes
                .reject(&c.id, boocode_protocol::RejectChangeRequest::default())
                .await
        {
            tracing::debug!("closing a losing lane's change: {e}");
        }
        let closed = UpdateSessionRequest {
            status: Some(OpenStatus::Closed),
            ..UpdateSessionRequest::default()
        };
        if let Err(e) = state.store.update_session(&other.session_id, &closed).await {
            tracing::debug!("closing a contender's session: {e}");
        }
    }
    let arena = view(state, id).await?;
    publish(state, &arena).await;
    Ok(arena)
}

/// Deletes the arena and every lane's session and worktree, except the picked one.
pub async fn delete(state: &AppState, id: &ArenaId) -> Result<(), ArenaError> {
    let (row, lanes) = state.store.get_arena(id).await?;
    for lane in lanes.iter().filter(|l| Some(l.index) != row.picked) {
        match state.sessions.delete_session(&lane.session_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    state.store.delete_arena(id).await?;
    Ok(())
}

/// Frames the arena into each lane's session.
async fn publish(state: &AppState, arena: &Arena) {
    for c in &arena.contenders {
        let body = FrameBody::ArenaUpdated {
            arena: arena.clone(),
        };
        if let Err(e) = state.broker.publish(&c.session_id, body).await {
            tracing::debug!("arena_updated not published: {e}");
        }
    }
}

/// Resumes the runners of arenas still racing (after a restart).
pub async fn resume_runners(state: &AppState) {
    match state.store.list_running_arenas().await {
        Ok(ids) => ids
            .into_iter()
            .for_each(|id| spawn_runner(state.clone(), id)),
        Err(e) => tracing::warn!("arenas not resumed: {e}"),
    }
}

/// Follows an arena until every lane finished its turn and its check.
pub fn spawn_runner(state: AppState, id: ArenaId) {
    tokio::spawn(async move {
        let mut seen: HashMap<u32, TaskState> = HashMap::new();
        let mut checking: HashSet<u32> = HashSet::new();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(u32, CheckResult)>();
        loop {
            let (row, lanes) = match state.store.get_arena(&id).await {
                Ok(r) if r.0.status == ArenaStatus::Running => r,
                _ => return,
            };
            let check_timeout = Duration::from_secs(row.check_timeout_secs);
            let mut changed = false;
            let mut over = true;
            // Only the lanes' task states are read while racing; the full view (with diffs) is
            // assembled when there is something to frame.
            for c in &lanes {
                let task_state = match state.store.get_task(&c.task_id).await {
                    Ok(t) => t.state,
                    Err(_) => TaskState::Failed,
                };
                if seen.insert(c.index, task_state) != Some(task_state) {
                    changed = true;
                }
                if !task_state.is_final() {
                    over = false;
                    continue;
                }
                let Some(command) = &row.check_command else {
                    continue;
                };
                if c.check.is_some() {
                    continue;
                }
                over = false;
                if checking.insert(c.index) {
                    let worktree = state.store.get_worktree(&c.session_id).await.ok().flatten();
                    let (command, tx, index) = (command.clone(), done_tx.clone(), c.index);
                    let timeout = check_timeout;
                    tokio::spawn(async move {
                        let result = match worktree {
                            Some(w) => {
                                run_check(&command, Path::new(&w.worktree_path), timeout).await
                            }
                            None => CheckResult {
                                status: CheckStatus::Error,
                                exit_code: None,
                                output_tail: "the contender has no worktree".into(),
                                duration_ms: 0,
                            },
                        };
                        let _ = tx.send((index, result));
                    });
                }
            }
            while let Ok((index, result)) = done_rx.try_recv() {
                if let Err(e) = state.store.set_contender_check(&id, index, &result).await {
                    tracing::warn!("check result not stored: {e}");
                }
                changed = true;
            }
            if over {
                if let Err(e) = state
                    .store
                    .set_arena_status(&id, ArenaStatus::Finished, None)
                    .await
                {
                    tracing::warn!("arena not marked finished: {e}");
                }
                changed = true;
            }
            if changed && let Ok(arena) = view(&state, &id).await {
                publish(&state, &arena).await;
            }
            if over {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = state.shutdown.cancelled() => return,
            }
        }
    });
}
