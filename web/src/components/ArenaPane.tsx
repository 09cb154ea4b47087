// Arenas: race one input between contenders — each an agent *and* a model, so three local models on the
// native agent can race — in their own worktrees from the same commit; compare wall time, time to first
// token, tokens and speed, the check's result and the diffs (two lanes side by side); pick the winner,
// the only lane that can be accepted. Without an open arena the pane lists the project's arenas and its
// leaderboard across them.

import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { Flag, Plus, Swords, Trash2, Trophy, X } from "lucide-react";
import { del, get, post } from "../api/client";
import type {
  Arena,
  Contender,
  ContenderSpec,
  CreateArenaRequest,
  LeaderboardEntry,
  ModelInfo,
  ProbeProvidersRequest,
  ProvidersSnapshot,
} from "../api/generated/types";

const LaneDiff = lazy(() => import("./review/LaneDiff"));

const seconds = (ms: number | null) => (ms == null ? "—" : `${(ms / 1000).toFixed(1)} s`);

function ArenaForm({ project, onStarted }: { project: string; onStarted: (id: string) => void }) {
  const [snapshot, setSnapshot] = useState<ProvidersSnapshot | null>(null);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [lanes, setLanes] = useState<ContenderSpec[]>([{ agent: "native" }, { agent: "native" }]);
  const [input, setInput] = useState("");
  const [check, setCheck] = useState("");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    post<ProvidersSnapshot>("/api/providers/snapshot", { force: false } satisfies ProbeProvidersRequest)
      .then(setSnapshot)
      .catch((e: Error) => setError(e.message));
    get<ModelInfo[]>("/api/models")
      .then((list) => {
        setModels(list);
        // Two native lanes on the first two models is the usual race.
        setLanes((l) => l.map((c, i) => (c.agent === "native" && !c.model && list[i] ? { ...c, model: list[i].id } : c)));
      })
      .catch(() => setModels([]));
  }, []);
  const providers = (snapshot?.providers ?? []).filter((p) => p.enabled && p.installed);
  const modelsOf = (agent: string) => (agent === "native" ? models.map((m) => m.id) : (providers.find((p) => p.id === agent)?.models ?? []));
  const update = (i: number, next: Partial<ContenderSpec>) => setLanes(lanes.map((c, j) => (j === i ? { ...c, ...next } : c)));
  const start = async () => {
    try {
      const body: CreateArenaRequest = {
        project_id: project,
        input: input.trim(),
        contenders: lanes.map((c) => (c.model ? { agent: c.agent, model: c.model } : { agent: c.agent })),
        ...(check.trim() ? { check: check.trim() } : {}),
      };
      const arena = await post<Arena>("/api/arenas", body);
      onStarted(arena.id);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <form
      className="arena-form"
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <h3>
        <Swords size={16} /> Race a task
      </h3>
      <textarea aria-label="Arena task" placeholder="What every contender should do" value={input} onChange={(e) => setInput(e.target.value)} />
      <fieldset className="contenders">
        <legend>Contenders: an agent and a model each (2 to 6)</legend>
        {lanes.map((c, i) => (
          <div key={i} className="contender">
            <span className="n">{i + 1}.</span>
            <select aria-label={`Contender ${i + 1} agent`} value={c.agent} onChange={(e) => update(i, { agent: e.target.value, model: undefined })}>
              {providers.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>
            <select aria-label={`Contender ${i + 1} model`} value={c.model ?? ""} onChange={(e) => update(i, { model: e.target.value || undefined })}>
              <option value="">default model</option>
              {modelsOf(c.agent).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
            <button type="button" className="icon" aria-label={`Remove contender ${i + 1}`} disabled={lanes.length <= 2} onClick={() => setLanes(lanes.filter((_, j) => j !== i))}>
              <X size={14} />
            </button>
          </div>
        ))}
        <button type="button" disabled={lanes.length >= 6} onClick={() => setLanes([...lanes, { agent: "native" }])}>
          <Plus size={14} /> Add a contender
        </button>
      </fieldset>
      <input aria-label="Check command" placeholder="check command, e.g. cargo test (optional)" value={check} onChange={(e) => setCheck(e.target.value)} />
      <button type="submit" className="primary" disabled={!input.trim()}>
        <Flag size={14} /> Start the race
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Leaderboard({ project, refresh }: { project: string; refresh: number }) {
  const [rows, setRows] = useState<LeaderboardEntry[]>([]);
  useEffect(() => {
    get<LeaderboardEntry[]>(`/api/projects/${project}/leaderboard`)
      .then(setRows)
      .catch(() => setRows([]));
  }, [project, refresh]);
  if (rows.length === 0) return null;
  return (
    <section className="leaderboard" aria-label="Leaderboard">
      <h3>
        <Trophy size={16} /> Leaderboard in this project
      </h3>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th>Agent · model</th>
              <th>Wins</th>
              <th>Arenas</th>
              <th>Checks passed</th>
              <th>Median time</th>
              <th>Median tok/s</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.agent}:${r.model ?? ""}`}>
                <td>
                  {r.agent} · {r.model ?? "default"}
                </td>
                <td>{r.wins}</td>
                <td>{r.arenas}</td>
                <td>{r.checks_run ? `${r.checks_passed}/${r.checks_run}` : "—"}</td>
                <td>{seconds(r.median_ms)}</td>
                <td>{r.median_tokens_per_second == null ? "—" : r.median_tokens_per_second.toFixed(1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ArenaList({ project, open }: { project: string; open: (id: string) => void }) {
  const [arenas, setArenas] = useState<Arena[]>([]);
  useEffect(() => {
    get<Arena[]>(`/api/arenas?project_id=${project}`)
      .then(setArenas)
      .catch(() => setArenas([]));
  }, [project]);
  if (arenas.length === 0) return null;
  return (
    <section className="arena-list" aria-label="Arenas">
      <h3>Arenas in this project</h3>
      {arenas.map((a) => (
        <button key={a.id} className="arena-item" onClick={() => open(a.id)}>
          <span className="input">{a.input}</span>
          <span className="note">
            {a.status}
            {a.picked != null && ` · won by ${a.contenders[a.picked]?.agent} · ${a.contenders[a.picked]?.model ?? "default"}`} ·{" "}
            {a.contenders.map((c) => `${c.agent}${c.model ? `/${c.model}` : ""}`).join(" vs ")}
          </span>
        </button>
      ))}
    </section>
  );
}

function LaneCard({ c, arena, compare, onCompare, pick }: { c: Contender; arena: Arena; compare: boolean; onCompare: () => void; pick: () => void }) {
  const speed = c.tokens_per_second == null ? "—" : `${c.tokens_per_second.toFixed(1)} tok/s`;
  return (
    <section className={`lane lane-${c.state}`} data-lane={c.index} data-state={c.state} aria-label={`Lane ${c.index + 1}`}>
      <h4>
        {c.index + 1}. {c.agent} · {c.model ?? "default model"}
        {arena.picked === c.index && <span className="badge">picked</span>}
      </h4>
      <dl className="metrics">
        <dt>state</dt>
        <dd>{c.state}</dd>
        <dt>wall time</dt>
        <dd>{seconds(c.duration_ms)}</dd>
        <dt>first token</dt>
        <dd>{seconds(c.ttft_ms)}</dd>
        <dt>tokens</dt>
        <dd>{c.tokens ?? "—"}</dd>
        <dt>speed</dt>
        <dd>{speed}</dd>
        <dt>change</dt>
        <dd>{c.change ? `${c.change.files_changed} file${c.change.files_changed === 1 ? "" : "s"}, +${c.change.insertions} −${c.change.deletions}` : "none"}</dd>
      </dl>
      {c.error && <p className="error">{c.error}</p>}
      {c.check && (
        <details className={`check check-${c.check.status}`}>
          <summary data-check={c.check.status}>
            check {c.check.status}
            {c.check.exit_code != null && ` (exit ${c.check.exit_code})`}, {seconds(c.check.duration_ms)}
          </summary>
          <pre className="io">{c.check.output_tail}</pre>
        </details>
      )}
      <div className="lane-actions">
        {c.change && (
          <label>
            <input type="checkbox" checked={compare} onChange={onCompare} aria-label={`Compare lane ${c.index + 1}`} /> compare
          </label>
        )}
        {arena.picked == null && c.state === "completed" && c.change?.status === "pending" && (
          <button className="primary" onClick={pick}>
            Pick this one
          </button>
        )}
      </div>
    </section>
  );
}

function ArenaView({ id, onDeleted }: { id: string; onDeleted: () => void }) {
  const [arena, setArena] = useState<Arena | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [compare, setCompare] = useState<number[]>([]);
  const load = useCallback(() => {
    get<Arena>(`/api/arenas/${id}`)
      .then(setArena)
      .catch((e: Error) => setError(e.message));
  }, [id]);
  useEffect(() => {
    load();
    const timer = setInterval(load, 1000);
    return () => clearInterval(timer);
  }, [load]);
  if (!arena) return <p className="note">{error ?? "Loading…"}</p>;
  const pick = async (index: number) => {
    try {
      setArena(await post<Arena>(`/api/arenas/${id}/pick`, { contender: index }));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const toggle = (i: number) => setCompare((c) => (c.includes(i) ? c.filter((x) => x !== i) : [...c, i].slice(-2)));
  // Two lanes chosen: their diffs side by side; else the first lane with a change.
  const shown = compare.length > 0 ? compare : arena.contenders.filter((c) => c.change).slice(0, 1).map((c) => c.index);
  return (
    <div className="arena" data-arena={arena.status}>
      <header>
        <Swords size={16} /> <b className="arena-input">{arena.input}</b> <span className="status">{arena.status}</span>
        {arena.check && <code>{arena.check}</code>}
        <button
          className="icon"
          aria-label="Delete arena"
          title="Delete the arena and its lanes (the picked one stays)"
          onClick={() => del(`/api/arenas/${id}`).then(onDeleted).catch((e: Error) => setError(e.message))}
        >
          <Trash2 size={14} />
        </button>
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="lanes">
        {arena.contenders.map((c) => (
          <LaneCard key={c.index} c={c} arena={arena} compare={compare.includes(c.index)} onCompare={() => toggle(c.index)} pick={() => void pick(c.index)} />
        ))}
      </div>
      <div className={`lane-diffs cols-${shown.length}`}>
        {shown.map((i) => {
          const c = arena.contenders[i];
          return (
            c?.change && (
              <section key={i} aria-label={`Diff of lane ${i + 1}`}>
                <h4>
                  {i + 1}. {c.agent} · {c.model ?? "default model"}
                </h4>
                <Suspense fallback={<p className="note">Loading the diff…</p>}>
                  <LaneDiff changeId={c.change.id} />
                </Suspense>
              </section>
            )
          );
        })}
      </div>
    </div>
  );
}

export function ArenaPane(props: { project: string; arena?: string; onStarted: (id: string) => void; onDeleted: () => void }) {
  return props.arena ? (
    <ArenaView id={props.arena} onDeleted={props.onDeleted} />
  ) : (
    <div className="arena-home">
      <ArenaForm project={props.project} onStarted={props.onStarted} />
      <Leaderboard project={props.project} refresh={0} />
      <ArenaList project={props.project} open={props.onStarted} />
    </div>
  );
}
