// One message of a transcript: markdown answer, collapsible reasoning, tool cards, and — in chats — the
// actions people expect on every message: copy, edit & resend, regenerate (with another model), retry,
// fork, `< 2/3 >` between branches, and the reply's metrics. Memoised: a delta re-renders only the
// message it extends.

import { memo, useState } from "react";
import { Brain, Check, ChevronLeft, ChevronRight, Copy, FastForward, GitFork, Pencil, RefreshCw, Wrench } from "lucide-react";
import type { Message, ToolCall } from "../api/generated/types";
import { Markdown, StreamingMarkdown } from "./Markdown";

export function ToolCard({ call }: { call: ToolCall }) {
  return (
    <details className={`tool tool-${call.status}`}>
      <summary>
        <Wrench size={13} /> <b>{call.title}</b> <span className="kind">{call.kind}</span>{" "}
        <span className="status">{call.status}</span>
      </summary>
      {call.raw_input != null && <pre className="io">{JSON.stringify(call.raw_input, null, 2)}</pre>}
      {call.raw_output != null && (
        <pre className="io">{typeof call.raw_output === "string" ? call.raw_output : JSON.stringify(call.raw_output, null, 2)}</pre>
      )}
    </details>
  );
}

/** What a chat lets the reader do with a message; absent in read-only transcripts. */
export interface MessageActions {
  edit: (m: Message, content: string) => void;
  regenerate: (m: Message, model?: string) => void;
  fork: (m: Message) => void;
  switchTo: (id: string) => void;
  /** Goes on from a stopped or cut-off reply. */
  continueReply: (m: Message) => void;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "model · 0.4 s to first token · 38.2 tok/s · 3.1 s · 118 tokens". */
export function metricsOf(m: Message): string[] {
  const parts: string[] = [];
  if (m.model) parts.push(m.model);
  if (m.ttft_ms != null) parts.push(`${seconds(m.ttft_ms)} to first token`);
  const generating = m.duration_ms != null && m.ttft_ms != null ? m.duration_ms - m.ttft_ms : null;
  if (m.tokens_completion && generating && generating > 0) {
    parts.push(`${((1000 * m.tokens_completion) / generating).toFixed(1)} tok/s`);
  }
  if (m.duration_ms != null) parts.push(seconds(m.duration_ms));
  if (m.tokens_completion) parts.push(`${m.tokens_completion.toLocaleString()} tokens`);
  return parts;
}

function time(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      className="icon"
      aria-label="Copy message"
      title="Copy message"
      onClick={() => {
        void navigator.clipboard
          .writeText(text)
          .then(() => {
            setDone(true);
            setTimeout(() => setDone(false), 1200);
          })
          .catch(() => setDone(false));
      }}
    >
      {done ? <Check size={14} /> : <Copy size={14} />}
    </button>
  );
}

interface RowProps {
  m: Message;
  status?: string;
  actions?: MessageActions;
  /** Position among siblings (1-based) and their count, with the neighbours: plain values, so the
   *  memoised row re-renders only when they change, not on every delta elsewhere in the chat. */
  sibIndex?: number;
  sibCount?: number;
  sibPrev?: string | null;
  sibNext?: string | null;
  /** Another reply is streaming in this chat: actions that start one wait. */
  busy?: boolean;
  models?: string[];
}

