//! BooTerm on the wire: creating a terminal (or restarting one after a server restart), its state, and
//! resizing it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a terminal starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TerminalCwd {
    /// The session's worktree (created if the session has none yet).
    Worktree,
    /// The project's own working tree.
    Project,
}

/// `POST /api/sessions/{id}/terminals`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreateTerminalRequest {
    #[ts(optional = false)]
    pub cwd: TerminalCwd,
    #[ts(optional = false)]
    pub cols: u16,
    #[ts(optional = false)]
    pub rows: u16,
    /// A terminal of this session that ended with a server restart: the new shell starts in its
    /// directory (`cwd` is then ignored) with its old output above a marker.
    #[serde(default)]
    pub restore: Option<String>,
}

/// Where a terminal stands: `running`, its shell `exited`, or `gone` — it ended with a server restart
/// and can be restarted in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TerminalState {
    Running,
    Exited,
    Gone,
}

/// `GET /api/sessions/{id}/terminals/{tid}`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TerminalInfo {
    pub id: String,
    pub state: TerminalState,
    /// Its directory, when known.
    pub cwd: Option<String>,
}

/// The created terminal.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CreateTerminalResponse {
    pub id: String,
}

/// `POST /api/sessions/{id}/terminals/{tid}/resize`, and the WebSocket's `{"type":"resize",…}` message.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ResizeTerminalRequest {
    pub cols: u16,
    pub rows: u16,
}
