//! One live ACP session: the agent process, its agent-side session id, and the dispatch loop that answers
//! the agent's requests (files through the path guard, permissions through the turn's relay) and turns its
//! updates into the running turn's events. The loop never waits on a handler: each request is answered
//! from its own task.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use boocode_protocol::{AgentCommand, AgentEvent};

use super::config::SessionConfig;
use super::process::{AgentProcess, AgentSpec};
use super::rpc::{
    INTERNAL_ERROR, INVALID_PARAMS, Incoming, METHOD_NOT_FOUND, RpcConnection, RpcError,
};
use super::terminal::Terminals;
use super::translate::Translator;
use crate::backend::{
    AgentError, PermissionAnswer, PermissionAsk, PermissionChoice, TurnContext, TurnOutcome,
};

/// The ACP protocol version boocode speaks.
pub const PROTOCOL_VERSION: u64 = 1;
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
const CANCEL_DEADLINE: Duration = Duration::from_secs(10);

/// The running turn, as the dispatch loop sees it.
struct Turn {
    ctx: TurnContext,
    translator: Translator,
}

type Current = Arc<Mutex<Option<Turn>>>;

/// A warm agent session.
pub struct AcpSession {
    process: Option<AgentProcess>,
    conn: RpcConnection,
    label: String,
    pub agent_session_id: String,
    pub config_hash: String,
    pub cwd: PathBuf,
    /// What the agent lets us choose, as it last said.
    pub config: SessionConfig,
    pub last_used: Instant,
    /// Set once the process died or hung: never reused.
    pub broken: bool,
    current: Current,
    terminals: Terminals,
    commands: KeptCommands,
}

fn agent_error(label: &str, what: &str, detail: String) -> AgentError {
    AgentError::Backend(format!("{label} {what}: {detail}"))
}

