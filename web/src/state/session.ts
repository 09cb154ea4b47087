// A session's live state: what REST returned, then every frame applied in order. Frames carry a
// per-session sequence number; one at or below `lastSeq` was already applied (a replay after a reconnect
// overlaps what we have) and is skipped, so text is never doubled. Only the objects a frame touches are
// replaced, so a delta re-renders only the message it extends.

import type {
  Arena,
  Chat,
  Frame,
  Message,
  PendingChange,
  PermissionRequest,
  Task,
  ToolCall,
  Usage,
  AgentCommand,
} from "../api/generated/types";
import { activePath } from "./tree";

export interface SessionState {
  lastSeq: number;
  chats: Record<string, Chat>;
  messages: Record<string, Message>;
  /** Message ids per chat (every branch), oldest first. */
  order: Record<string, string[]>;
  usage: Record<string, Usage>;
  tasks: Record<string, Task>;
  changes: Record<string, PendingChange>;
  permissions: Record<string, PermissionRequest>;
  commands: AgentCommand[];
  /** What a streaming message waits on (e.g. a model loading), by message id. */
  turnStatus: Record<string, string>;
  /** Arenas this session races in, by id. */
  arenas: Record<string, Arena>;
  /** Set when the server asked us to reload (`resync`). */
  stale: boolean;
}

export function emptySession(lastSeq = 0): SessionState {
  return {
    lastSeq,
    chats: {},
    messages: {},
    order: {},
    usage: {},
    tasks: {},
    changes: {},
    permissions: {},
    commands: [],
    arenas: {},
    turnStatus: {},
    stale: false,
  };
}

/** Adds messages loaded over REST (a chat's history). */
export function withMessages(state: SessionState, chat: string, messages: Message[]): SessionState {
  const all = { ...state.messages };
  for (const m of messages) all[m.id] = m;
  const known = new Set(state.order[chat] ?? []);
  const order = [...(state.order[chat] ?? [])];
  for (const m of messages) if (!known.has(m.id)) order.push(m.id);
  return { ...state, messages: all, order: { ...state.order, [chat]: order } };
}

function upsertTool(calls: ToolCall[], call: ToolCall): ToolCall[] {
  const at = calls.findIndex((c) => c.call_id === call.call_id);
  if (at < 0) return [...calls, call];
  const next = [...calls];
  next[at] = call;
  return next;
}

function touch(state: SessionState, id: string, change: (m: Message) => Message): SessionState {
  const m = state.messages[id];
  if (!m) return state;
  return { ...state, messages: { ...state.messages, [id]: change(m) } };
}

/** Applies one frame; frames already applied are ignored. */
export function applyFrame(state: SessionState, frame: Frame): SessionState {
  if (frame.seq <= state.lastSeq) return state;
  const s = { ...state, lastSeq: frame.seq };
  switch (frame.type) {
    case "message_started": {
      if (s.messages[frame.message_id]) return s;
      const m: Message = {
        id: frame.message_id,
        session_id: frame.session_id,
        chat_id: frame.chat_id,
        parent_id: frame.parent_id ?? null,
        role: frame.role,
        content: "",
        reasoning: "",
        status: frame.role === "assistant" ? "streaming" : "complete",
        error: null,
        model: frame.model ?? null,
        agent: frame.agent ?? null,
        tokens_prompt: null,
        tokens_completion: null,
        ttft_ms: null,
        duration_ms: null,
        compared: frame.compared ?? false,
        attachments: frame.attachments ?? [],
        created_at: new Date().toISOString(),
        finished_at: null,
        tool_calls: [],
      };
      const order = [...(s.order[frame.chat_id] ?? []), m.id];
      // The server makes every new message its chat's active leaf.
      const chat = s.chats[frame.chat_id];
      const chats = chat ? { ...s.chats, [chat.id]: { ...chat, active_leaf_id: m.id } } : s.chats;
      return { ...s, chats, messages: { ...s.messages, [m.id]: m }, order: { ...s.order, [frame.chat_id]: order } };
    }
    case "delta": {
      const next = touch(s, frame.message_id, (m) => ({ ...m, content: m.content + frame.content }));
      if (!(frame.message_id in next.turnStatus)) return next;
      const { [frame.message_id]: _done, ...rest } = next.turnStatus;
      return { ...next, turnStatus: rest };
    }
    case "turn_status":
      return { ...s, turnStatus: { ...s.turnStatus, [frame.message_id]: frame.status } };
    case "reasoning_delta":
      return touch(s, frame.message_id, (m) => ({ ...m, reasoning: m.reasoning + frame.content }));
    case "tool_call":
      return touch(s, frame.message_id, (m) => ({ ...m, tool_calls: upsertTool(m.tool_calls, frame.tool_call) }));
    case "message_complete": {
      const next = touch(s, frame.message_id, (m) => ({
        ...m,
        status: frame.status,
        finished_at: new Date().toISOString(),
        tokens_prompt: frame.usage?.prompt_tokens ?? m.tokens_prompt,
        tokens_completion: frame.usage?.completion_tokens ?? m.tokens_completion,
        ttft_ms: frame.ttft_ms ?? m.ttft_ms,
        duration_ms: frame.duration_ms ?? m.duration_ms,
      }));
      return frame.usage ? { ...next, usage: { ...next.usage, [frame.chat_id]: frame.usage } } : next;
    }
    case "message_error":
      return touch(s, frame.message_id, (m) => ({ ...m, status: "error", error: frame.error }));
    case "chat_updated":
      return { ...s, chats: { ...s.chats, [frame.chat.id]: frame.chat } };
    case "task_updated":
      return { ...s, tasks: { ...s.tasks, [frame.task.id]: frame.task } };
    case "pending_change":
      return { ...s, changes: { ...s.changes, [frame.change.id]: frame.change } };
    case "permission_request":
    case "permission_resolved":
      return { ...s, permissions: { ...s.permissions, [frame.request.id]: frame.request } };
    case "agent_commands":
      return { ...s, commands: frame.commands };
    case "arena_updated":
      return { ...s, arenas: { ...s.arenas, [frame.arena.id]: frame.arena } };
  }
}

/** The messages of a chat's active branch, oldest first. */
export function chatMessages(state: SessionState, chat: string): Message[] {
  return activePath(state.messages, state.order[chat] ?? [], state.chats[chat]?.active_leaf_id);
}
