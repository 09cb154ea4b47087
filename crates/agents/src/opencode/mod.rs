//! The opencode backend over `opencode serve` (docs/ARCHITECTURE.md §7): one warm server per boocode process, one
//! opencode session per boocode session (resumed across turns and restarts), events over one SSE stream
//! per worktree. docs/ARCHITECTURE.md §7 describes it.

mod backend;
mod events;
mod markup;
mod permissions;
mod server;
mod translate;

pub use backend::{OpencodeBackend, OpencodeOptions};