impl AcpSession {
    /// Spawns the agent in `cwd`, initializes it and opens (or, given `resume`, loads) a session.
    pub async fn start(
        spec: &AgentSpec,
        cwd: &Path,
        home: &Path,
        config_hash: String,
        resume: Option<&str>,
        mcp: Option<&crate::backend::McpEndpoint>,
    ) -> Result<(Self, Option<String>), AgentError> {
        let (mut process, incoming) =
            AgentProcess::spawn(spec, cwd, home).map_err(|e| AgentError::Backend(e.to_string()))?;
        let conn = process.conn.clone();
        let current: Current = Arc::default();
        let terminals = Terminals::default();
        // Terminals get the agent's own filtered environment, never boocode's.
        let mut env: Vec<(String, String)> = super::process::INHERITED
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
            .collect();
        env.push(("HOME".into(), home.to_string_lossy().into_owned()));
        let commands = KeptCommands::default();
        let handlers = Handlers {
            commands: commands.clone(),
            root: cwd.to_path_buf(),
            terminals: terminals.clone(),
            env: Arc::new(env),
        };
        tokio::spawn(dispatch(incoming, conn.clone(), current.clone(), handlers));
        let init = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "clientCapabilities": {"fs": {"readTextFile": true, "writeTextFile": true}, "terminal": true},
            "clientInfo": {"name": "boocode", "title": "boocode", "version": env!("CARGO_PKG_VERSION")},
        });
        let label = spec.label.clone();
        let answer =
            match tokio::time::timeout(INIT_TIMEOUT, conn.request("initialize", init)).await {
                Ok(Ok(v)) => v,
                Ok(Err(RpcError::Closed)) => {
                    let report = process.exit_report().await;
                    return Err(agent_error(&label, "exited during initialize", report));
                }
                Ok(Err(e)) => {
                    process.shutdown().await;
                    return Err(agent_error(&label, "refused to initialize", e.to_string()));
                }
                Err(_) => {
                    process.shutdown().await;
                    return Err(agent_error(
                        &label,
                        "did not answer initialize",
                        format!("{INIT_TIMEOUT:?}"),
                    ));
                }
            };
        let version = answer
            .get("protocolVersion")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if version != PROTOCOL_VERSION {
            process.shutdown().await;
            return Err(agent_error(
                &label,
                "speaks another protocol version",
                format!("agent offers version {version}, boocode speaks {PROTOCOL_VERSION}"),
            ));
        }
        let load_session = answer
            .pointer("/agentCapabilities/loadSession")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let cwd_text = cwd.to_string_lossy().into_owned();
        let http_mcp = answer
            .pointer("/agentCapabilities/mcpCapabilities/http")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mcp_servers = mcp_servers(mcp, http_mcp);
        let mut note = None;
        let opened = match resume {
            Some(id) if load_session => {
                match conn
                    .request(
                        "session/load",
                        json!({"sessionId": id, "cwd": cwd_text, "mcpServers": mcp_servers}),
                    )
                    .await
                {
                    // session/load answers without the id; keep its modes and config options.
                    Ok(loaded) => {
                        let mut merged = if loaded.is_object() {
                            loaded
                        } else {
                            json!({})
                        };
                        merged["sessionId"] = json!(id);
                        Ok(merged)
                    }
                    Err(e) => {
                        note = Some(format!(
                            "{label} could not load its earlier session ({e}); started a fresh one"
                        ));
                        conn.request(
                            "session/new",
                            json!({"cwd": cwd_text, "mcpServers": mcp_servers}),
                        )
                        .await
                    }
                }
            }
            Some(_) => {
                note = Some(format!(
                    "{label} cannot resume sessions; started a fresh one"
                ));
                conn.request(
                    "session/new",
                    json!({"cwd": cwd_text, "mcpServers": mcp_servers}),
                )
                .await
            }
            None => {
                conn.request(
                    "session/new",
                    json!({"cwd": cwd_text, "mcpServers": mcp_servers}),
                )
                .await
            }
        };
        let opened = match opened {
            Ok(v) => v,
            Err(RpcError::Closed) => {
                let report = process.exit_report().await;
                return Err(agent_error(
                    &label,
                    "exited while opening a session",
                    report,
                ));
            }
            Err(e) => {
                process.shutdown().await;
                return Err(agent_error(
                    &label,
                    "could not open a session",
                    e.to_string(),
                ));
            }
        };
        let Some(agent_session_id) = opened
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            process.shutdown().await;
            return Err(agent_error(
                &label,
                "answered session/new without a sessionId",
                opened.to_string(),
            ));
        };
        let config = SessionConfig::from_session(&opened);
        let session = Self {
            process: Some(process),
            conn,
            label,
            agent_session_id,
            config_hash,
            cwd: cwd.to_path_buf(),
            config,
            last_used: Instant::now(),
            broken: false,
            current,
            terminals,
            commands,
        };
        Ok((session, note))
    }

    /// The slash commands the agent last announced.
    pub fn commands(&self) -> Vec<AgentCommand> {
        self.commands
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(list, _)| list.clone()))
            .unwrap_or_default()
    }

    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.process.as_ref().map_or(0, AgentProcess::pid)
    }

    /// Whether the session can take another turn.
    pub fn is_alive(&self) -> bool {
        !self.broken && !self.conn.is_closed()
    }

    async fn set(&self, method: &str, params: Value, what: &str) -> Result<Value, AgentError> {
        self.conn
            .request(method, params)
            .await
            .map_err(|e| agent_error(&self.label, &format!("refused the {what}"), e.to_string()))
    }

    /// Applies the task's model, mode and thinking level, each through the richest mechanism the agent
    /// offers, and only when the agent offers that value (anything else keeps the agent's default).
    pub async fn apply_config(
        &mut self,
        model: Option<&str>,
        mode: Option<&str>,
        thinking: Option<&str>,
    ) -> Result<(), AgentError> {
        let sid = self.agent_session_id.clone();
        for (category, value) in [
            ("model", model),
            ("mode", mode),
            ("thought_level", thinking),
        ] {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            if let Some((option, value)) = self
                .config
                .option_for(category, value)
                .map(|(o, v)| (o.clone(), v))
            {
                let value = value.as_str();
                if option.current != value {
                    let answer = self
                        .set(
                            "session/set_config_option",
                            json!({"sessionId": sid, "configId": option.id, "value": value}),
                            category,
                        )
                        .await?;
                    match answer.get("configOptions") {
                        Some(options) => {
                            self.config.options = super::config::parse_options(options)
                        }
                        None => {
                            if let Some(o) =
                                self.config.options.iter_mut().find(|o| o.id == option.id)
                            {
                                o.current = value.to_owned();
                            }
                        }
                    }
                }
            } else if category == "mode" && self.config.modes.iter().any(|m| m == value) {
                if self.config.current_mode.as_deref() != Some(value) {
                    self.set(
                        "session/set_mode",
                        json!({"sessionId": sid, "modeId": value}),
                        "mode",
                    )
                    .await?;
                    self.config.current_mode = Some(value.to_owned());
                }
            } else if category == "model" && self.config.legacy_models.iter().any(|m| m == value) {
                if self.config.current_model.as_deref() != Some(value) {
                    self.set(
                        "session/set_model",
                        json!({"sessionId": sid, "modelId": value}),
                        "model",
                    )
                    .await?;
                    self.config.current_model = Some(value.to_owned());
                }
            } else {
                tracing::debug!(agent = %self.label, category, value, "the agent does not offer this value; keeping its default");
            }
        }
        Ok(())
    }

    /// Runs one prompt; cancellation sends `session/cancel` and waits (bounded) for the agent's answer.
    pub async fn prompt(
        &mut self,
        text: &str,
        ctx: &TurnContext,
    ) -> Result<TurnOutcome, AgentError> {
        self.last_used = Instant::now();
        if let Ok(mut current) = self.current.lock() {
            *current = Some(Turn {
                ctx: ctx.clone(),
                translator: Translator::default(),
            });
        }
        // Commands announced between turns reach the UI with this one.
        if let Ok(mut kept) = self.commands.lock()
            && let Some((commands, framed)) = kept.as_mut()
            && !*framed
        {
            *framed = true;
            ctx.emit(AgentEvent::Commands {
                commands: commands.clone(),
            });
        }
        let params =
            json!({"sessionId": self.agent_session_id, "prompt": [{"type": "text", "text": text}]});
        let request = self.conn.request("session/prompt", params);
        tokio::pin!(request);
        let mut cancelled = false;
        let result = tokio::select! {
            r = &mut request => r,
            () = ctx.cancelled() => {
                cancelled = true;
                self.conn.notify("session/cancel", json!({"sessionId": self.agent_session_id}));
                match tokio::time::timeout(CANCEL_DEADLINE, &mut request).await {
                    Ok(r) => r,
                    Err(_) => {
                        self.broken = true;
                        Ok(json!({"stopReason": "cancelled", "hung": true}))
                    }
                }
            }
        };
        let turn = self.current.lock().ok().and_then(|mut c| c.take());
        self.last_used = Instant::now();
        match result {
            Ok(answer) => {
                let stop = answer
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn");
                if cancelled || stop == "cancelled" {
                    if let Some(mut turn) = turn {
                        for event in turn.translator.cancel_open_calls() {
                            ctx.emit(event);
                        }
                    }
                    if answer.get("hung").is_some() {
                        tracing::warn!(agent = %self.label, "agent ignored session/cancel; it will be stopped");
                    }
                    return Ok(TurnOutcome::Cancelled);
                }
                if stop == "refusal" {
                    return Err(AgentError::Backend(format!(
                        "{} refused the prompt",
                        self.label
                    )));
                }
                Ok(TurnOutcome::Completed)
            }
            Err(RpcError::Closed) => {
                self.broken = true;
                let report = match self.process.as_mut() {
                    Some(p) => p.exit_report().await,
                    None => String::new(),
                };
                Err(agent_error(&self.label, "exited mid-turn", report))
            }
            Err(e) => Err(AgentError::Backend(e.to_string())),
        }
    }

    /// Stops the agent process.
    pub async fn shutdown(&mut self) {
        self.terminals.kill_all();
        if let Some(process) = self.process.take() {
            process.shutdown().await;
        }
    }
}