export const MessageRow = memo(function MessageRow({ m, status, actions, sibIndex = 1, sibCount = 1, sibPrev = null, sibNext = null, busy, models }: RowProps) {
  const sibling = { index: sibIndex, count: sibCount, prev: sibPrev, next: sibNext };
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.content);
  const [choosing, setChoosing] = useState(false);
  const done = m.status !== "streaming";
  const metrics = m.role === "assistant" && done ? metricsOf(m) : [];
  return (
    <div className={`msg ${m.role} ${m.status}`} data-message={m.id} data-status={m.status}>
      {status && m.status === "streaming" && (
        <p className="turn-status" role="status">
          {status}
        </p>
      )}
      {m.reasoning && (
        <details className="reasoning" open={m.status === "streaming" && !m.content}>
          <summary>
            <Brain size={13} /> Reasoning
          </summary>
          <div className="reasoning-text">{m.reasoning}</div>
        </details>
      )}
      {m.tool_calls.map((c) => (
        <ToolCard key={c.call_id} call={c} />
      ))}
      {editing ? (
        <div className="edit">
          <textarea
            aria-label="Edit message"
            autoFocus
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && draft.trim()) {
                e.preventDefault();
                setEditing(false);
                actions?.edit(m, draft);
              } else if (e.key === "Escape") {
                setEditing(false);
              }
            }}
          />
          <div className="edit-buttons">
            <button onClick={() => setEditing(false)}>Cancel</button>
            <button
              className="primary"
              disabled={!draft.trim() || busy}
              onClick={() => {
                setEditing(false);
                actions?.edit(m, draft);
              }}
            >
              Save &amp; send
            </button>
          </div>
        </div>
      ) : m.role === "user" ? (
        <>
          {m.attachments.length > 0 && (
            <ul className="attached in-message">
              {m.attachments.map((a) =>
                a.kind === "image" ? (
                  <li key={a.id}>
                    <a href={`/api/uploads/${a.id}`} target="_blank" rel="noopener noreferrer" title={a.name}>
                      <img className="thumb" src={`/api/uploads/${a.id}`} alt={a.name} />
                    </a>
                  </li>
                ) : (
                  <li key={a.id} className="chip">
                    <a href={`/api/uploads/${a.id}`} target="_blank" rel="noopener noreferrer">
                      {a.name}
                    </a>
                    <span className="note">{a.size < 1024 ? `${a.size} B` : `${(a.size / 1024).toFixed(1)} KB`}</span>
                  </li>
                ),
              )}
            </ul>
          )}
          {m.content && <div className="user-text">{m.content}</div>}
        </>
      ) : (
        m.status === "streaming" ? <StreamingMarkdown text={m.content} /> : <Markdown text={m.content} />
      )}
      {m.status === "error" && <p className="error">{m.error}</p>}
      {m.status === "cancelled" && <p className="note">stopped</p>}
      {actions && done && !editing && (
        <div className="msg-actions">
          {sibling && sibling.count > 1 && (
            <span className="siblings" aria-label="Branches">
              <button className="icon" aria-label="Previous branch" disabled={!sibling.prev || busy} onClick={() => sibling.prev && actions.switchTo(sibling.prev)}>
                <ChevronLeft size={14} />
              </button>
              <span className="count">
                {sibling.index}/{sibling.count}
              </span>
              <button className="icon" aria-label="Next branch" disabled={!sibling.next || busy} onClick={() => sibling.next && actions.switchTo(sibling.next)}>
                <ChevronRight size={14} />
              </button>
            </span>
          )}
          <CopyButton text={m.content} />
          {m.role === "user" && (
            <button
              className="icon"
              aria-label="Edit"
              title="Edit & resend"
              disabled={busy}
              onClick={() => {
                setDraft(m.content);
                setEditing(true);
              }}
            >
              <Pencil size={14} />
            </button>
          )}
          {m.role === "assistant" && (
            <>
              <button className="icon" aria-label={m.status === "error" ? "Retry" : "Regenerate"} title="Regenerate" disabled={busy} onClick={() => actions.regenerate(m)}>
                <RefreshCw size={14} />
                {m.status === "error" && <span>Retry</span>}
              </button>
              {m.content && (m.status === "cancelled" || m.status === "error" || m.tokens_completion != null) && m.status !== "complete" && (
                <button className="icon" aria-label="Continue" title="Continue this reply from where it stopped" disabled={busy} onClick={() => actions.continueReply(m)}>
                  <FastForward size={14} />
                  <span>Continue</span>
                </button>
              )}
              {models && models.length > 1 && (
                <span className="regen-with">
                  {choosing ? (
                    <select
                      aria-label="Regenerate with"
                      autoFocus
                      defaultValue=""
                      onBlur={() => setChoosing(false)}
                      onChange={(e) => {
                        setChoosing(false);
                        if (e.target.value) actions.regenerate(m, e.target.value);
                      }}
                    >
                      <option value="">Regenerate with…</option>
                      {models.map((id) => (
                        <option key={id} value={id}>
                          {id}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <button className="icon small" disabled={busy} onClick={() => setChoosing(true)} title="Regenerate with another model">
                      with…
                    </button>
                  )}
                </span>
              )}
            </>
          )}
          <button className="icon" aria-label="Fork" title="Fork into a new chat from here" onClick={() => actions.fork(m)}>
            <GitFork size={14} />
          </button>
          <span className="meta" title={new Date(m.created_at).toLocaleString()}>
            {[time(m.created_at), ...metrics].filter(Boolean).join(" · ")}
          </span>
        </div>
      )}
    </div>
  );
});
