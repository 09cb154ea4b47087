//! `SessionMemory` over the store: the `agent_sessions` rows that let a warm agent session be resumed
//! after a restart, and that mark crashed ones so they never are.

use std::sync::Arc;

use async_trait::async_trait;
use boocode_agents::acp::{RememberedSession, SessionMemory};
use boocode_protocol::SessionId;
use boocode_store::{AgentSessionRow, Store};

/// Remembers nothing (probes, which never resume).
pub struct NoMemory;

#[async_trait]
impl SessionMemory for NoMemory {
    async fn recall(&self, _session_key: &str, _agent: &str) -> Option<RememberedSession> {
        None
    }

    async fn remember(&self, _session_key: &str, _agent: &str, _session: &RememberedSession) {}
}

/// Agent sessions kept in the store.
pub struct StoreMemory {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl SessionMemory for StoreMemory {
    async fn recall(&self, session_key: &str, agent: &str) -> Option<RememberedSession> {
        let row = self
            .store
            .get_agent_session(&SessionId(session_key.to_owned()), agent)
            .await
            .ok()??;
        Some(RememberedSession {
            backend: row.backend,
            agent_session_id: row.agent_session_id,
            config_hash: row.config_hash,
            status: row.status,
        })
    }

    async fn remember(&self, session_key: &str, agent: &str, session: &RememberedSession) {
        let row = AgentSessionRow {
            session_id: SessionId(session_key.to_owned()),
            agent: agent.to_owned(),
            backend: session.backend.clone(),
            agent_session_id: session.agent_session_id.clone(),
            status: session.status.clone(),
            config_hash: session.config_hash.clone(),
        };
        if let Err(e) = self.store.put_agent_session(&row).await {
            tracing::warn!(error = %e, "agent session not remembered");
        }
    }
}
