//! `OpencodeBackend`: turns on a warm `opencode serve`. The server starts lazily and is restarted when it
//! died (the sessions it carried are then treated as crashed and start fresh). Each boocode session keeps
//! one opencode session, created in its worktree and remembered in `agent_sessions` (backend
//! `opencode_server`), so turns and boocode restarts resume it. A turn subscribes to its worktree's event
//! stream before `prompt_async`, ends at the session's idle, and reconciles from the session's messages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use boocode_protocol::AgentEvent;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use super::events::Heard;
use super::permissions::{relay_permission, relay_question};
use super::server::OpencodeServer;
use super::translate::{Signal, TurnTranslator};
use crate::acp::process::AgentSpec;
use crate::acp::{RememberedSession, SessionMemory};
use crate::backend::{AgentBackend, AgentError, McpEndpoint, TurnContext, TurnInput, TurnOutcome};
use crate::providers::ModelServer;

/// What a user may tune.
#[derive(Debug, Clone)]
pub struct OpencodeOptions {
    /// How long `opencode serve` may take to print its ready line.
    pub ready_timeout: Duration,
    /// A turn with no event from its session for this long fails (answering a permission pauses it).
    pub inactivity: Duration,
    /// The provider id bare model ids get (`fake-model` → `boocode/fake-model`).
    pub provider_id: String,
    /// The model used when a task names none.
    pub default_model: Option<String>,
    /// boocode's model server: its models are listed into opencode's config at each server start.
    /// `None` keeps the spec's environment as it is (the user configured opencode).
    pub model_server: Option<ModelServer>,
}

impl Default for OpencodeOptions {
    fn default() -> Self {
        Self {
            ready_timeout: Duration::from_secs(30),
            inactivity: Duration::from_secs(180),
            provider_id: "boocode".into(),
            default_model: None,
            model_server: None,
        }
    }
}

/// How long an aborted turn waits for opencode's idle before it gives up waiting.
const ABORT_DEADLINE: Duration = Duration::from_secs(10);
/// How long a reported error waits for the idle that normally follows it.
const ERROR_GRACE: Duration = Duration::from_secs(5);

struct LiveSession {
    id: String,
    hash: String,
    directory: PathBuf,
    /// The server pid it was used with: a restarted server means the session crashed.
    server_pid: u32,
}

/// The warm opencode server backend.
pub struct OpencodeBackend {
    spec: AgentSpec,
    data_dir: PathBuf,
    options: OpencodeOptions,
    memory: Option<Arc<dyn SessionMemory>>,
    server: Mutex<Option<Arc<OpencodeServer>>>,
    sessions: Mutex<HashMap<String, LiveSession>>,
    /// (server pid, worktree) pairs that were given boocode's MCP server.
    mcp_offered: Mutex<std::collections::HashSet<(u32, PathBuf)>>,
    /// Context windows of the model server's models, as last listed.
    contexts: std::sync::Mutex<HashMap<String, u64>>,
}

