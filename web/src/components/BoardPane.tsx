// The task board of a project: every task across its sessions in four columns — queued, running,
// waiting for you, ended — with which session, agent and model, what each is doing, and cancel or retry.
// Other sessions send no frames here, so the board reads the API every few seconds (and at once when
// this session's tasks change).

import { useCallback, useEffect, useMemo, useState } from "react";
import { ListTodo } from "lucide-react";
import { get } from "../api/client";
import type { PermissionRequest, Session, Task } from "../api/generated/types";
import type { LiveSession } from "../state/useSession";
import { taskPhase } from "../state/taskPhase";
import { TaskRow } from "./TaskRow";

const POLL_MS = 3000;
const ENDED_SHOWN = 30;

type Column = "queued" | "running" | "waiting" | "ended";

const TITLES: Record<Column, string> = {
  queued: "Queued",
  running: "Running",
  waiting: "Waiting for you",
  ended: "Ended",
};

function columnOf(task: Task, asks: PermissionRequest[]): Column {
  if (task.state === "pending") return "queued";
  if (task.state === "running" && asks.some((p) => p.task_id === task.id)) return "waiting";
  if (task.state === "running" || task.state === "waiting_for_model") return "running";
  return "ended";
}

function ago(iso: string | null): string {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function BoardPane({ live }: { live: LiveSession }) {
  const project = live.session?.project_id;
  const [tasks, setTasks] = useState<Task[]>([]);
  const [sessions, setSessions] = useState<Record<string, Session>>({});
  const [asks, setAsks] = useState<PermissionRequest[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    if (!project) return;
    try {
      const [list, ss] = await Promise.all([
        get<Task[]>(`/api/tasks?project_id=${project}&limit=300`),
        get<Session[]>(`/api/projects/${project}/sessions`),
      ]);
      const busy = [...new Set(list.filter((t) => t.state === "running").map((t) => t.session_id))];
      const pending = await Promise.all(busy.map((s) => get<PermissionRequest[]>(`/api/sessions/${s}/permissions?state=pending`).catch(() => [])));
      setTasks(list);
      setSessions(Object.fromEntries(ss.map((s) => [s.id, s])));
      setAsks(pending.flat());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [project]);

  const here = Object.values(live.state.tasks)
    .map((t) => `${t.id}:${t.state}`)
    .join(",");
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, [load, here]);

  const columns = useMemo(() => {
    const out: Record<Column, Task[]> = { queued: [], running: [], waiting: [], ended: [] };
    for (const t of tasks) out[columnOf(t, asks)].push(t);
    out.queued.sort((a, b) => a.created_at.localeCompare(b.created_at));
    out.ended = out.ended.sort((a, b) => (b.ended_at ?? b.created_at).localeCompare(a.ended_at ?? a.created_at)).slice(0, ENDED_SHOWN);
    return out;
  }, [tasks, asks]);

  return (
    <div className="board" aria-label="Task board">
      <header>
        <ListTodo size={16} /> <b>Tasks in this project</b>
        <span className="note">
          {tasks.length} task{tasks.length === 1 ? "" : "s"} across {new Set(tasks.map((t) => t.session_id)).size} session
          {new Set(tasks.map((t) => t.session_id)).size === 1 ? "" : "s"}
        </span>
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="board-columns">
        {(Object.keys(TITLES) as Column[]).map((c) => (
          <section key={c} className={`board-column column-${c}`} aria-label={TITLES[c]}>
            <h3>
              {TITLES[c]} <span>{columns[c].length}</span>
            </h3>
            {columns[c].length === 0 && <p className="note">Nothing here.</p>}
            {columns[c].map((t) => (
              <article key={t.id} className="board-card" data-task={t.id}>
                <div className="input" title={t.input}>
                  {t.input}
                </div>
                <div className="meta">
                  <a href={`#/s/${t.session_id}`}>{sessions[t.session_id]?.name ?? "session"}</a>
                  <span>{ago(t.ended_at ?? t.started_at ?? t.created_at)}</span>
                  {t.attempts > 1 && <span>attempt {t.attempts}</span>}
                </div>
                <TaskRow task={t} phase={taskPhase(t, undefined, asks)} onError={setError} />
              </article>
            ))}
          </section>
        ))}
      </div>
    </div>
  );
}
