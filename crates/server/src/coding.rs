//! One coding turn (docs/ARCHITECTURE.md §8): the session's worktree (created on first use), the turn itself through
//! the turn recorder with the write tools on, then everything the turn changed committed and offered as a
//! pending change that supersedes the previous one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use boocode_agents::tools::ToolAccess;
use boocode_agents::{AgentBackend, TurnInput};
use boocode_llm::ChatMessage;
use boocode_protocol::{ChangeId, FrameBody, MessageStatus, Project, Role, Session, TaskState};
use boocode_store::{ClaimedTask, NewChange, SessionWorktree, Store, TaskOutcome};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::models::ModelCatalog;
use crate::recorder::{CancelReason, TurnRun, TurnTarget, publish_user_message, record_turn};

const SYSTEM_PROMPT: &str = "You are boocode's coding agent. You work in a git worktree of the user's \
project; every path is relative to its root. Use the tools to read the code before changing it, change \
only what the task needs, and prefer edit_file for small changes. When you are done, reply with a short \
summary of what you changed and why.";

/// What a coding turn needs from the server.
#[derive(Clone)]
pub struct CodingDeps {
    pub store: Arc<dyn Store>,
    pub broker: Broker,
    pub catalog: ModelCatalog,
    pub default_model: Option<String>,
    pub worktrees_dir: PathBuf,
    pub max_steps: usize,
    pub permissions: crate::permissions::PermissionRelay,
    pub skills: crate::skills::Skills,
    pub mcp: McpAccess,
}

/// What agents need to call boocode's MCP server back.
#[derive(Clone)]
pub struct McpAccess {
    /// The loopback URL of `/mcp`.
    pub url: String,
    /// Per-session tokens: the only credential an agent is given. The request guard admits `/mcp` with
    /// one, so the master token never leaves boocode.
    pub tokens: crate::mcp::McpTokens,
    /// The `boocode` executable for the stdio bridge, when there is one.
    pub bridge: Option<PathBuf>,
}

impl McpAccess {
    /// The endpoint a session's agent is given: its session token names it as the caller.
    pub fn endpoint(&self, session: &boocode_protocol::SessionId) -> boocode_agents::McpEndpoint {
        let token = self.tokens.token_for(session);
        let headers = vec![(crate::mcp::SESSION_HEADER.to_owned(), token.clone())];
        let stdio = self.bridge.as_ref().map(|exe| {
            let env = vec![(
                crate::mcp_bridge::SESSION_TOKEN_ENV.to_owned(),
                token.clone(),
            )];
            boocode_agents::StdioBridge {
                command: exe.display().to_string(),
                args: vec!["mcp".into(), "--url".into(), self.url.clone()],
                env,
            }
        });
        boocode_agents::McpEndpoint {
            url: self.url.clone(),
            headers,
            stdio,
        }
    }
}

/// A task's lease as the fence of its turn's side effects: this worker owns the turn while the task is
/// running under the generation it claimed.
struct LeaseFence {
    store: Arc<dyn Store>,
    task: boocode_protocol::TaskId,
    generation: u64,
}

#[async_trait::async_trait]
impl boocode_agents::TurnFence for LeaseFence {
    async fn still_owner(&self) -> bool {
        match self.store.lease_held(&self.task, self.generation).await {
            Ok(held) => held,
            // A store that cannot answer is not a takeover: the write goes on, finish_task stays fenced.
            Err(e) => {
                tracing::warn!(task = %self.task, error = %e, "lease check failed");
                true
            }
        }
    }
}

fn failed(reason: impl Into<String>) -> TaskOutcome {
    TaskOutcome {
        state: TaskState::Failed,
        output_summary: None,
        error: Some(reason.into()),
        cost_tokens: None,
    }
}