/// `sha256(opencode_server|agent|model|mode)`.
fn config_hash(agent: &str, model: &str, mode: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(format!("opencode_server|{agent}|{model}|{}", mode.unwrap_or("")).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl OpencodeBackend {
    /// A backend running `spec.command` as `opencode serve`; its private home lives under `data_dir`.
    pub fn new(
        spec: AgentSpec,
        data_dir: PathBuf,
        options: OpencodeOptions,
        memory: Option<Arc<dyn SessionMemory>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            spec,
            data_dir,
            options,
            memory,
            server: Mutex::default(),
            sessions: Mutex::default(),
            contexts: std::sync::Mutex::default(),
            mcp_offered: Mutex::default(),
        })
    }

    /// The server's pid, if one is running (tests and diagnostics).
    pub async fn server_pid(&self) -> Option<u32> {
        let server = self.server.lock().await;
        server.as_ref().filter(|s| s.is_alive()).map(|s| s.pid)
    }

    /// The opencode session a boocode session uses, if one is live (tests and diagnostics).
    pub async fn session_id(&self, session_key: &str) -> Option<String> {
        self.sessions
            .lock()
            .await
            .get(session_key)
            .map(|s| s.id.clone())
    }

    /// How many worktrees have an open event stream (tests and diagnostics).
    pub async fn event_streams(&self) -> usize {
        let server = self.server.lock().await;
        server.as_ref().map_or(0, |s| s.stream_count())
    }

    async fn remember(&self, key: &str, id: &str, hash: &str, status: &str) {
        if let Some(memory) = &self.memory {
            let row = RememberedSession {
                backend: "opencode_server".into(),
                agent_session_id: id.to_owned(),
                config_hash: hash.to_owned(),
                status: status.to_owned(),
            };
            memory.remember(key, &self.spec.id, &row).await;
        }
    }

    /// The running server, started (or restarted) when needed.
    async fn server(&self) -> Result<Arc<OpencodeServer>, AgentError> {
        let mut slot = self.server.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| s.is_alive()) {
            return Ok(s.clone());
        }
        if let Some(dead) = slot.take() {
            tracing::warn!(
                pid = dead.pid,
                "opencode serve had died; starting a new one ({})",
                dead.exit_report()
            );
        }
        let (home, _) = self.spec.home_dir(&self.data_dir);
        let cwd = home.with_file_name("serve");
        let spec = self.spec_with_models().await;
        let server = OpencodeServer::start(&spec, &cwd, &home, self.options.ready_timeout).await?;
        *slot = Some(server.clone());
        Ok(server)
    }

    /// The spec with opencode's config listing the model server's models as they are now (their
    /// context windows too); the default model alone when the listing fails.
    async fn spec_with_models(&self) -> AgentSpec {
        let mut spec = self.spec.clone();
        let Some(ms) = &self.options.model_server else {
            return spec;
        };
        let mut llm = boocode_llm::LlmConfig::new(ms.url.clone());
        llm.api_key.clone_from(&ms.api_key);
        let listed = match boocode_llm::LlmClient::new(llm) {
            Ok(client) => tokio::time::timeout(Duration::from_secs(10), client.list_models())
                .await
                .map_err(|_| "timed out".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        let mut models: Vec<(String, Option<u64>)> = match listed {
            Ok(list) => list.into_iter().map(|m| (m.id, m.context_length)).collect(),
            Err(e) => {
                tracing::warn!(
                    "listing the model server's models for opencode failed ({e}); offering the default model only"
                );
                Vec::new()
            }
        };
        if !models.iter().any(|(id, _)| *id == ms.model) {
            models.push((ms.model.clone(), None));
        }
        if let Ok(mut contexts) = self.contexts.lock() {
            contexts.clear();
            contexts.extend(
                models
                    .iter()
                    .filter_map(|(id, c)| c.map(|c| (id.clone(), c))),
            );
        }
        spec.env.insert(
            "OPENCODE_CONFIG_CONTENT".into(),
            ms.opencode_config(&models).to_string(),
        );
        spec
    }

    /// `{providerID, modelID}` for the task's model: bare ids get the configured provider; an empty
    /// model falls back to the default — an empty model is never sent.
    fn model_ref(&self, model: &str) -> Result<Value, AgentError> {
        let model = Some(model.trim())
            .filter(|m| !m.is_empty())
            .or(self.options.default_model.as_deref().map(str::trim))
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                AgentError::Backend(
                    "no model for opencode: choose one for the task or set a default model".into(),
                )
            })?;
        let (provider, id) = match model.split_once('/') {
            Some((p, m)) if !p.is_empty() && !m.is_empty() => (p, m),
            _ => (self.options.provider_id.as_str(), model),
        };
        Ok(json!({"providerID": provider, "modelID": id}))
    }

    /// The boocode session's opencode session: the live one, else the remembered one (unless it
    /// crashed, was configured differently or is gone), else a new one in `directory`.
    async fn session_for(
        &self,
        key: &str,
        server: &OpencodeServer,
        directory: &Path,
        hash: &str,
    ) -> Result<String, AgentError> {
        let mut sessions = self.sessions.lock().await;
        if let Some(live) = sessions.get(key) {
            if live.hash == hash && live.directory == directory && live.server_pid == server.pid {
                return Ok(live.id.clone());
            }
            if live.server_pid != server.pid {
                tracing::info!(agent = %self.spec.id, session = key, "opencode restarted since this session's last turn; starting a fresh session");
            }
        }
        let remembered = match (&self.memory, sessions.contains_key(key)) {
            (Some(m), false) => m.recall(key, &self.spec.id).await,
            _ => None,
        };
        let mut id = None;
        if let Some(r) = remembered.filter(|r| r.status != "crashed" && r.config_hash == hash) {
            let path = format!("/session/{}", r.agent_session_id);
            match server
                .call(reqwest::Method::GET, &path, Some(directory), None)
                .await
            {
                Ok(_) => {
                    tracing::info!(agent = %self.spec.id, session = key, "resumed opencode session {}", r.agent_session_id);
                    id = Some(r.agent_session_id);
                }
                Err(e) => {
                    tracing::info!(agent = %self.spec.id, session = key, "the remembered opencode session is gone ({e}); starting fresh");
                }
            }
        }
        let id = match id {
            Some(id) => id,
            None => {
                let created = server
                    .call(
                        reqwest::Method::POST,
                        "/session",
                        Some(directory),
                        Some(&json!({})),
                    )
                    .await?;
                created["id"]
                    .as_str()
                    .ok_or_else(|| {
                        AgentError::Backend(format!(
                            "opencode created a session without an id: {created}"
                        ))
                    })?
                    .to_owned()
            }
        };
        sessions.insert(
            key.to_owned(),
            LiveSession {
                id: id.clone(),
                hash: hash.to_owned(),
                directory: directory.to_owned(),
                server_pid: server.pid,
            },
        );
        Ok(id)
    }

    /// Registers boocode's MCP server with the worktree's opencode instance (once per server and
    /// worktree), with the session's token, so opencode can queue tasks too. A failure only loses the
    /// tools, never the turn.
    async fn offer_mcp(&self, server: &OpencodeServer, dir: &Path, mcp: &McpEndpoint) {
        let mut offered = self.mcp_offered.lock().await;
        if !offered.insert((server.pid, dir.to_owned())) {
            return;
        }
        let headers: serde_json::Map<String, Value> = mcp
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let body = json!({"name": boocode_protocol::MCP_SERVER_NAME, "config": {
            "type": "remote", "url": mcp.url, "headers": headers, "oauth": false, "enabled": true}});
        if let Err(e) = server
            .call(reqwest::Method::POST, "/mcp", Some(dir), Some(&body))
            .await
        {
            tracing::warn!("offering boocode's MCP server to opencode failed: {e}");
            offered.remove(&(server.pid, dir.to_owned()));
        }
    }

    async fn forget(&self, key: &str) {
        self.sessions.lock().await.remove(key);
    }
}

