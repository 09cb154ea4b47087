//! OpenAI-compatible client for local model servers (llama-swap, llama.cpp, vLLM, Ollama): model listing,
//! streaming chat completions (text, reasoning, tool-call deltas, usage) and typed errors. Knows nothing of
//! boocode's store, frames or agents; docs/ARCHITECTURE.md §15 lists the wire quirks handled.

mod client;
mod error;
mod models;
mod stream;
mod think;
mod tools;
mod wire;

pub use client::{LlmClient, LlmConfig};
pub use error::LlmError;
pub use models::RemoteModel;
pub use stream::{ChatStream, StreamEvent};
pub use think::ThinkSplitter;
pub use tools::{ToolCallAccumulator, ToolCallRequest};
pub use wire::{
    ChatMessage, ChatRequest, Completion, TokenUsage, ToolSpec, WireFunction, WireToolCall,
};
