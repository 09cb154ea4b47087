//! Agent backends: the `AgentBackend` trait every turn runs through, and the backends themselves (native
//! today; ACP, opencode and PTY later). Backends know nothing of HTTP, the database or the broker: they
//! only emit `AgentEvent`s through the `TurnContext` they are given.

pub mod acp;
mod backend;
mod native;
pub mod opencode;
mod pool;
pub mod providers;
pub mod tools;

pub use backend::{
    AgentBackend, AgentError, McpEndpoint, PermissionAnswer, PermissionAsk, PermissionAsker,
    PermissionChoice, StdioBridge, TurnContext, TurnFence, TurnInput, TurnOutcome,
};
pub use native::NativeBackend;
pub use pool::{AgentPool, PoolError};
