//! The boocode server: HTTP API, WebSocket frames, the broker, the turn recorder and the chat service,
//! assembled over the store, the model client and the agent backends. Knows HTTP; the crates below it
//! do not.

mod agent_memory;
mod api;
mod app;
pub mod arena;
mod assets;
pub mod broker;
mod changes;
mod chat;
mod chat_transfer;
mod chat_tree;
mod coding;
pub mod config;
pub mod dispatcher;
mod error;
mod extract;
pub mod mcp;
pub mod mcp_bridge;
mod models;
pub mod permissions;
pub mod providers;
pub mod recorder;
pub mod scheduling;
mod security;
pub mod sessions;
pub mod skills;
pub mod tasks;
pub mod terminals;
pub mod title;
mod uploads;
mod ws;

pub use app::{AppState, RunningServer, ServerError, probe_providers, start};
pub use config::{Config, ConfigError, ConfigOverrides};
