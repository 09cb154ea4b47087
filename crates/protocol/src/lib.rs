//! Wire types only: REST DTOs, `Frame`, `AgentEvent` and ids. Knows nothing of storage, HTTP or agents;
//! the web UI's TypeScript types are generated from here (see `typescript`).

pub mod agents;
pub mod arena;
pub mod chat;
pub mod dto;
pub mod event;
pub mod frame;
pub mod ids;
pub mod review;
pub mod task;
pub mod terminal;
pub mod typescript;

pub use agents::*;
pub use arena::*;
pub use chat::*;
pub use dto::*;
pub use event::*;
pub use frame::*;
pub use ids::*;
pub use review::*;
pub use task::*;
pub use terminal::*;
