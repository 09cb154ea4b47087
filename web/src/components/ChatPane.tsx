// A chat: streamed answers (markdown), collapsible reasoning, tool-call cards, stop, a model picker, a
// context bar and a slash-command menu from the skills. Each message is a memoised row, so a delta
// re-renders only the message it extends.

import { memo, useEffect, useMemo, useRef, useState } from "react";
import { Brain, Send, Square, Wrench } from "lucide-react";
import { get, post } from "../api/client";
import type { Message, ModelInfo, SkillInfo, ToolCall } from "../api/generated/types";
import { chatMessages } from "../state/session";
import type { LiveSession } from "../state/useSession";
import { Markdown } from "./Markdown";

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

export const MessageRow = memo(function MessageRow({ m, status }: { m: Message; status?: string }) {
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
      {m.role === "user" ? <div className="user-text">{m.content}</div> : <Markdown text={m.content} />}
      {m.status === "error" && <p className="error">{m.error}</p>}
      {m.status === "cancelled" && <p className="note">stopped</p>}
    </div>
  );
});

export function ChatPane({ live, chat }: { live: LiveSession; chat: string }) {
  const { state, loadChat } = live;
  const [input, setInput] = useState("");
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [model, setModel] = useState<string>("");
  const [skills, setSkills] = useState<SkillInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void loadChat(chat).catch((e: Error) => setError(e.message));
    get<ModelInfo[]>("/api/models")
      .then(setModels)
      .catch(() => setModels([]));
    get<SkillInfo[]>("/api/skills")
      .then(setSkills)
      .catch(() => setSkills([]));
  }, [chat, loadChat]);

  const messages = chatMessages(state, chat);
  const streaming = messages.some((m) => m.status === "streaming");
  const last = messages[messages.length - 1];
  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [messages.length, last?.content.length]);

  const usage = state.usage[chat];
  const used = usage ? usage.prompt_tokens + usage.completion_tokens : null;
  const limit = usage?.context_limit ?? models.find((m) => m.id === (model || last?.model))?.context_length ?? null;

  const slash = useMemo(() => {
    const m = /^\/(\S*)$/.exec(input);
    if (!m) return [];
    return skills.filter((s) => !s.error && s.name.startsWith(m[1]));
  }, [input, skills]);

  const send = async () => {
    const content = input.trim();
    if (!content || streaming) return;
    setInput("");
    try {
      await post(`/api/chats/${chat}/messages`, model ? { content, model } : { content });
      setError(null);
    } catch (e) {
      setError((e as Error).message);
      setInput(content);
    }
  };
  const stop = async () => {
    try {
      await post(`/api/chats/${chat}/stop`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div className="chat-pane">
      <div className="messages">
        {messages.map((m) => (
          <MessageRow key={m.id} m={m} status={state.turnStatus[m.id]} />
        ))}
        <div ref={end} />
      </div>
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
      <div className="composer">
        <select aria-label="Model" value={model} onChange={(e) => setModel(e.target.value)}>
          <option value="">default model</option>
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id}
            </option>
          ))}
        </select>
        <textarea
          aria-label="Message"
          placeholder="Ask anything — Enter sends, Shift+Enter for a new line, / for skills"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void send();
            } else if (e.key === "Escape" && streaming) {
              void stop();
            }
          }}
        />
        {streaming ? (
          <button className="stop" onClick={stop} aria-label="Stop">
            <Square size={16} /> Stop
          </button>
        ) : (
          <button onClick={send} aria-label="Send" disabled={!input.trim()}>
            <Send size={16} />
          </button>
        )}
      </div>
    </div>
  );
}
