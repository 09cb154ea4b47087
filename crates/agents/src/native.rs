//! The native backend: boocode's own loop over the model server. Each step streams one completion; if
//! the model calls tools, they run (through the path guard, in the turn's workdir), their results go back,
//! and the next step starts — up to `max_steps`. Chat is the tool-less case: one step.

use std::path::PathBuf;

use async_trait::async_trait;
use boocode_llm::{ChatMessage, ChatRequest, LlmClient, StreamEvent, ToolCallRequest};
use boocode_protocol::{AgentEvent, ToolCall, ToolStatus, Usage};

use crate::backend::{AgentBackend, AgentError, TurnContext, TurnInput, TurnOutcome};
use crate::tools::{self, ToolAccess};

/// Runs turns directly against an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    llm: LlmClient,
}

enum Step {
    Cancelled,
    Done {
        text: String,
        calls: Vec<ToolCallRequest>,
    },
}

impl NativeBackend {
    /// A backend over `llm`.
    pub fn new(llm: LlmClient) -> Self {
        Self { llm }
    }

    /// One streamed completion: text and reasoning are emitted as they come; tool calls at the end.
    async fn step(
        &self,
        request: &ChatRequest,
        ctx: &TurnContext,
        usage: &mut Usage,
    ) -> Result<Step, AgentError> {
        // Dropping the stream (on cancel) closes the connection, which stops generation upstream.
        let mut stream = tokio::select! {
            s = self.llm.stream_chat(request) => s?,
            () = ctx.cancelled() => return Ok(Step::Cancelled),
        };
        let mut text = String::new();
        let mut calls = Vec::new();
        loop {
            let next = tokio::select! {
                n = stream.next() => n,
                () = ctx.cancelled() => return Ok(Step::Cancelled),
            };
            match next {
                None | Some(Ok(StreamEvent::Done { .. })) => return Ok(Step::Done { text, calls }),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(StreamEvent::Content(content))) => {
                    text.push_str(&content);
                    ctx.emit(AgentEvent::Text { content });
                }
                Some(Ok(StreamEvent::Reasoning(content))) => {
                    ctx.emit(AgentEvent::Reasoning { content })
                }
                Some(Ok(StreamEvent::Usage(u))) => {
                    // The window fills with the last prompt; completions add up over the steps.
                    usage.prompt_tokens = u.prompt_tokens;
                    usage.completion_tokens += u.completion_tokens;
                    ctx.emit(AgentEvent::Usage { usage: *usage });
                }
                Some(Ok(StreamEvent::ToolCalls(c))) => calls = c,
                Some(Ok(StreamEvent::Loading(status))) => ctx.emit(AgentEvent::Status { status }),
            }
        }
    }

    async fn run_tool(
        &self,
        call: &ToolCallRequest,
        access: ToolAccess,
        workdir: Option<&PathBuf>,
        ctx: &TurnContext,
    ) -> String {
        let input: serde_json::Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| serde_json::Value::String(call.arguments.clone()));
        let (title, kind) = tools::describe(&call.name, &input);
        let mut record = ToolCall {
            call_id: call.id.clone(),
            title,
            kind,
            status: ToolStatus::InProgress,
            raw_input: Some(input),
            raw_output: None,
        };
        ctx.emit(AgentEvent::ToolCall {
            tool_call: record.clone(),
        });
        let writes = matches!(call.name.as_str(), "write_file" | "edit_file");
        let result = match workdir {
            Some(_) if writes && !ctx.may_write().await => {
                Err("this worker no longer owns the task (its lease was taken over); nothing was written".into())
            }
            Some(dir) => {
                let (name, args, dir) = (call.name.clone(), call.arguments.clone(), dir.clone());
                let budget = tools::ToolBudget::default();
                let inside = budget.clone();
                let work = tokio::task::spawn_blocking(move || {
                    tools::execute(&name, &args, access, &dir, &inside)
                });
                // Cancel and the deadline win even if the tool never reaches a check: the turn stops
                // waiting, and the raised flag ends the blocking thread at its next check.
                tokio::select! {
                    biased;
                    () = ctx.cancelled() => {
                        budget.cancel();
                        Err("cancelled".into())
                    }
                    done = work => done.unwrap_or_else(|e| Err(format!("tool crashed: {e}"))),
                    () = tokio::time::sleep(tools::TOOL_DEADLINE + std::time::Duration::from_secs(1)) => {
                        budget.cancel();
                        Err(format!("the tool did not finish within {} s", tools::TOOL_DEADLINE.as_secs()))
                    }
                }
            }
            None => Err("no working directory for tools in this turn".into()),
        };
        let (status, output) = match result {
            Ok(out) => (ToolStatus::Completed, out),
            Err(err) => (ToolStatus::Failed, format!("error: {err}")),
        };
        record.status = status;
        record.raw_output = Some(serde_json::Value::String(output.clone()));
        ctx.emit(AgentEvent::ToolUpdate { tool_call: record });
        output
    }
}

#[async_trait]
impl AgentBackend for NativeBackend {
    fn name(&self) -> &str {
        "native"
    }

    fn execution_path(&self) -> boocode_protocol::ExecutionPath {
        boocode_protocol::ExecutionPath::Native
    }

    async fn prompt(&self, input: TurnInput, ctx: &TurnContext) -> Result<TurnOutcome, AgentError> {
        let specs = tools::specs(input.tools);
        let mut messages = input.history;
        let mut usage = Usage::default();
        for step in 0..=input.max_steps {
            let request = ChatRequest {
                model: input.model.clone(),
                messages: messages.clone(),
                tools: specs.clone(),
                extra: input.request_extra.clone(),
                ..Default::default()
            };
            let (text, calls) = match self.step(&request, ctx, &mut usage).await? {
                Step::Cancelled => return Ok(TurnOutcome::Cancelled),
                Step::Done { text, calls } => (text, calls),
            };
            if calls.is_empty() || input.tools == ToolAccess::None {
                if !calls.is_empty() {
                    tracing::debug!(
                        count = calls.len(),
                        "ignoring tool calls in a tool-less turn"
                    );
                }
                return Ok(TurnOutcome::Completed);
            }
            if step == input.max_steps {
                ctx.emit(AgentEvent::Text {
                    content: format!(
                        "\n\n(Stopped: reached the limit of {} tool steps.)",
                        input.max_steps
                    ),
                });
                return Ok(TurnOutcome::Completed);
            }
            messages.push(ChatMessage::assistant_calls(text, &calls));
            for call in &calls {
                if ctx.is_cancelled() {
                    return Ok(TurnOutcome::Cancelled);
                }
                let output = self
                    .run_tool(call, input.tools, input.workdir.as_ref(), ctx)
                    .await;
                messages.push(ChatMessage::tool_result(call.id.clone(), output));
            }
        }
        Ok(TurnOutcome::Completed)
    }
}
