//! One live ACP session: the agent process, its agent-side session id and what it lets us configure;
//! `initialize`, `session/new`/`load`, prompts and cancel. Its requests and updates are handled by the
//! dispatch loop (`dispatch.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use boocode_protocol::{AgentCommand, AgentEvent};

use super::config::SessionConfig;
use super::dispatch::{Handlers, dispatch};
use super::process::{AgentProcess, AgentSpec};
use super::rpc::{RpcConnection, RpcError};
use super::terminal::Terminals;
use super::translate::Translator;
use crate::backend::{AgentError, TurnContext, TurnOutcome};

/// The ACP protocol version boocode speaks.
pub const PROTOCOL_VERSION: u64 = 1;
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
const CANCEL_DEADLINE: Duration = Duration::from_secs(10);

/// The running turn, as the dispatch loop sees it.
pub(super) struct Turn {
    pub(super) ctx: TurnContext,
    pub(super) translator: Translator,
}

pub(super) type Current = Arc<Mutex<Option<Turn>>>;

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

/// The agent's latest slash commands, and whether a turn has framed them yet.
pub(super) type KeptCommands = Arc<Mutex<Option<(Vec<AgentCommand>, bool)>>>;

/// boocode's MCP server as `session/new` lists it: HTTP when the agent supports it, else the stdio bridge.
fn mcp_servers(mcp: Option<&crate::backend::McpEndpoint>, http: bool) -> Value {
    let Some(mcp) = mcp else { return json!([]) };
    let headers: Vec<Value> = mcp
        .headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    if http {
        return json!([{"type": "http", "name": boocode_protocol::MCP_SERVER_NAME, "url": mcp.url, "headers": headers}]);
    }
    match &mcp.stdio {
        Some(bridge) => {
            let env: Vec<Value> = bridge
                .env
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            json!([{"name": boocode_protocol::MCP_SERVER_NAME, "command": bridge.command, "args": bridge.args, "env": env}])
        }
        None => json!([]),
    }
}
