// The coder: a composer (agent, model, mode), the task timeline with the agent's live output,
// permission prompts, task state and cancel, and the session's changes: the pending one opens in the
// review (files, hunks, accept or reject any part); the server's error, e.g. a conflict, is shown as it is.

import { Fragment, lazy, Suspense, useCallback, useEffect, useState } from "react";
import { Check, FileDiff, Play, X } from "lucide-react";
import { get, post } from "../api/client";
import type {
  ChangeDecision,
  PendingChange,
  PermissionRule,
  ProviderInfo,
  ProbeProvidersRequest,
  ProvidersSnapshot,
  Task,
} from "../api/generated/types";
import { chatMessages } from "../state/session";
import type { LiveSession } from "../state/useSession";
import { MessageRow } from "./MessageRow";
import { PermissionCard, PermissionRules } from "./PermissionCard";
import { TaskRow } from "./TaskRow";
import { taskPhase } from "../state/taskPhase";

const ChangeReview = lazy(() => import("./review/ChangeReview"));

/** A change in the list under the timeline: the pending one with its quick decisions, history readable. */
function ChangeRow({ change, open, onDecided }: { change: PendingChange; open: () => void; onDecided: (d: ChangeDecision) => void }) {
  const [error, setError] = useState<string | null>(null);
  const act = async (what: "accept" | "reject") => {
    try {
      onDecided(await post<ChangeDecision>(`/api/changes/${change.id}/${what}`));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const pending = change.status === "pending";
  return (
    <div className={`change change-${change.status}`} data-change={change.status}>
      <header>
        <FileDiff size={14} /> {change.files_changed} file{change.files_changed === 1 ? "" : "s"},{" "}
        <span className="plus">+{change.insertions}</span> <span className="minus">−{change.deletions}</span>
        {change.agent && <span className="badge">{change.agent}</span>}
        <span className="status">{change.status}</span>
        <button className={pending ? "primary" : ""} onClick={open}>
          {pending ? "Review" : "View"}
        </button>
        {pending && (
          <>
            <button onClick={() => act("accept")}>
              <Check size={14} /> Accept
            </button>
            <button onClick={() => act("reject")}>
              <X size={14} /> Reject
            </button>
          </>
        )}
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** What a decision did, in words. */
function decisionNote(d: ChangeDecision): string {
  const verb = d.status === "accepted" ? "Accepted" : "Rejected";
  const what = `${d.files_changed} file${d.files_changed === 1 ? "" : "s"} (+${d.insertions} −${d.deletions})`;
  const where = d.branch
    ? ` onto branch ${d.branch} (${d.commit?.slice(0, 8)})`
    : d.commit
      ? ` as commit ${d.commit.slice(0, 8)}`
      : d.status === "accepted"
        ? " into the working tree"
        : "";
  const rest = d.remaining ? ` — ${d.remaining.files_changed} file${d.remaining.files_changed === 1 ? "" : "s"} still pending.` : ".";
  return `${verb} ${what}${where}${rest}`;
}

export function CoderPane({ live, chat }: { live: LiveSession; chat: string }) {
  const { state, session, loadChat } = live;
  const [snapshot, setSnapshot] = useState<ProvidersSnapshot | null>(null);
  const [agent, setAgent] = useState("native");
  const [model, setModel] = useState("");
  const [mode, setMode] = useState("");
  const [thinking, setThinking] = useState("");
  const [input, setInput] = useState("");
  const [changes, setChanges] = useState<PendingChange[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [reviewing, setReviewing] = useState<PendingChange | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [rules, setRules] = useState<PermissionRule[]>([]);

  const reloadChanges = useCallback(() => {
    if (!session) return;
    get<PendingChange[]>(`/api/sessions/${session.id}/changes`)
      .then(setChanges)
      .catch((e: Error) => setError(e.message));
  }, [session]);

  useEffect(() => {
    void loadChat(chat).catch((e: Error) => setError(e.message));
    post<ProvidersSnapshot>("/api/providers/snapshot", { force: false } satisfies ProbeProvidersRequest)
      .then(setSnapshot)
      .catch((e: Error) => setError(e.message));
  }, [chat, loadChat]);

  // A pending_change frame carries no diff: fetch the list again when one arrives.
  const changeKey = Object.values(state.changes)
    .map((c) => `${c.id}:${c.status}`)
    .join(",");
  useEffect(reloadChanges, [reloadChanges, changeKey]);

  // An "always allow" answer adds a rule: read the session's rules again when a request is decided.
  const decidedCount = Object.values(state.permissions).filter((p) => p.decision !== null).length;
  const reloadRules = useCallback(() => {
    if (!session) return;
    get<PermissionRule[]>(`/api/sessions/${session.id}/permission-rules`)
      .then(setRules)
      .catch((e: Error) => setError(e.message));
  }, [session]);
  useEffect(reloadRules, [reloadRules, decidedCount]);

  const decided = (d: ChangeDecision) => {
    setNotice(decisionNote(d));
    setReviewing((open) => (open ? (d.remaining ?? null) : null));
    reloadChanges();
  };

  // Every enabled agent is listed; one that cannot start is shown with why, never offered as a choice.
  const listed = (snapshot?.providers ?? []).filter((p) => p.enabled);
  const unavailable = (p: ProviderInfo) => (!p.installed ? (p.error ?? "not installed") : p.error);
  const providers = listed.filter((p) => !unavailable(p));
  const chosen = providers.find((p) => p.id === agent);
  const tasks = Object.values(state.tasks)
    .filter((t) => t.chat_id === chat)
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
  const running = tasks.find((t) => t.state === "running" || t.state === "pending" || t.state === "waiting_for_model");
  const asks = Object.values(state.permissions).filter((p) => p.decision === null);
  // Each task's row sits under its turn's reply; a task with no reply on screen yet goes last.
  const timeline = chatMessages(state, chat);
  const shown = new Set(timeline.map((m) => m.id));
  const byReply = new Map<string, Task[]>();
  const placed = new Set<string>();
  for (const t of tasks) {
    if (t.message_id && shown.has(t.message_id)) {
      byReply.set(t.message_id, [...(byReply.get(t.message_id) ?? []), t]);
      placed.add(t.id);
    }
  }
  const row = (t: Task) => {
    const reply = t.message_id ? state.messages[t.message_id] : undefined;
    const phase = taskPhase(t, reply, asks, t.message_id ? state.turnStatus[t.message_id] : undefined);
    // The reply right above already shows the error: say it once.
    if (reply?.error && phase.detail === reply.error) delete phase.detail;
    return <TaskRow key={t.id} task={t} phase={phase} onError={setError} />;
  };
  // The agent's slash commands: those it announced in this session, else those the probe saw.
  const commands = state.commands.length > 0 ? state.commands : (chosen?.commands ?? []);
  const typed = /^\/(\S*)$/.exec(input);
  const menu = typed ? commands.filter((c) => c.name.startsWith(typed[1])) : [];

  const run = async () => {
    if (!session || !input.trim()) return;
    const body: Record<string, unknown> = {
      project_id: session.project_id,
      session_id: session.id,
      chat_id: chat,
      input: input.trim(),
      agent,
      feature_values: null,
    };
    if (model) body.model = model;
    if (mode) body.mode_id = mode;
    if (thinking) body.thinking_option_id = thinking;
    try {
      await post<Task>("/api/tasks", body);
      setInput("");
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div className="coder-pane">
      <div className="timeline">
        {timeline.map((m) => (
          <Fragment key={m.id}>
            <MessageRow m={m} status={state.turnStatus[m.id]} />
            {(byReply.get(m.id) ?? []).map(row)}
          </Fragment>
        ))}
        {tasks.filter((t) => !placed.has(t.id)).map(row)}
        {asks.map((p) => (
          <PermissionCard key={p.id} request={p} />
        ))}
      </div>
      <PermissionRules rules={rules} onChange={reloadRules} />
      {notice && !reviewing && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <div className="changes">
        {changes.map((c) => (
          <ChangeRow key={c.id} change={c} open={() => setReviewing(c)} onDecided={decided} />
        ))}
      </div>
      {reviewing && (
        <div className="review-overlay">
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          <Suspense fallback={<p className="note">Loading the review…</p>}>
            <ChangeReview
              change={reviewing}
              onDecided={decided}
              onClose={() => {
                setReviewing(null);
                setNotice(null);
              }}
            />
          </Suspense>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {menu.length > 0 && (
        <ul className="slash-menu" role="listbox" aria-label="Agent commands">
          {menu.map((c) => (
            <li key={c.name}>
              <button onClick={() => setInput(`/${c.name} `)}>
                /{c.name} <span>{c.description}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer">
        <select aria-label="Agent" value={agent} onChange={(e) => {
            setAgent(e.target.value);
            setModel("");
            setMode("");
            setThinking("");
          }}>
          {listed.map((p) => (
            <option key={p.id} value={p.id} disabled={!!unavailable(p)} title={unavailable(p) ?? undefined}>
              {unavailable(p) ? `${p.label} — unavailable: ${unavailable(p)}` : p.label}
            </option>
          ))}
        </select>
        <select aria-label="Agent model" value={model} onChange={(e) => setModel(e.target.value)}>
          <option value="">default model</option>
          {[...new Set(chosen?.models ?? [])].map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        {(chosen?.modes.length ?? 0) > 0 && (
          <select aria-label="Mode" value={mode} onChange={(e) => setMode(e.target.value)}>
            <option value="">default mode</option>
            {[...new Set(chosen!.modes)].map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        )}
        {(chosen?.thinking.length ?? 0) > 0 && (
          <select aria-label="Thinking" value={thinking} onChange={(e) => setThinking(e.target.value)}>
            <option value="">default thinking</option>
            {chosen!.thinking.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
        <textarea
          aria-label="Task"
          placeholder={running ? "A task is running…" : "Describe the change — Enter runs it"}
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void run();
            }
          }}
        />
        <button onClick={run} aria-label="Run task" disabled={!input.trim()}>
          <Play size={16} />
        </button>
      </div>
    </div>
  );
}
