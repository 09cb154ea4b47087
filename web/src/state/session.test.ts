import { describe, expect, it } from "vitest";
import type { Frame } from "../api/generated/types";
import { applyFrame, chatMessages, emptySession, withMessages } from "./session";

let seq = 0;
const f = (body: Record<string, unknown>): Frame => ({ seq: ++seq, session_id: "s1", ...body }) as Frame;

function stream(): Frame[] {
  seq = 0;
  return [
    f({ type: "message_started", message_id: "u1", chat_id: "c1", role: "user" }),
    f({ type: "message_started", message_id: "a1", chat_id: "c1", role: "assistant", model: "m", parent_id: "u1" }),
    f({ type: "reasoning_delta", message_id: "a1", chat_id: "c1", content: "think" }),
    f({ type: "delta", message_id: "a1", chat_id: "c1", content: "Hello" }),
    f({ type: "delta", message_id: "a1", chat_id: "c1", content: " " }),
    f({ type: "delta", message_id: "a1", chat_id: "c1", content: "world" }),
    f({
      type: "tool_call",
      message_id: "a1",
      chat_id: "c1",
      tool_call: { call_id: "k", title: "read", kind: "read", status: "pending", raw_input: null, raw_output: null },
    }),
    f({
      type: "tool_call",
      message_id: "a1",
      chat_id: "c1",
      tool_call: { call_id: "k", title: "read", kind: "read", status: "completed", raw_input: null, raw_output: "ok" },
    }),
    f({
      type: "message_complete",
      message_id: "a1",
      chat_id: "c1",
      status: "complete",
      usage: { prompt_tokens: 10, completion_tokens: 3, context_limit: 100 },
    }),
  ];
}

describe("session frames", () => {
  it("builds messages from a stream", () => {
    const s = stream().reduce(applyFrame, emptySession());
    const [user, reply] = chatMessages(s, "c1");
    expect(user.role).toBe("user");
    expect(reply.content).toBe("Hello world");
    expect(reply.reasoning).toBe("think");
    expect(reply.status).toBe("complete");
    expect(reply.tool_calls).toHaveLength(1);
    expect(reply.tool_calls[0].status).toBe("completed");
    expect(s.usage.c1.context_limit).toBe(100);
    expect(s.lastSeq).toBe(9);
  });

  it("ignores a replay that overlaps what was applied: nothing doubled", () => {
    const frames = stream();
    let s = frames.slice(0, 5).reduce(applyFrame, emptySession());
    // Reconnect with since=3: the server replays 4..9.
    s = frames.slice(3).reduce(applyFrame, s);
    expect(chatMessages(s, "c1")[1].content).toBe("Hello world");
  });

  it("continues from REST state: frames at or below last_seq are skipped", () => {
    const frames = stream();
    let s = withMessages(emptySession(6), "c1", [
      {
        id: "a1",
        session_id: "s1",
        chat_id: "c1",
        parent_id: null,
        role: "assistant",
        content: "Hello world",
        reasoning: "think",
        status: "streaming",
        error: null,
        model: "m",
        agent: null,
        tokens_prompt: null,
        tokens_completion: null,
        ttft_ms: null,
        duration_ms: null,
        compared: false,
        attachments: [],
        created_at: "",
        finished_at: null,
        tool_calls: [],
      },
    ]);
    s = frames.reduce(applyFrame, s);
    const reply = chatMessages(s, "c1").find((m) => m.id === "a1")!;
    expect(reply.content).toBe("Hello world");
    expect(reply.status).toBe("complete");
  });

  it("replaces only the message a delta touches", () => {
    const frames = stream();
    let s = frames.slice(0, 4).reduce(applyFrame, emptySession());
    const user = s.messages.u1;
    s = applyFrame(s, frames[4]);
    expect(s.messages.u1).toBe(user);
  });

  it("records errors, tasks and permissions", () => {
    seq = 100;
    let s = emptySession(100);
    s = applyFrame(s, f({ type: "message_started", message_id: "a", chat_id: "c", role: "assistant" }));
    s = applyFrame(s, f({ type: "message_error", message_id: "a", chat_id: "c", error: "model down" }));
    expect(s.messages.a.status).toBe("error");
    expect(s.messages.a.error).toBe("model down");
  });

  it("shows a turn status until the first text arrives", () => {
    seq = 200;
    let s = emptySession(200);
    s = applyFrame(s, f({ type: "message_started", message_id: "a", chat_id: "c", role: "assistant" }));
    s = applyFrame(s, f({ type: "turn_status", message_id: "a", chat_id: "c", status: "loading model" }));
    expect(s.turnStatus.a).toBe("loading model");
    expect(s.messages.a.reasoning).toBe("");
    s = applyFrame(s, f({ type: "delta", message_id: "a", chat_id: "c", content: "hi" }));
    expect(s.turnStatus.a).toBeUndefined();
  });
});