/// The session's worktree, created from the project's HEAD on first use.
pub async fn ensure_worktree(
    store: &dyn Store,
    worktrees_dir: &Path,
    session: &Session,
    project: &Project,
) -> Result<SessionWorktree, String> {
    if let Some(existing) = store
        .get_worktree(&session.id)
        .await
        .map_err(|e| e.to_string())?
    {
        if Path::new(&existing.worktree_path).exists() {
            return Ok(existing);
        }
        return Err(format!(
            "the session's worktree {} is gone; start a new session",
            existing.worktree_path
        ));
    }
    let created = boocode_workspace::create_worktree(
        Path::new(&project.path),
        worktrees_dir,
        session.id.as_str(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let row = SessionWorktree {
        session_id: session.id.clone(),
        worktree_path: created.path.to_string_lossy().into_owned(),
        branch: created.branch,
        base_commit: created.base_commit,
        created_at: Utc::now(),
    };
    store
        .insert_worktree(&row)
        .await
        .map_err(|e| e.to_string())?;
    Ok(row)
}

/// A message's text as the model sees it: user messages with `/skill` expanded.
pub fn expand_user(skills: &crate::skills::Skills, m: &boocode_protocol::Message) -> String {
    if m.role == boocode_protocol::Role::User {
        skills.expand(&m.content)
    } else {
        m.content.clone()
    }
}

/// Runs a claimed task's turn and records its change; returns the task's outcome.
pub async fn run_coding_turn(
    deps: &CodingDeps,
    claimed: &ClaimedTask,
    backend: Arc<dyn AgentBackend>,
    cancel: CancellationToken,
    reason: CancelReason,
) -> TaskOutcome {
    let task = &claimed.task;
    let store = deps.store.as_ref();
    let (session, project) = match (
        store.get_session(&task.session_id).await,
        store.get_project(&task.project_id).await,
    ) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(e), _) | (_, Err(e)) => return failed(e.to_string()),
    };
    if !Path::new(&project.path).is_dir() {
        return failed(format!(
            "the project directory {} no longer exists",
            project.path
        ));
    }
    let worktree = match ensure_worktree(store, &deps.worktrees_dir, &session, &project).await {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    let chosen = task
        .model
        .clone()
        .or(session.model.clone())
        .or(project.default_model.clone());
    let chosen = match chosen {
        Some(m) => Some(m),
        None => crate::models::global_default_model(store, deps.default_model.as_ref()).await,
    };
    let model = match chosen {
        Some(m) => m,
        None => match deps.catalog.fallback_model().await {
            Some(m) => m,
            None => return failed("no model chosen and the model server lists none"),
        },
    };
    let leaf = match store.get_chat(&task.chat_id).await {
        Ok(chat) => chat.active_leaf_id,
        Err(e) => return failed(e.to_string()),
    };
    let all = store.list_messages(&task.chat_id).await.unwrap_or_default();
    let history = crate::chat_tree::active_path(&all, leaf.as_ref());
    let (user, mut assistant) = crate::recorder::new_exchange(
        &session.id,
        &task.chat_id,
        leaf,
        task.input.clone(),
        &model,
        &task.agent,
    );
    // A task run again after a shutdown already has its input in the chat: only a new reply is added,
    // answering that same message.
    let asked_before = (task.attempts > 1)
        .then(|| {
            history
                .iter()
                .rev()
                .find(|m| m.role == Role::User && m.content == task.input)
        })
        .flatten();
    let retry = asked_before.is_some();
    if let Some(asked) = asked_before {
        assistant.parent_id = Some(asked.id.clone());
    }
    let stored = if retry {
        store.insert_messages(&[&assistant]).await
    } else {
        store.insert_exchange(&user, &assistant).await
    };
    if let Err(e) = stored {
        return failed(e.to_string());
    }
    if !retry {
        publish_user_message(&deps.broker, &user).await;
    }
    match store
        .set_task_message(
            &task.id,
            claimed.generation,
            &assistant.id,
            backend.execution_path(),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => return failed("lease lost before the turn started"),
        Err(e) => return failed(e.to_string()),
    }
    let mut conversation = vec![ChatMessage::new("system", SYSTEM_PROMPT)];
    conversation.extend(
        history
            .iter()
            .filter(|m| !m.content.is_empty() && m.status != MessageStatus::Streaming)
            .map(|m| ChatMessage::new(m.role.as_str(), expand_user(&deps.skills, m))),
    );
    conversation.push(ChatMessage::new("user", deps.skills.expand(&task.input)));
    let fence: Arc<dyn boocode_agents::TurnFence> = Arc::new(LeaseFence {
        store: deps.store.clone(),
        task: task.id.clone(),
        generation: claimed.generation,
    });
    let run = TurnRun {
        store: deps.store.clone(),
        broker: deps.broker.clone(),
        target: TurnTarget {
            session_id: session.id.clone(),
            chat_id: task.chat_id.clone(),
            message_id: assistant.id.clone(),
            parent_id: assistant.parent_id.clone(),
            compared: false,
            prefix: String::new(),
            model: Some(model.clone()),
            agent: Some(task.agent.clone()),
        },
        cancel,
        cancel_reason: reason,
        context_limit: deps.catalog.context_limit(&model).await,
        permissions: Some(
            deps.permissions
                .asker(session.id.clone(), Some(task.id.clone())),
        ),
        fence: Some(fence.clone()),
    };
    let input = TurnInput {
        model,
        history: conversation,
        workdir: Some(PathBuf::from(&worktree.worktree_path)),
        tools: ToolAccess::ReadWrite,
        max_steps: deps.max_steps,
        session_key: Some(session.id.to_string()),
        mode_id: task.mode_id.clone(),
        thinking: task.thinking_option_id.clone(),
        mcp: Some(deps.mcp.endpoint(&session.id)),
        request_extra: serde_json::Map::new(),
    };
    let summary = record_turn(run, backend.clone(), input).await;
    if !fence.still_owner().await {
        // Another worker took the task over: its commit and pending change are its own to make.
        return failed("this worker lost the task's lease; another worker runs it");
    }
    // Whatever the turn wrote is kept and offered for review, even when it failed or was stopped.
    let change_error = record_change(deps, claimed, &worktree).await.err();
    let cost = summary.usage.map(|u| u.prompt_tokens + u.completion_tokens);
    let output_summary =
        Some(summary.content.chars().take(500).collect::<String>()).filter(|s| !s.is_empty());
    let (state, error) = match (summary.status, change_error) {
        (MessageStatus::Complete, None) => (TaskState::Completed, None),
        (MessageStatus::Complete, Some(e)) => (
            TaskState::Failed,
            Some(format!("could not record the change: {e}")),
        ),
        (MessageStatus::Cancelled, _) => (
            TaskState::Cancelled,
            summary.error.or(Some("cancelled".into())),
        ),
        _ => (TaskState::Failed, summary.error),
    };
    TaskOutcome {
        state,
        output_summary,
        error,
        cost_tokens: cost,
    }
}

/// Commits the worktree and, if this turn changed anything, stores the diff since the last accepted state.
async fn record_change(
    deps: &CodingDeps,
    claimed: &ClaimedTask,
    worktree: &SessionWorktree,
) -> Result<(), String> {
    let task = &claimed.task;
    let path = Path::new(&worktree.worktree_path);
    let message = format!("boocode task {}", task.id);
    let committed = boocode_workspace::commit_turn(path, &message)
        .await
        .map_err(|e| e.to_string())?;
    if committed.is_none() {
        return Ok(());
    }
    let (diff, stats, head) = boocode_workspace::diff_since(path, &worktree.base_commit)
        .await
        .map_err(|e| e.to_string())?;
    if diff.trim().is_empty() {
        return Ok(());
    }
    let change = NewChange {
        id: ChangeId::new(),
        session_id: task.session_id.clone(),
        task_id: Some(task.id.clone()),
        agent: Some(task.agent.clone()),
        diff,
        files_changed: stats.files_changed,
        insertions: stats.insertions,
        deletions: stats.deletions,
        head_commit: head,
        created_at: Utc::now(),
    };
    let mut stored = deps
        .store
        .insert_change(&change)
        .await
        .map_err(|e| e.to_string())?;
    stored.diff = None;
    if let Err(e) = deps
        .broker
        .publish(
            &task.session_id,
            FrameBody::PendingChange { change: stored },
        )
        .await
    {
        tracing::warn!(error = %e, "pending_change frame not published");
    }
    Ok(())
}