/// Answers the agent's requests and routes its updates, one message at a time, never waiting.
/// The agent's latest slash commands, and whether a turn has framed them yet.
type KeptCommands = Arc<Mutex<Option<(Vec<AgentCommand>, bool)>>>;

/// boocode's MCP server as `session/new` lists it: HTTP when the agent supports it, else the stdio bridge.
fn mcp_servers(mcp: Option<&crate::backend::McpEndpoint>, http: bool) -> Value {
    let Some(mcp) = mcp else { return json!([]) };
    let headers: Vec<Value> = mcp
        .headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    if http {
        return json!([{"type": "http", "name": "boocode", "url": mcp.url, "headers": headers}]);
    }
    match &mcp.stdio {
        Some((command, args)) => {
            json!([{"name": "boocode", "command": command, "args": args, "env": []}])
        }
        None => json!([]),
    }
}

/// What the agent's requests are answered with.
#[derive(Clone)]
struct Handlers {
    root: PathBuf,
    terminals: Terminals,
    env: Arc<Vec<(String, String)>>,
    commands: KeptCommands,
}

async fn dispatch(
    mut incoming: UnboundedReceiver<Incoming>,
    conn: RpcConnection,
    current: Current,
    handlers: Handlers,
) {
    while let Some(msg) = incoming.recv().await {
        match msg {
            Incoming::Notification { method, params } if method == "session/update" => {
                let update = &params["update"];
                // The agent's commands are kept even outside a turn (agents announce them right after
                // session/new); the next turn frames them.
                if update.get("sessionUpdate").and_then(Value::as_str)
                    == Some("available_commands_update")
                {
                    for event in Translator::default().translate(update) {
                        if let (AgentEvent::Commands { commands }, Ok(mut kept)) =
                            (event, handlers.commands.lock())
                        {
                            *kept = Some((commands, false));
                        }
                    }
                }
                let Ok(mut current) = current.lock() else {
                    continue;
                };
                if let Some(turn) = current.as_mut() {
                    for event in turn.translator.translate(update) {
                        if let (AgentEvent::Commands { .. }, Ok(mut kept)) =
                            (&event, handlers.commands.lock())
                            && let Some((_, framed)) = kept.as_mut()
                        {
                            *framed = true;
                        }
                        turn.ctx.emit(event);
                    }
                }
            }
            Incoming::Notification { method, .. } => {
                tracing::debug!(%method, "agent notification ignored")
            }
            Incoming::Response { key, result } => conn.complete(key, result),
            Incoming::Closed => conn.fail_all(),
            Incoming::Request { id, method, params } => {
                let conn = conn.clone();
                let handlers = handlers.clone();
                let ctx = current
                    .lock()
                    .ok()
                    .and_then(|c| c.as_ref().map(|t| t.ctx.clone()));
                tokio::spawn(async move {
                    let answer = handle_request(&method, params, &handlers, ctx).await;
                    conn.respond(id, answer);
                });
            }
        }
    }
}

