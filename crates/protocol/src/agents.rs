//! Providers and permission requests on the wire (docs/ARCHITECTURE.md §5, §7).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::dto::ToolKind;
use crate::frame::AgentCommand;
use crate::ids::{PermissionId, PermissionRuleId, SessionId, TaskId};

/// The name boocode's MCP server goes by in `session/new.mcpServers` (agents prefix its tools with it).
pub const MCP_SERVER_NAME: &str = "boocode";

/// An external agent's session kept for a boocode session (`GET /api/sessions/{id}/agents`): which of
/// the agent's own sessions the next turn resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AgentSessionInfo {
    pub agent: String,
    /// `acp_warm` or `opencode_server`.
    pub backend: String,
    pub agent_session_id: String,
    /// `idle`, `active`, `crashed` or `closed`.
    pub status: String,
}

/// One entry of `providers.json`: replaces a built-in's settings wholesale, or defines a custom ACP agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct ProviderOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// `acp` or `opencode_server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Where the agent's home is: the user's own (their config and logins apply) or a private one
    /// under boocode's data dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<AgentHome>,
}

/// Which `HOME` (and XDG directories) an agent runs with. Either way boocode's own secrets never reach
/// it: the environment is rebuilt from a short allowlist plus the provider's own variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AgentHome {
    /// The user's real home: an agent they set up (a local provider, a login) works as configured.
    User,
    /// `<data dir>/agents/<id>/home`: a clean slate boocode writes the agent's settings into.
    Private,
}

/// `providers.json`, and the body of `GET /api/providers/config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ProvidersFile {
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderOverride>,
}

/// `PATCH /api/providers/config`: each named id's override is replaced; `null` removes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PatchProvidersRequest {
    pub providers: BTreeMap<String, Option<ProviderOverride>>,
}

/// `POST /api/providers/snapshot`: probe the agents (a probe starts an agent, so it is never a GET).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ProbeProvidersRequest {
    /// Probe every agent again; otherwise only those never probed or probed too long ago.
    #[serde(default)]
    pub force: bool,
}

/// A provider as `GET /api/providers/snapshot` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProviderInfo {
    pub id: String,
    pub label: String,
    /// `native`, `acp` or `opencode_server`.
    pub backend: String,
    pub enabled: bool,
    pub installed: bool,
    pub command: Option<String>,
    pub install_path: Option<String>,
    pub version: Option<String>,
    pub models: Vec<String>,
    pub modes: Vec<String>,
    /// Thinking levels the agent offers (its `thought_level` option).
    #[serde(default)]
    pub thinking: Vec<String>,
    pub commands: Vec<AgentCommand>,
    pub error: Option<String>,
    pub last_probed_at: Option<DateTime<Utc>>,
    /// The home it runs with (`None` for the native agent, which runs in-process).
    pub home: Option<AgentHome>,
    /// The home directory that means here.
    pub home_dir: Option<String>,
    /// Its arguments, as it is started.
    pub args: Vec<String>,
    /// The variables boocode sets for it; values of names that look secret are masked.
    pub env: BTreeMap<String, String>,
}

/// `GET /api/providers/snapshot`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProvidersSnapshot {
    pub providers: Vec<ProviderInfo>,
    /// Why `providers.json` was ignored, when it was.
    pub config_error: Option<String>,
}

/// One choice an agent offers in a permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PermissionOption {
    pub option_id: String,
    pub name: String,
    pub kind: PermissionKind,
}

/// What choosing a permission option means (ACP's four kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PermissionKind {
    AllowOnce,
    AllowAlways,
    RejectOnce,
    RejectAlways,
}

impl PermissionKind {
    /// The kind an agent names; `None` for one that is not ACP's (such an option is not offered).
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::AllowOnce,
            Self::AllowAlways,
            Self::RejectOnce,
            Self::RejectAlways,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowOnce => "allow_once",
            Self::AllowAlways => "allow_always",
            Self::RejectOnce => "reject_once",
            Self::RejectAlways => "reject_always",
        }
    }
}

/// An agent's request for the user's consent, persisted until answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PermissionRequest {
    pub id: PermissionId,
    pub session_id: SessionId,
    pub task_id: Option<TaskId>,
    #[ts(type = "unknown")]
    pub tool_call: serde_json::Value,
    pub options: Vec<PermissionOption>,
    /// The chosen option id, or `cancelled` / `timeout` / `expired`.
    pub decision: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A session's standing answer: requests of this tool kind are allowed without asking, until revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PermissionRule {
    pub id: PermissionRuleId,
    pub session_id: SessionId,
    pub kind: ToolKind,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/permissions/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct AnswerPermissionRequest {
    pub option_id: String,
}
