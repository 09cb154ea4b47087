//! The MCP server (docs/ARCHITECTURE.md §11): `new_task`, `list_tasks`, `get_task`, `get_changes` over streamable
//! HTTP at `/mcp`, a thin typed client of the same services the REST API uses. It sits behind the same
//! Host/Origin/token guard; an `x-boocode-session` header carrying a per-session token (handed to ACP
//! agents boocode starts) names the calling session, which `new_task` uses by default.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use boocode_protocol::{ChangeStatus, CreateTaskRequest, ProjectId, SessionId, TaskId, TaskState};
use boocode_store::TaskFilter;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock as Content};
use rmcp::{ErrorData, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::AppState;

/// The header that names the calling session.
pub const SESSION_HEADER: &str = "x-boocode-session";

/// Per-session tokens: what an agent presents to act as its session.
#[derive(Clone, Default)]
pub struct McpTokens(Arc<Mutex<HashMap<String, SessionId>>>);

impl std::fmt::Debug for McpTokens {
    /// Never the tokens themselves: they are credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "McpTokens({n} sessions)")
    }
}

impl McpTokens {
    /// The token for `session` (made once, kept for the server's life).
    pub fn token_for(&self, session: &SessionId) -> String {
        let Ok(mut map) = self.0.lock() else {
            return String::new();
        };
        if let Some((token, _)) = map.iter().find(|(_, s)| *s == session) {
            return token.clone();
        }
        let token = crate::security::random_token();
        map.insert(token.clone(), session.clone());
        token
    }

    fn session_of(&self, token: &str) -> Option<SessionId> {
        self.0.lock().ok()?.get(token).cloned()
    }

    /// Whether `token` was handed to a session's agent by this process.
    pub fn is_live(&self, token: &str) -> bool {
        self.session_of(token).is_some()
    }
}

/// Who is calling: an agent confined to its session (and its project), or the operator (the master
/// token, or no token on a loopback-only server) who may act anywhere.
#[derive(Debug, Clone)]
enum Caller {
    Session {
        session: SessionId,
        project: ProjectId,
    },
    Operator,
}

impl Caller {
    /// The session to act on: the caller's own when confined (naming another is refused).
    fn session(&self, asked: Option<String>) -> Result<Option<SessionId>, String> {
        match (self, asked) {
            (Self::Session { session, .. }, None) => Ok(Some(session.clone())),
            (Self::Session { session, .. }, Some(a)) if a == session.as_str() => {
                Ok(Some(session.clone()))
            }
            (Self::Session { .. }, Some(a)) => Err(format!(
                "session {a} is not yours: an agent may only act on its own session"
            )),
            (Self::Operator, asked) => Ok(asked.map(SessionId)),
        }
    }

    /// The project to act on: the caller's own when confined.
    fn project(&self, asked: Option<String>) -> Result<Option<ProjectId>, String> {
        match (self, asked) {
            (Self::Session { project, .. }, None) => Ok(Some(project.clone())),
            (Self::Session { project, .. }, Some(a)) if a == project.as_str() => {
                Ok(Some(project.clone()))
            }
            (Self::Session { .. }, Some(a)) => Err(format!(
                "project {a} is not yours: an agent may only act on its own project"
            )),
            (Self::Operator, asked) => Ok(asked.map(ProjectId)),
        }
    }
}

/// `new_task` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewTaskArgs {
    /// What the agent should do.
    pub input: String,
    /// The project to work on (default: the calling session's project).
    pub project_id: Option<String>,
    /// The session to queue the task in (default: the calling session; none: a new session).
    pub session_id: Option<String>,
    /// The agent to run it (default `native`).
    pub agent: Option<String>,
    /// The model to use (default: the session's, the project's or the server's).
    pub model: Option<String>,
}

/// One contender of `new_arena`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ArenaContenderArgs {
    /// The agent (`native`, `opencode`, `qwen`, a custom provider id…).
    pub agent: String,
    /// The model it uses (default: the agent's or the server's).
    pub model: Option<String>,
    /// The agent mode, if it has modes.
    pub mode_id: Option<String>,
}

/// `new_arena` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewArenaArgs {
    /// What every contender should do.
    pub input: String,
    /// 2 to 6 contenders; each runs in its own session and worktree from the same commit.
    pub contenders: Vec<ArenaContenderArgs>,
    /// The project (default: the calling session's project).
    pub project_id: Option<String>,
    /// A command run in each worktree after its turn, e.g. the project's tests.
    pub check: Option<String>,
}

/// `list_tasks` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTasksArgs {
    /// Only tasks of this session (default: all you may see).
    pub session_id: Option<String>,
    /// Only tasks in this state: pending, running, completed, failed or cancelled.
    pub state: Option<String>,
}

/// `get_task` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetTaskArgs {
    /// The task's id.
    pub task_id: String,
}

/// `get_changes` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetChangesArgs {
    /// The session whose changes to list (default: the calling session).
    pub session_id: Option<String>,
    /// Only changes in this status: pending, superseded, accepted or rejected.
    pub status: Option<String>,
}

/// One MCP connection's view of boocode.
#[derive(Clone)]
pub struct BoocodeMcp {
    state: AppState,
}

fn json_result(value: &impl serde::Serialize) -> Result<CallToolResult, ErrorData> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    Ok(CallToolResult::success(vec![Content::text(text)]))
}

fn tool_error(message: impl Into<String>) -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::error(vec![Content::text(message.into())]))
}

