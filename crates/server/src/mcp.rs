//! The MCP server (DESIGN.md §11): `new_task`, `list_tasks`, `get_task`, `get_changes` over streamable
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

impl McpTokens {
    /// The token for `session` (made once, kept for the server's life).
    pub fn token_for(&self, session: &SessionId) -> String {
        let Ok(mut map) = self.0.lock() else {
            return String::new();
        };
        if let Some((token, _)) = map.iter().find(|(_, s)| *s == session) {
            return token.clone();
        }
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        map.insert(token.clone(), session.clone());
        token
    }

    fn session_of(&self, token: &str) -> Option<SessionId> {
        self.0.lock().ok()?.get(token).cloned()
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
    /// Only tasks of this session (default: all).
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
    fn caller(&self, parts: &axum::http::request::Parts) -> Option<SessionId> {
        let token = parts.headers.get(SESSION_HEADER)?.to_str().ok()?;
        self.state.mcp_tokens.session_of(token)
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
        let caller = self.caller(&parts);
        let session_id = args.session_id.map(SessionId).or_else(|| caller.clone());
        let project_id = match (args.project_id, &session_id) {
            (Some(p), _) => ProjectId(p),
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
        match crate::api::tasks::create_task(&self.state, req).await {
            Ok(task) => json_result(&task),
            Err(e) => tool_error(e.message),
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
        let project_id = match (args.project_id, self.caller(&parts)) {
            (Some(p), _) => ProjectId(p),
            (None, Some(s)) => match self.state.store.get_session(&s).await {
                Ok(session) => session.project_id,
                Err(e) => return tool_error(e.to_string()),
            },
            (None, None) => return tool_error("give project_id (no calling session is known)"),
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
            Err(e) => tool_error(e.message),
        }
    }

    #[tool(description = "List tasks, newest first, optionally of one session or in one state.")]
    async fn list_tasks(
        &self,
        Parameters(args): Parameters<ListTasksArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let state = match args.state.as_deref() {
            None | Some("") => None,
            Some(s) => match TaskState::parse(s) {
                Some(state) => Some(state),
                None => return tool_error(format!("unknown state {s:?}")),
            },
        };
        let filter = TaskFilter {
            session_id: args.session_id.map(SessionId),
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
    ) -> Result<CallToolResult, ErrorData> {
        match self.state.store.get_task(&TaskId(args.task_id)).await {
            Ok(task) => json_result(&task),
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
        let Some(session) = args
            .session_id
            .map(SessionId)
            .or_else(|| self.caller(&parts))
        else {
            return tool_error("give session_id (no calling session is known)");
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