async fn handle_request(
    method: &str,
    params: Value,
    handlers: &Handlers,
    ctx: Option<TurnContext>,
) -> Result<Value, (i64, String)> {
    let root = handlers.root.as_path();
    let terminals = &handlers.terminals;
    let path = || {
        params
            .get("path")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or((INVALID_PARAMS, "missing path".to_owned()))
    };
    match method {
        "fs/read_text_file" => {
            let path = path()?;
            let resolved = boocode_workspace::resolve_in_worktree(root, &path)
                .map_err(|e| (INVALID_PARAMS, e.to_string()))?;
            // A file that does not exist yet reads as empty, as agents expect before creating it.
            let text = match tokio::fs::read_to_string(&resolved).await {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err((INTERNAL_ERROR, format!("cannot read {path}: {e}"))),
            };
            let line = params
                .get("line")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1) as usize;
            let limit = params
                .get("limit")
                .and_then(Value::as_u64)
                .map(|l| l as usize);
            let content = if line > 1 || limit.is_some() {
                let lines = text.lines().skip(line - 1);
                let picked: Vec<&str> = match limit {
                    Some(l) => lines.take(l).collect(),
                    None => lines.collect(),
                };
                picked.join("\n")
            } else {
                text
            };
            Ok(json!({"content": content}))
        }
        "fs/write_text_file" => {
            let path = path()?;
            let content = params
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let root = root.to_path_buf();
            let written = tokio::task::spawn_blocking(move || {
                crate::tools::fs::write_file(&root, crate::tools::fs::WriteFile { path, content })
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            written
                .map(|_| Value::Null)
                .map_err(|e| (INVALID_PARAMS, e))
        }
        "session/request_permission" => {
            let options: Vec<PermissionChoice> = params
                .get("options")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|o| {
                            Some(PermissionChoice {
                                option_id: o.get("optionId")?.as_str()?.to_owned(),
                                name: o
                                    .get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned(),
                                kind: o
                                    .get("kind")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ask = PermissionAsk {
                tool_call: params.get("toolCall").cloned().unwrap_or(Value::Null),
                options,
            };
            let answer = match ctx {
                Some(ctx) => ctx.ask_permission(ask).await,
                None => ask.deny(),
            };
            Ok(match answer {
                PermissionAnswer::Selected(id) => {
                    json!({"outcome": {"outcome": "selected", "optionId": id}})
                }
                PermissionAnswer::Cancelled => json!({"outcome": {"outcome": "cancelled"}}),
            })
        }
        "terminal/create" => terminals.create(&params, root, &handlers.env).await,
        "terminal/output" => terminals.output(&params),
        "terminal/wait_for_exit" => terminals.wait_for_exit(&params).await,
        "terminal/kill" => terminals.kill(&params),
        "terminal/release" => terminals.release(&params),
        other => Err((METHOD_NOT_FOUND, format!("method not found: {other}"))),
    }
}
