//! The ACP backend (docs/ARCHITECTURE.md §7): a warm agent process per (session, agent) speaking the Agent Client
//! Protocol over stdio. The connection layer is ours (line-level logging, a dispatch loop that never
//! waits on a handler, lenient parsing); message shapes follow the v1 schema.

mod backend;
pub mod config;
mod dispatch;
pub mod probe;
pub mod process;
pub mod rpc;
mod session;
mod terminal;
pub mod translate;

pub use backend::{AcpBackend, RememberedSession, SessionMemory, config_hash};
pub use process::AgentSpec;