impl BoocodeMcp {
    async fn caller(&self, parts: &axum::http::request::Parts) -> Result<Caller, String> {
        let Some(header) = parts.headers.get(SESSION_HEADER) else {
            return Ok(Caller::Operator);
        };
        let session = header
            .to_str()
            .ok()
            .and_then(|t| self.state.mcp_tokens.session_of(t))
            .ok_or("unknown session token")?;
        let project = self
            .state
            .store
            .get_session(&session)
            .await
            .map_err(|e| e.to_string())?
            .project_id;
        Ok(Caller::Session { session, project })
    }
}

#[tool_router]
impl BoocodeMcp {
    /// A connection over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    #[tool(
        description = "Queue a coding task. It runs in a session's git worktree; its changes wait for review."
    )]
    async fn new_task(
        &self,
        Parameters(args): Parameters<NewTaskArgs>,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = match self.caller(&parts).await {
            Ok(c) => c,
            Err(e) => return tool_error(e),
        };
        let (session_id, project) = match (
            caller.session(args.session_id),
            caller.project(args.project_id),
        ) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(e), _) | (_, Err(e)) => return tool_error(e),
        };
        let project_id = match (project, &session_id) {
            (Some(p), _) => p,
            (None, Some(s)) => match self.state.store.get_session(s).await {
                Ok(session) => session.project_id,
                Err(e) => return tool_error(e.to_string()),
            },
            (None, None) => return tool_error("give project_id (no calling session is known)"),
        };
        let req = CreateTaskRequest {
            project_id,
            session_id,
            chat_id: None,
            input: args.input,
            agent: args.agent.unwrap_or_else(|| "native".into()),
            model: args.model,
            mode_id: None,
            thinking_option_id: None,
            feature_values: None,
        };
        match self.state.tasks.create(req).await {
            Ok(task) => json_result(&task),
            Err(e) => tool_error(e.to_string()),
        }
    }

    #[tool(
        description = "Race one task between 2 to 6 agents or models, each in its own worktree from the same commit; compare their diffs and check results, then pick one in boocode."
    )]
    async fn new_arena(
        &self,
        Parameters(args): Parameters<NewArenaArgs>,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let project_id = match self
            .caller(&parts)
            .await
            .and_then(|c| c.project(args.project_id))
        {
            Ok(Some(p)) => p,
            Ok(None) => return tool_error("give project_id (no calling session is known)"),
            Err(e) => return tool_error(e),
        };
        let req = boocode_protocol::CreateArenaRequest {
            project_id,
            input: args.input,
            contenders: args
                .contenders
                .into_iter()
                .map(|c| boocode_protocol::ContenderSpec {
                    agent: c.agent,
                    model: c.model,
                    mode_id: c.mode_id,
                })
                .collect(),
            check: args.check,
            check_timeout_secs: None,
        };
        match crate::arena::create_arena(&self.state, req).await {
            Ok(arena) => json_result(&arena),
            Err(e) => tool_error(e.to_string()),
        }
    }

    #[tool(description = "List tasks, newest first, optionally of one session or in one state.")]
    async fn list_tasks(
        &self,
        Parameters(args): Parameters<ListTasksArgs>,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let project_id = match self.caller(&parts).await {
            Ok(Caller::Session { project, .. }) => Some(project),
            Ok(Caller::Operator) => None,
            Err(e) => return tool_error(e),
        };
        let state = match args.state.as_deref() {
            None | Some("") => None,
            Some(s) => match TaskState::parse(s) {
                Some(state) => Some(state),
                None => return tool_error(format!("unknown state {s:?}")),
            },
        };
        let filter = TaskFilter {
            session_id: args.session_id.map(SessionId),
            project_id,
            state,
            limit: Some(200),
        };
        match self.state.store.list_tasks(&filter).await {
            Ok(tasks) => json_result(&tasks),
            Err(e) => tool_error(e.to_string()),
        }
    }

    #[tool(description = "Get one task: its state, output summary, error and timestamps.")]
    async fn get_task(
        &self,
        Parameters(args): Parameters<GetTaskArgs>,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = match self.caller(&parts).await {
            Ok(c) => c,
            Err(e) => return tool_error(e),
        };
        let not_found = || tool_error(format!("task {} not found", args.task_id));
        match self
            .state
            .store
            .get_task(&TaskId(args.task_id.clone()))
            .await
        {
            // Another project's task does not exist for a confined caller.
            Ok(task) => match &caller {
                Caller::Session { project, .. } if *project != task.project_id => not_found(),
                _ => json_result(&task),
            },
            Err(boocode_store::StoreError::NotFound { .. }) => not_found(),
            Err(e) => tool_error(e.to_string()),
        }
    }

    #[tool(
        description = "List a session's changes (diffs awaiting review and their history), newest first."
    )]
    async fn get_changes(
        &self,
        Parameters(args): Parameters<GetChangesArgs>,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = match self
            .caller(&parts)
            .await
            .and_then(|c| c.session(args.session_id))
        {
            Ok(Some(s)) => s,
            Ok(None) => return tool_error("give session_id (no calling session is known)"),
            Err(e) => return tool_error(e),
        };
        let status = match args.status.as_deref() {
            None | Some("") => None,
            Some(s) => match ChangeStatus::parse(s) {
                Some(status) => Some(status),
                None => return tool_error(format!("unknown status {s:?}")),
            },
        };
        match self.state.store.list_changes(&session, status).await {
            Ok(changes) => json_result(&changes),
            Err(e) => tool_error(e.to_string()),
        }
    }
}

#[tool_handler(
    name = "boocode",
    instructions = "Queue coding tasks in boocode and follow their results."
)]
impl rmcp::ServerHandler for BoocodeMcp {}
