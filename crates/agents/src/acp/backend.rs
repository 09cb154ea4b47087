//! `AcpBackend`: one warm agent process per boocode session for one agent. A turn reuses the live
//! session when its configuration hash matches; a crashed, hung or reconfigured session is replaced by a
//! fresh one. After a restart the agent's own session is resumed (`session/load`) when the agent supports
//! it and the remembered session neither crashed nor changed configuration. Idle sessions are closed after
//! `idle_timeout`; `dispose` closes all.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::process::AgentSpec;
use super::session::AcpSession;
use crate::backend::{AgentBackend, AgentError, TurnContext, TurnInput, TurnOutcome};

/// `sha256(backend|agent|model|mode)`: what must match for a session to be reused (never ports or pids).
pub fn config_hash(agent: &str, model: Option<&str>, mode: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(format!("acp|{agent}|{}|{}", model.unwrap_or(""), mode.unwrap_or("")).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An agent session as remembered between turns and across restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedSession {
    /// `acp_warm` or `opencode_server`.
    pub backend: String,
    pub agent_session_id: String,
    pub config_hash: String,
    /// `idle`, `active`, `crashed` or `closed`.
    pub status: String,
}

/// Where agent session ids are kept (the server implements it over the store); the backend never
/// sees the database.
#[async_trait]
pub trait SessionMemory: Send + Sync {
    async fn recall(&self, session_key: &str, agent: &str) -> Option<RememberedSession>;
    async fn remember(&self, session_key: &str, agent: &str, session: &RememberedSession);
}

/// A warm ACP agent per session.
pub struct AcpBackend {
    spec: AgentSpec,
    data_dir: PathBuf,
    sessions: Mutex<HashMap<String, Arc<Mutex<AcpSession>>>>,
    idle_timeout: Duration,
    memory: Option<Arc<dyn SessionMemory>>,
}

impl AcpBackend {
    /// A backend for `spec`; agents' private homes live under `data_dir`.
    pub fn new(
        spec: AgentSpec,
        data_dir: PathBuf,
        idle_timeout: Duration,
        memory: Option<Arc<dyn SessionMemory>>,
    ) -> Arc<Self> {
        let backend = Arc::new(Self {
            spec,
            data_dir,
            sessions: Mutex::default(),
            idle_timeout,
            memory,
        });
        tokio::spawn(reap_idle(Arc::downgrade(&backend)));
        backend
    }

    /// The agent's process id for a boocode session, if one is warm (tests and diagnostics).
    pub async fn pid(&self, session_key: &str) -> Option<u32> {
        let session = self.sessions.lock().await.get(session_key).cloned()?;
        let s = session.lock().await;
        s.is_alive().then(|| s.pid())
    }

    async fn remember(&self, key: &str, agent_session_id: &str, hash: &str, status: &str) {
        if let Some(memory) = &self.memory {
            let row = RememberedSession {
                backend: "acp_warm".into(),
                agent_session_id: agent_session_id.to_owned(),
                config_hash: hash.to_owned(),
                status: status.to_owned(),
            };
            memory.remember(key, &self.spec.id, &row).await;
        }
    }

    async fn session_for(
        &self,
        key: &str,
        input: &TurnInput,
        ctx: &TurnContext,
    ) -> Result<Arc<Mutex<AcpSession>>, AgentError> {
        let Some(cwd) = input.workdir.clone() else {
            return Err(AgentError::Backend(format!(
                "{} needs a worktree to run in",
                self.spec.label
            )));
        };
        let hash = config_hash(&self.spec.id, Some(&input.model), input.mode_id.as_deref());
        let existing = self.sessions.lock().await.get(key).cloned();
        if let Some(existing) = existing {
            let mut s = existing.lock().await;
            if s.is_alive() && s.config_hash == hash && s.cwd == cwd {
                drop(s);
                return Ok(existing);
            }
            tracing::info!(agent = %self.spec.id, session = key, "agent session not reusable (crashed or reconfigured); starting fresh");
            s.shutdown().await;
        }
        let (home, _) = self.spec.home_dir(&self.data_dir);
        let remembered = match &self.memory {
            Some(m) => m.recall(key, &self.spec.id).await,
            None => None,
        };
        let resume = remembered
            .as_ref()
            .filter(|r| r.status != "crashed" && r.config_hash == hash);
        if remembered.is_some() && resume.is_none() {
            tracing::info!(agent = %self.spec.id, session = key, "the earlier agent session crashed or was configured differently; starting fresh");
        }
        let resume_id = resume.map(|r| r.agent_session_id.as_str());
        let (session, note) = AcpSession::start(
            &self.spec,
            &cwd,
            &home,
            hash.clone(),
            resume_id,
            input.mcp.as_ref(),
        )
        .await?;
        if let Some(note) = note {
            tracing::info!(agent = %self.spec.id, session = key, "{note}");
            ctx.emit(boocode_protocol::AgentEvent::Text {
                content: format!("({note})\n\n"),
            });
        } else if resume.is_some() {
            tracing::info!(agent = %self.spec.id, session = key, "resumed the agent session after a restart");
        }
        self.remember(key, &session.agent_session_id, &hash, "active")
            .await;
        let session = Arc::new(Mutex::new(session));
        self.sessions
            .lock()
            .await
            .insert(key.to_owned(), session.clone());
        Ok(session)
    }
}

#[async_trait]
impl AgentBackend for AcpBackend {
    fn name(&self) -> &str {
        &self.spec.id
    }

    fn execution_path(&self) -> boocode_protocol::ExecutionPath {
        boocode_protocol::ExecutionPath::Acp
    }

    async fn prompt(&self, input: TurnInput, ctx: &TurnContext) -> Result<TurnOutcome, AgentError> {
        let key = input
            .session_key
            .clone()
            .unwrap_or_else(|| "default".into());
        let session = self.session_for(&key, &input, ctx).await?;
        let mut session = session.lock().await;
        session
            .apply_config(
                Some(&input.model),
                input.mode_id.as_deref(),
                input.thinking.as_deref(),
            )
            .await?;
        let text = input
            .history
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let outcome = session.prompt(&text, ctx).await;
        let alive = session.is_alive();
        let (id, hash) = (
            session.agent_session_id.clone(),
            session.config_hash.clone(),
        );
        if !alive {
            session.shutdown().await;
        }
        self.remember(&key, &id, &hash, if alive { "idle" } else { "crashed" })
            .await;
        outcome
    }

    async fn close_session(&self, session_key: &str) {
        let removed = self.sessions.lock().await.remove(session_key);
        if let Some(session) = removed {
            session.lock().await.shutdown().await;
        }
    }

    async fn dispose(&self) {
        let all: Vec<_> = self.sessions.lock().await.drain().map(|(_, s)| s).collect();
        for session in all {
            session.lock().await.shutdown().await;
        }
    }
}

async fn reap_idle(backend: Weak<AcpBackend>) {
    loop {
        tokio::time::sleep(Duration::from_secs(15)).await;
        let Some(backend) = backend.upgrade() else {
            return;
        };
        let mut idle = Vec::new();
        {
            let mut sessions = backend.sessions.lock().await;
            let keys: Vec<String> = sessions.keys().cloned().collect();
            for key in keys {
                let Some(session) = sessions.get(&key).cloned() else {
                    continue;
                };
                // A session in a turn is locked: skip it.
                let Ok(s) = session.try_lock() else { continue };
                if s.last_used.elapsed() >= backend.idle_timeout || !s.is_alive() {
                    drop(s);
                    sessions.remove(&key);
                    idle.push(session);
                }
            }
        }
        for session in idle {
            tracing::info!(agent = %backend.spec.id, "closing an idle agent session");
            session.lock().await.shutdown().await;
        }
    }
}