/// The newest message id of a session ("" when it has none): this turn's messages sort after it.
async fn floor_of(
    server: &OpencodeServer,
    session: &str,
    dir: &Path,
) -> Result<String, AgentError> {
    let path = format!("/session/{session}/message?limit=1");
    let last = server
        .call(reqwest::Method::GET, &path, Some(dir), None)
        .await?;
    Ok(last
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m.pointer("/info/id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned())
}

/// Why a turn ended early.
enum Stop {
    Idle,
    Died,
    Quiet,
}

#[async_trait]
impl AgentBackend for OpencodeBackend {
    fn name(&self) -> &str {
        &self.spec.id
    }

    fn execution_path(&self) -> boocode_protocol::ExecutionPath {
        boocode_protocol::ExecutionPath::OpencodeServer
    }

    async fn prompt(&self, input: TurnInput, ctx: &TurnContext) -> Result<TurnOutcome, AgentError> {
        let Some(dir) = input.workdir.clone() else {
            return Err(AgentError::Backend(format!(
                "{} needs a worktree to run in",
                self.spec.label
            )));
        };
        let key = input
            .session_key
            .clone()
            .unwrap_or_else(|| "default".into());
        let model = self.model_ref(&input.model)?;
        let hash = config_hash(
            &self.spec.id,
            &format!("{}/{}", model["providerID"], model["modelID"]),
            input.mode_id.as_deref(),
        );
        let server = self.server().await?;
        let session = self.session_for(&key, &server, &dir, &hash).await?;
        self.remember(&key, &session, &hash, "active").await;
        if let Some(mcp) = &input.mcp {
            self.offer_mcp(&server, &dir, mcp).await;
        }
        let stream = server.subscribe(&dir).await?;
        let mut route = stream.route(&session);
        let floor = floor_of(&server, &session, &dir).await?;
        let text = input
            .history
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let mut body = json!({"parts": [{"type": "text", "text": text}], "model": model});
        if let Some(mode) = input.mode_id.as_deref().filter(|m| !m.is_empty()) {
            body["agent"] = json!(mode);
        }
        server
            .call(
                reqwest::Method::POST,
                &format!("/session/{session}/prompt_async"),
                Some(&dir),
                Some(&body),
            )
            .await?;

        let mut t = TurnTranslator::new(floor);
        let mut out = Vec::new();
        let (perm_tx, mut perm_rx) = mpsc::unbounded_channel();
        let mut asking = 0usize;
        let mut cancelled = false;
        let mut last_heard = Instant::now();
        let mut deadline: Option<Instant> = None;
        let stop = loop {
            let quiet_at = if asking > 0 {
                Instant::now() + self.options.inactivity
            } else {
                last_heard + self.options.inactivity
            };
            let wake = deadline.map_or(quiet_at, |d| d.min(quiet_at));
            tokio::select! {
                heard = route.rx.recv() => match heard {
                    Some(Heard::Event(event)) => {
                        last_heard = Instant::now();
                        let signal = t.handle(&event, &mut out);
                        for e in out.drain(..) {
                            ctx.emit(e);
                        }
                        match signal {
                            Signal::Idle => break Stop::Idle,
                            Signal::Permission(asked) => {
                                asking += 1;
                                relay_permission(server.clone(), dir.clone(), ctx.clone(), asked, perm_tx.clone());
                            }
                            Signal::Question(asked) => {
                                asking += 1;
                                relay_question(server.clone(), dir.clone(), ctx.clone(), asked, perm_tx.clone());
                            }
                            Signal::Continue => {}
                        }
                        if t.error.is_some() && deadline.is_none() {
                            deadline = Some(Instant::now() + ERROR_GRACE);
                        }
                    }
                    Some(Heard::Reconnected) => {
                        // Events may have been missed: if the session is no longer busy, the turn is over.
                        let status = server.call(reqwest::Method::GET, "/session/status", Some(&dir), None).await;
                        if let Ok(status) = status && status.get(&session).is_none() {
                            tracing::info!(session = %session, "opencode's stream came back with the session idle; reconciling");
                            break Stop::Idle;
                        }
                    }
                    None => break Stop::Died,
                },
                Some(()) = perm_rx.recv() => {
                    asking = asking.saturating_sub(1);
                    last_heard = Instant::now();
                }
                () = ctx.cancelled(), if !cancelled => {
                    cancelled = true;
                    let path = format!("/session/{session}/abort");
                    if let Err(e) = server.call(reqwest::Method::POST, &path, Some(&dir), None).await {
                        tracing::warn!("aborting the opencode session failed: {e}");
                    }
                    deadline = Some(Instant::now() + ABORT_DEADLINE);
                }
                () = server.died() => break Stop::Died,
                () = tokio::time::sleep_until(wake) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break Stop::Idle;
                    }
                    break Stop::Quiet;
                }
            }
        };
        drop(route);
        drop(stream);
        match stop {
            Stop::Died => {
                self.forget(&key).await;
                self.remember(&key, &session, &hash, "crashed").await;
                t.fail_open_tools("opencode exited", &mut out);
                out.drain(..).for_each(|e| ctx.emit(e));
                return Err(AgentError::Backend(format!(
                    "opencode serve exited during the turn ({})",
                    server.exit_report()
                )));
            }
            Stop::Quiet => {
                let abort = format!("/session/{session}/abort");
                let _ = server
                    .call(reqwest::Method::POST, &abort, Some(&dir), None)
                    .await;
                self.remember(&key, &session, &hash, "idle").await;
                t.fail_open_tools("no progress", &mut out);
                out.drain(..).for_each(|e| ctx.emit(e));
                return Err(AgentError::Backend(format!(
                    "opencode sent nothing for {} s; the turn was stopped",
                    self.options.inactivity.as_secs()
                )));
            }
            Stop::Idle => {}
        }
        if cancelled || t.aborted {
            // After an abort opencode writes the final parts after its idle.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let messages = format!("/session/{session}/message?limit=50");
        match server
            .call(reqwest::Method::GET, &messages, Some(&dir), None)
            .await
        {
            Ok(all) => t.reconcile(&all, &mut out),
            Err(e) => tracing::warn!("reconciling the opencode turn failed: {e}"),
        }
        if cancelled || t.aborted || t.error.is_some() {
            t.fail_open_tools(if cancelled { "cancelled" } else { "failed" }, &mut out);
        }
        if let Some(mut usage) = t.usage.take() {
            usage.context_limit = model["modelID"]
                .as_str()
                .and_then(|m| self.contexts.lock().ok()?.get(m).copied());
            out.push(AgentEvent::Usage { usage });
        }
        out.drain(..).for_each(|e| ctx.emit(e));
        self.remember(&key, &session, &hash, "idle").await;
        if cancelled {
            return Ok(TurnOutcome::Cancelled);
        }
        match t.error {
            Some(message) => Err(AgentError::Backend(format!("opencode: {message}"))),
            None => Ok(TurnOutcome::Completed),
        }
    }

    async fn close_session(&self, session_key: &str) {
        let live = self.sessions.lock().await.remove(session_key);
        let server = self.server.lock().await.clone();
        if let (Some(live), Some(server)) = (live, server.filter(|s| s.is_alive())) {
            let path = format!("/session/{}", live.id);
            if let Err(e) = server
                .call(reqwest::Method::DELETE, &path, Some(&live.directory), None)
                .await
            {
                tracing::debug!("deleting the opencode session failed: {e}");
            }
        }
    }

    async fn dispose(&self) {
        let server = self.server.lock().await.take();
        if let Some(server) = server {
            server.shutdown().await;
        }
        self.sessions.lock().await.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(default_model: Option<&str>) -> Arc<OpencodeBackend> {
        let spec = AgentSpec {
            id: "opencode".into(),
            label: "opencode".into(),
            command: "opencode".into(),
            args: Vec::new(),
            env: Default::default(),
            install_hint: None,
            home_files: Vec::new(),
            home: boocode_protocol::AgentHome::Private,
            user_home: None,
        };
        let options = OpencodeOptions {
            default_model: default_model.map(str::to_owned),
            ..OpencodeOptions::default()
        };
        OpencodeBackend::new(spec, PathBuf::from("/nonexistent"), options, None)
    }

    #[test]
    fn models_get_the_provider_prefix_and_never_go_out_empty() {
        let b = backend(Some("fallback"));
        assert_eq!(
            b.model_ref("fake-model").unwrap(),
            json!({"providerID": "boocode", "modelID": "fake-model"})
        );
        assert_eq!(
            b.model_ref("local/qwen3:32b").unwrap(),
            json!({"providerID": "local", "modelID": "qwen3:32b"})
        );
        assert_eq!(
            b.model_ref("  ").unwrap(),
            json!({"providerID": "boocode", "modelID": "fallback"})
        );
        let err = backend(None).model_ref("").unwrap_err().to_string();
        assert!(err.contains("no model"), "{err}");
    }
}
