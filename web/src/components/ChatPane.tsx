// A chat: the active branch of its message tree, streamed answers, per-message actions (edit, regenerate,
// branches, fork), the chat's own settings, a context gauge that survives a reload, and a composer that
// queues what is typed while a reply streams. The view follows the stream only while the reader is at
// the bottom; otherwise a "jump to latest" button waits.

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Virtuoso, type VirtuosoHandle } from "react-virtuoso";
import { ArrowDown, Columns3, Download, FileText, Keyboard, Paperclip, Send, SlidersHorizontal, Square, X } from "lucide-react";
import { get, patch, post } from "../api/client";
import type { Attachment, Chat, ForkResponse, Message, ModelInfo, SkillInfo } from "../api/generated/types";
import { chatMessages } from "../state/session";
import { childIndex, siblingInfo } from "../state/tree";
import type { LiveSession } from "../state/useSession";
import { ChatSettings } from "./ChatSettings";
import { MessageRow, type MessageActions } from "./MessageRow";

/** How close to the end counts as "at the bottom". */
const BOTTOM_SLACK = 48;

export const SHORTCUTS: [string, string][] = [
  ["Ctrl/⌘ Shift O", "New chat"],
  ["Ctrl/⌘ K", "Search chats"],
  ["Shift Esc", "Focus the message box"],
  ["Esc", "Stop the reply"],
  ["Alt R", "Regenerate the last reply"],
  ["?", "Show these shortcuts"],
];

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="overlay" role="dialog" aria-label="Keyboard shortcuts" onClick={onClose}>
      <div className="dialog" onClick={(e) => e.stopPropagation()}>
        <header>
          <b>Keyboard shortcuts</b>
          <button className="icon" aria-label="Close" onClick={onClose}>
            <X size={14} />
          </button>
        </header>
        <table>
          <tbody>
            {SHORTCUTS.map(([k, what]) => (
              <tr key={k}>
                <td>
                  <kbd>{k}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** The list's footer: the compared replies, passed through the list's context so the component stays
 *  the same between renders (a new component each render would remount the columns). */
const LIST_PARTS = {
  Footer: ({ context }: { context?: { footer: React.ReactNode } }) => <>{context?.footer}</>,
};

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

export function ChatPane({ live, chat, onForked }: { live: LiveSession; chat: string; onForked?: (c: Chat) => void }) {
  const { state, loadChat } = live;
  const [input, setInput] = useState("");
  const [queue, setQueue] = useState<{ content: string; files: Attachment[] }[]>([]);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [skills, setSkills] = useState<SkillInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [settings, setSettings] = useState(false);
  const [help, setHelp] = useState(false);
  const [atBottom, setAtBottom] = useState(true);
  /** Files uploaded for the next message. */
  const [attached, setAttached] = useState<Attachment[]>([]);
  const [uploading, setUploading] = useState(0);
  const picker = useRef<HTMLInputElement>(null);
  /** Models to compare (2–4) when comparing; empty otherwise. */
  const [comparing, setComparing] = useState<string[] | null>(null);
  const following = useRef(true);
  const scroller = useRef<HTMLElement | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    void loadChat(chat).catch((e: Error) => setError(e.message));
    get<ModelInfo[]>("/api/models")
      .then(setModels)
      .catch(() => setModels([]));
    get<SkillInfo[]>("/api/skills")
      .then(setSkills)
      .catch(() => setSkills([]));
  }, [chat, loadChat]);

  const info = state.chats[chat];
  const ids = state.order[chat];
  const messages = useMemo(() => chatMessages(state, chat), [state, chat]);
  const index = useMemo(() => childIndex(state.messages, ids ?? []), [state.messages, ids]);
  const streaming = messages.some((m) => m.status === "streaming");
  const last = messages[messages.length - 1];
  const lastReply = [...messages].reverse().find((m) => m.role === "assistant");

  // Follow the stream only while the reader is at the bottom.
  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
    following.current = bottom;
    setAtBottom(bottom);
  }, []);
  // The virtualised list owns the scrolling element; listen on it directly.
  const attachScroller = useCallback(
    (el: HTMLElement | Window | null) => {
      if (scroller.current) scroller.current.removeEventListener("scroll", onScroll);
      scroller.current = el instanceof HTMLElement ? el : null;
      scroller.current?.addEventListener("scroll", onScroll, { passive: true });
    },
    [onScroll],
  );
  const list = useRef<VirtuosoHandle>(null);
  const toBottom = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    // Rows off screen have estimated heights: let the list land on its last row exactly.
    list.current?.scrollToIndex({ index: "LAST", align: "end" });
    el.scrollTop = el.scrollHeight;
    lastHeight.current = el.scrollHeight;
    following.current = true;
    setAtBottom(true);
  }, []);
  // Was the reader at the bottom before this render grew the transcript? Then follow; if they moved
  // up (even before their scroll event arrived), stop following and offer "jump to latest".
  const lastHeight = useRef(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const wasAtBottom = el.scrollTop + el.clientHeight >= lastHeight.current - BOTTOM_SLACK;
    if (following.current && wasAtBottom) {
      el.scrollTop = el.scrollHeight;
    } else if (!wasAtBottom && following.current) {
      following.current = false;
      setAtBottom(false);
    }
    lastHeight.current = el.scrollHeight;
  }, [messages.length, last?.content.length, last?.reasoning.length, last?.status]);

  // The gauge: live usage when a reply just finished, else the last stored reply's tokens.
  const model = last?.model ?? info?.model ?? "";
  const usage = state.usage[chat];
  const used = usage ? usage.prompt_tokens + usage.completion_tokens : lastReply?.tokens_prompt != null ? lastReply.tokens_prompt + (lastReply.tokens_completion ?? 0) : null;
  const limit = usage?.context_limit ?? models.find((m) => m.id === model)?.context_length ?? null;

  const slash = useMemo(() => {
    const m = /^\/(\S*)$/.exec(input);
    if (!m) return [];
    return skills.filter((s) => !s.error && s.name.startsWith(m[1]));
  }, [input, skills]);

  const compareModels = comparing && comparing.length >= 2 ? comparing : null;
  const sendNow = useCallback(
    async (content: string, files: Attachment[] = []) => {
      try {
        const body: Record<string, unknown> = { content };
        if (compareModels) body.models = compareModels;
        if (files.length) body.attachments = files.map((f) => f.id);
        await post(`/api/chats/${chat}/messages`, body);
        setError(null);
        toBottom();
      } catch (e) {
        setError((e as Error).message);
        setInput((cur) => cur || content);
        setAttached((cur) => (cur.length ? cur : files));
      }
    },
    [chat, toBottom, compareModels],
  );
  const send = () => {
    const content = input.trim();
    if ((!content && attached.length === 0) || uploading > 0) return;
    setInput("");
    const files = attached;
    setAttached([]);
    if (streaming) setQueue((q) => [...q, { content, files }]);
    else void sendNow(content, files);
  };

  /** Uploads picked, pasted or dropped files; the server says why one is refused. */
  const attach = async (files: FileList | File[]) => {
    for (const f of Array.from(files)) {
      setUploading((n) => n + 1);
      try {
        const form = new FormData();
        form.append("file", f, f.name);
        const resp = await fetch("/api/uploads", { method: "POST", body: form });
        const body = await resp.json().catch(() => null);
        if (!resp.ok) throw new Error(body?.error?.message ?? `${f.name}: upload failed (${resp.status})`);
        setAttached((cur) => [...cur, body as Attachment]);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      } finally {
        setUploading((n) => n - 1);
      }
    }
  };
  // A message typed while a reply streamed goes out when it ends.
  useEffect(() => {
    if (streaming || queue.length === 0) return;
    const [next, ...rest] = queue;
    setQueue(rest);
    void sendNow(next.content, next.files);
  }, [streaming, queue, sendNow]);

  const stop = useCallback(async () => {
    try {
      await post(`/api/chats/${chat}/stop`);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [chat]);

  const actions: MessageActions = useMemo(
    () => ({
      edit: (m: Message, content: string) => {
        void post(`/api/chats/${chat}/messages`, { content, parent_id: m.parent_id })
          .then(() => {
            setError(null);
            toBottom();
          })
          .catch((e: Error) => setError(e.message));
      },
      regenerate: (m: Message, model?: string) => {
        void post(`/api/messages/${m.id}/regenerate`, model ? { model } : {})
          .then(() => {
            setError(null);
            toBottom();
          })
          .catch((e: Error) => setError(e.message));
      },
      fork: (m: Message) => {
        void post<ForkResponse>(`/api/messages/${m.id}/fork`)
          .then((r) => onForked?.(r.chat))
          .catch((e: Error) => setError(e.message));
      },
      continueReply: (m: Message) => {
        void post(`/api/messages/${m.id}/continue`)
          .then(() => {
            setError(null);
            toBottom();
          })
          .catch((e: Error) => setError(e.message));
      },
      switchTo: (id: string) => {
        void patch<Chat>(`/api/chats/${chat}`, { active_leaf_id: id }).catch((e: Error) => setError(e.message));
      },
    }),
    [chat, toBottom, onForked],
  );

  // Shortcuts, for the chat in the focused pane only.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = root.current;
      if (!el || !el.closest(".pane.focused") || el.offsetParent === null) return;
      if (e.key === "Escape" && e.shiftKey) {
        e.preventDefault();
        composer.current?.focus();
      } else if (e.key === "Escape" && streaming) {
        void stop();
      } else if (e.altKey && (e.key === "r" || e.key === "R" || e.code === "KeyR") && lastReply && !streaming) {
        e.preventDefault();
        actions.regenerate(lastReply);
      } else if (e.key === "?" && !typing(e.target)) {
        e.preventDefault();
        setHelp(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [streaming, stop, lastReply, actions]);

  const modelIds = useMemo(() => models.map((m) => m.id), [models]);

  // The last question, when it was put to several models: their replies side by side.
  const lastUser = messages.map((m) => m.role).lastIndexOf("user");
  const compared =
    lastUser >= 0 && messages[lastUser + 1]?.compared
      ? (index.get(messages[lastUser].id) ?? []).map((id) => state.messages[id]).filter((m) => m && m.compared)
      : [];
  const shown = compared.length > 1 ? messages.slice(0, lastUser + 1) : messages;

  const compareNode =
    compared.length > 1 ? (
      <div className="compare" style={{ gridTemplateColumns: `repeat(${compared.length}, minmax(260px, 1fr))` }} aria-label="Compared replies">
            {compared.map((m) => {
              const chosen = info?.active_leaf_id === m.id;
              return (
                <section key={m.id} className={`compare-col ${chosen ? "chosen" : ""}`} data-compare-model={m.model ?? ""}>
                  <header>
                    <b>{m.model}</b>
                    {chosen ? (
                      <span className="badge">continuing with this</span>
                    ) : (
                      <button className="small" disabled={streaming} onClick={() => actions.switchTo(m.id)}>
                        Continue with this
                      </button>
                    )}
                  </header>
                  <MessageRow m={m} status={state.turnStatus[m.id]} actions={actions} busy={streaming} models={modelIds} />
                </section>
              );
            })}
          </div>
    ) : null;

  return (
    <div
      className="chat-pane"
      ref={root}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes("Files")) e.preventDefault();
      }}
      onDrop={(e) => {
        if (e.dataTransfer.files.length) {
          e.preventDefault();
          void attach(e.dataTransfer.files);
        }
      }}
    >
      <header className="chat-head">
        <span className="note model-name" title="The model the next reply uses">
          {info?.model ?? live.session?.model ?? "default model"}
          {info?.system_prompt ? " · system prompt" : ""}
        </span>
        <span className="spacer" />
        <a className="icon-link" href={`/api/chats/${chat}/export?format=md`} download title="Download as Markdown (the branch shown)" aria-label="Export as Markdown">
          <Download size={14} /> md
        </a>
        <a className="icon-link" href={`/api/chats/${chat}/export?format=json`} download title="Download as JSON (every branch and the settings; import it again from the chat list)" aria-label="Export as JSON">
          <Download size={14} /> json
        </a>
        <button className="icon" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={() => setHelp(true)}>
          <Keyboard size={15} />
        </button>
        <button className={`icon ${settings ? "on" : ""}`} aria-label="Chat settings" aria-expanded={settings} title="Model, system prompt, parameters" onClick={() => setSettings(!settings)}>
          <SlidersHorizontal size={15} />
        </button>
      </header>
      {settings && info && (
        <ChatSettings
          chat={info}
          projectId={live.session?.project_id ?? ""}
          session={live.session}
          models={models}
          onSaved={() => {
            setSettings(false);
          }}
        />
      )}
      {messages.length === 0 ? (
        <div className="messages">
          <div className="empty-state">
            <p>
              <b>Start a conversation.</b> Type below and press Enter.
            </p>
            <p className="note">
              The model is {info?.model ?? live.session?.model ?? "the server's default"}; set a model, system prompt or parameters with the sliders button above. Type / for
              skills, ? for shortcuts.
            </p>
          </div>
        </div>
      ) : (
        <Virtuoso
          ref={list}
          className="messages virtual"
          scrollerRef={attachScroller}
          data={shown}
          computeItemKey={(_, m) => m.id}
          initialTopMostItemIndex={Math.max(0, shown.length - 1)}
          increaseViewportBy={{ top: 600, bottom: 600 }}
          itemContent={(_, m) => {
            const sib = siblingInfo(index, m);
            return (
              <div className="transcript">
                <MessageRow
                  m={m}
                  status={state.turnStatus[m.id]}
                  actions={actions}
                  sibIndex={sib.index}
                  sibCount={sib.count}
                  sibPrev={sib.prev}
                  sibNext={sib.next}
                  busy={streaming}
                  models={modelIds}
                />
              </div>
            );
          }}
          context={{ footer: compareNode }}
          components={LIST_PARTS}
        />
      )}
      {!atBottom && (
        <button className="jump" onClick={toBottom} aria-label="Jump to latest">
          <ArrowDown size={14} /> Jump to latest
        </button>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {used !== null && (
        <div className="usage" title="Context used">
          <div className="bar" style={{ width: limit ? `${Math.min(100, (100 * used) / limit)}%` : "0%" }} />
          <span>
            {used.toLocaleString()} tokens{limit ? ` of ${limit.toLocaleString()}` : ""}
          </span>
        </div>
      )}
      {queue.length > 0 && (
        <ul className="queued" aria-label="Queued messages">
          {queue.map((q, i) => (
            <li key={i}>
              <span className="badge">queued</span> {q.content.length > 80 ? `${q.content.slice(0, 80)}…` : q.content}
              {q.files.length > 0 && ` (+${q.files.length} file${q.files.length > 1 ? "s" : ""})`}
              <button className="icon" aria-label="Remove queued message" onClick={() => setQueue(queue.filter((_, j) => j !== i))}>
                <X size={12} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {slash.length > 0 && (
        <ul className="slash-menu" role="listbox">
          {slash.map((s) => (
            <li key={s.name}>
              <button onClick={() => setInput(`/${s.name} `)}>
                /{s.name} <span>{s.description}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {comparing && (
        <div className="compare-pick" role="group" aria-label="Models to compare">
          <span className="note">Compare (2–4):</span>
          {modelIds.map((id) => {
            const on = comparing.includes(id);
            return (
              <label key={id} className={on ? "on" : ""}>
                <input
                  type="checkbox"
                  checked={on}
                  disabled={!on && comparing.length >= 4}
                  onChange={() => setComparing(on ? comparing.filter((x) => x !== id) : [...comparing, id])}
                />
                {id}
              </label>
            );
          })}
          {comparing.length < 2 && <span className="note">pick at least two</span>}
        </div>
      )}
      {(attached.length > 0 || uploading > 0) && (
        <ul className="attached" aria-label="Attached files">
          {attached.map((a) => (
            <li key={a.id} className="chip">
              {a.kind === "image" ? <img src={`/api/uploads/${a.id}`} alt="" /> : <FileText size={13} />}
              <span>{a.name}</span>
              <button className="icon" aria-label={`Remove ${a.name}`} onClick={() => setAttached(attached.filter((x) => x.id !== a.id))}>
                <X size={12} />
              </button>
            </li>
          ))}
          {uploading > 0 && <li className="note">uploading…</li>}
        </ul>
      )}
      <div className="composer">
        <button className="icon" aria-label="Attach files" title="Attach text files or images (or paste / drop them)" onClick={() => picker.current?.click()}>
          <Paperclip size={16} />
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          aria-label="Files to attach"
          onChange={(e) => {
            if (e.target.files) void attach(e.target.files);
            e.target.value = "";
          }}
        />
        <button
          className={`icon ${comparing ? "on" : ""}`}
          aria-label="Compare models"
          aria-pressed={!!comparing}
          title="Send the next message to several models at once"
          onClick={() => setComparing(comparing ? null : [])}
        >
          <Columns3 size={16} />
        </button>
        <textarea
          ref={composer}
          aria-label="Message"
          placeholder={streaming ? "Type the next message — it is sent when this reply ends" : "Ask anything — Enter sends, Shift+Enter for a new line, / for skills"}
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onPaste={(e) => {
            if (e.clipboardData.files.length) {
              e.preventDefault();
              void attach(e.clipboardData.files);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              send();
            }
          }}
        />
        {streaming && (
          <button className="stop" onClick={stop} aria-label="Stop">
            <Square size={16} /> Stop
          </button>
        )}
        <button onClick={send} aria-label={streaming ? "Queue" : "Send"} disabled={(!input.trim() && attached.length === 0) || uploading > 0}>
          <Send size={16} />
        </button>
      </div>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}
