//! The permission relay: an agent's request becomes a persisted row and a `permission_request` frame;
//! `POST /api/permissions/{id}` answers it; no answer within the timeout denies it (by kind); a cancelled
//! turn answers `cancelled`. Every ending publishes `permission_resolved`. An "allow always" answer becomes
//! a rule of the session (per tool kind) that answers later requests of that kind without asking.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use boocode_agents::{PermissionAnswer, PermissionAsk, PermissionAsker};
use boocode_protocol::{
    FrameBody, PermissionId, PermissionKind, PermissionOption, PermissionRequest, PermissionRule,
    PermissionRuleId, SessionId, TaskId, ToolKind,
};
use boocode_store::Store;
use chrono::Utc;
use tokio::sync::oneshot;

use crate::broker::Broker;
use crate::error::ApiError;

/// Shared relay; cheap to clone.
#[derive(Clone)]
pub struct PermissionRelay {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    broker: Broker,
    waiting: Mutex<HashMap<PermissionId, oneshot::Sender<String>>>,
    timeout: Duration,
}

impl PermissionRelay {
    /// A relay that denies requests left unanswered for `timeout`.
    pub fn new(store: Arc<dyn Store>, broker: Broker, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                broker,
                waiting: Mutex::default(),
                timeout,
            }),
        }
    }

    /// The asker a turn of `session` (and `task`) hands to its backend.
    pub fn asker(&self, session: SessionId, task: Option<TaskId>) -> Arc<dyn PermissionAsker> {
        Arc::new(Asker {
            relay: self.clone(),
            session,
            task,
        })
    }

    async fn settle(&self, id: &PermissionId, decision: &str) {
        if let Ok(mut waiting) = self.inner.waiting.lock() {
            waiting.remove(id);
        }
        match self.inner.store.decide_permission(id, decision).await {
            Ok(request) => {
                self.publish(FrameBody::PermissionResolved { request })
                    .await
            }
            Err(e) => tracing::debug!(error = %e, "permission already settled"),
        }
    }

    async fn publish(&self, body: FrameBody) {
        let session = match &body {
            FrameBody::PermissionRequest { request }
            | FrameBody::PermissionResolved { request } => request.session_id.clone(),
            _ => return,
        };
        if let Err(e) = self.inner.broker.publish(&session, body).await {
            tracing::warn!(error = %e, "permission frame not published");
        }
    }

    /// Answers a request with one of its options.
    pub async fn answer(
        &self,
        id: &PermissionId,
        option_id: &str,
    ) -> Result<PermissionRequest, ApiError> {
        let request = self.inner.store.get_permission(id).await?;
        if let Some(decision) = &request.decision {
            return Err(ApiError::conflict(format!(
                "permission request {id} was already answered ({decision})"
            )));
        }
        if !request.options.iter().any(|o| o.option_id == option_id) {
            let known: Vec<&str> = request
                .options
                .iter()
                .map(|o| o.option_id.as_str())
                .collect();
            return Err(ApiError::bad_request(format!(
                "unknown option {option_id:?}; choose one of {}",
                known.join(", ")
            )));
        }
        let waiter = self
            .inner
            .waiting
            .lock()
            .ok()
            .and_then(|mut w| w.remove(id));
        let Some(waiter) = waiter else {
            self.settle(id, "expired").await;
            return Err(ApiError::conflict(format!(
                "no agent is waiting for permission request {id} any more"
            )));
        };
        let decided = self.inner.store.decide_permission(id, option_id).await?;
        let always = request
            .options
            .iter()
            .any(|o| o.option_id == option_id && o.kind == PermissionKind::AllowAlways);
        if always {
            self.remember(&request).await;
        }
        let _ = waiter.send(option_id.to_owned());
        self.publish(FrameBody::PermissionResolved {
            request: decided.clone(),
        })
        .await;
        Ok(decided)
    }
}

impl PermissionRelay {
    /// Stores "always allow this kind of tool in this session" after the user chose so.
    async fn remember(&self, request: &PermissionRequest) {
        let rule = PermissionRule {
            id: PermissionRuleId::new(),
            session_id: request.session_id.clone(),
            kind: tool_kind(&request.tool_call),
            created_at: Utc::now(),
        };
        if let Err(e) = self.inner.store.insert_permission_rule(&rule).await {
            tracing::warn!(error = %e, "permission rule not stored");
        }
    }

    /// The option a standing rule of the session answers this request with, if one applies: the
    /// request's own "allow always" (else "allow once") option, so the agent hears a choice it offered.
    async fn ruled(&self, request: &PermissionRequest) -> Option<String> {
        let kind = tool_kind(&request.tool_call);
        let rules = match self
            .inner
            .store
            .list_permission_rules(&request.session_id)
            .await
        {
            Ok(rules) => rules,
            Err(e) => {
                tracing::warn!(error = %e, "permission rules not read; asking");
                return None;
            }
        };
        if !rules.iter().any(|r| r.kind == kind) {
            return None;
        }
        [PermissionKind::AllowAlways, PermissionKind::AllowOnce]
            .into_iter()
            .find_map(|k| request.options.iter().find(|o| o.kind == k))
            .map(|o| o.option_id.clone())
    }
}

/// The tool kind a request's tool call names (`other` when it names none).
fn tool_kind(tool_call: &serde_json::Value) -> ToolKind {
    ToolKind::parse(
        tool_call
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("other"),
    )
}

struct Asker {
    relay: PermissionRelay,
    session: SessionId,
    task: Option<TaskId>,
}

/// Settles a request whose turn went away (cancelled) before anyone answered.
struct Unanswered {
    relay: PermissionRelay,
    id: PermissionId,
    armed: bool,
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if self.armed {
            let (relay, id) = (self.relay.clone(), self.id.clone());
            tokio::spawn(async move { relay.settle(&id, "cancelled").await });
        }
    }
}

#[async_trait]
impl PermissionAsker for Asker {
    async fn ask(&self, ask: PermissionAsk) -> PermissionAnswer {
        let relay = &self.relay;
        let request = PermissionRequest {
            id: PermissionId::new(),
            session_id: self.session.clone(),
            task_id: self.task.clone(),
            tool_call: ask.tool_call.clone(),
            options: ask
                .options
                .iter()
                .map(|o| PermissionOption {
                    option_id: o.option_id.clone(),
                    name: o.name.clone(),
                    kind: o.kind,
                })
                .collect(),
            decision: None,
            created_at: Utc::now(),
            decided_at: None,
        };
        if let Err(e) = relay.inner.store.insert_permission(&request).await {
            tracing::error!(error = %e, "permission request not stored; denied");
            return ask.deny();
        }
        if let Some(option) = relay.ruled(&request).await {
            tracing::info!(request = %request.id, "permission allowed by the session's rule");
            relay.settle(&request.id, &option).await;
            return PermissionAnswer::Selected(option);
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiting) = relay.inner.waiting.lock() {
            waiting.insert(request.id.clone(), tx);
        }
        let mut guard = Unanswered {
            relay: relay.clone(),
            id: request.id.clone(),
            armed: true,
        };
        relay
            .publish(FrameBody::PermissionRequest {
                request: request.clone(),
            })
            .await;
        let answer = tokio::time::timeout(relay.inner.timeout, rx).await;
        guard.armed = false;
        match answer {
            Ok(Ok(option)) => PermissionAnswer::Selected(option),
            _ => {
                tracing::info!(request = %request.id, "permission request unanswered; denied");
                relay.settle(&request.id, "timeout").await;
                ask.deny()
            }
        }
    }
}
