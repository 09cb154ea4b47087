// An arena: race one input between agents or models (each in its own worktree from the same commit),
// compare state, time, tokens, diffs and check results side by side, and pick the winner — its change is
// accepted into the project through the normal review path (a conflict shows the server's message).

import { useCallback, useEffect, useState } from "react";
import { Flag, Swords, Trash2 } from "lucide-react";
import { del, get, post } from "../api/client";
import type { Arena, ProbeProvidersRequest, ProvidersSnapshot } from "../api/generated/types";

function ArenaForm({ project, onStarted }: { project: string; onStarted: (id: string) => void }) {
  const [snapshot, setSnapshot] = useState<ProvidersSnapshot | null>(null);
  const [chosen, setChosen] = useState<Record<string, boolean>>({});
  const [input, setInput] = useState("");
  const [check, setCheck] = useState("");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    post<ProvidersSnapshot>("/api/providers/snapshot", { force: false } satisfies ProbeProvidersRequest)
      .then(setSnapshot)
      .catch((e: Error) => setError(e.message));
  }, []);
  const providers = (snapshot?.providers ?? []).filter((p) => p.enabled && p.installed);
  const start = async () => {
    const contenders = providers.filter((p) => chosen[p.id]).map((p) => ({ agent: p.id }));
    try {
      const body: Record<string, unknown> = { project_id: project, input: input.trim(), contenders };
      if (check.trim()) body.check = check.trim();
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
      <fieldset>
        <legend>Contenders (2 to 6)</legend>
        {providers.map((p) => (
          <label key={p.id}>
            <input
              type="checkbox"
              aria-label={`Contender ${p.id}`}
              checked={!!chosen[p.id]}
              onChange={(e) => setChosen({ ...chosen, [p.id]: e.target.checked })}
            />{" "}
            {p.label}
          </label>
        ))}
      </fieldset>
      <input aria-label="Check command" placeholder="check command, e.g. cargo test (optional)" value={check} onChange={(e) => setCheck(e.target.value)} />
      <button type="submit" disabled={!input.trim()}>
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

function ArenaView({ id, onDeleted }: { id: string; onDeleted: () => void }) {
  const [arena, setArena] = useState<Arena | null>(null);
  const [error, setError] = useState<string | null>(null);
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
  return (
    <div className="arena" data-arena={arena.status}>
      <header>
        <Swords size={16} /> <b>{arena.input}</b> <span className="status">{arena.status}</span>
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
          <section key={c.index} className={`lane lane-${c.state}`} data-lane={c.index} data-state={c.state}>
            <h4>
              {c.index}. {c.agent}
              {c.model ? ` · ${c.model}` : ""}
              {arena.picked === c.index && <span className="badge">picked</span>}
            </h4>
            <p>
              {c.state}
              {c.duration_ms != null && ` · ${(c.duration_ms / 1000).toFixed(1)} s`}
              {c.tokens != null && ` · ${c.tokens} tokens`}
            </p>
            {c.error && <p className="error">{c.error}</p>}
            {c.change && (
              <p>
                {c.change.files_changed} files, +{c.change.insertions} −{c.change.deletions}
              </p>
            )}
            {c.check && (
              <details className={`check check-${c.check.status}`}>
                <summary data-check={c.check.status}>
                  check {c.check.status}
                  {c.check.exit_code != null && ` (exit ${c.check.exit_code})`}
                </summary>
                <pre className="io">{c.check.output_tail}</pre>
              </details>
            )}
            {c.change?.diff && (
              <details>
                <summary>diff</summary>
                <pre className="diff">{c.change.diff}</pre>
              </details>
            )}
            {arena.picked == null && c.state === "completed" && c.change?.status === "pending" && (
              <button onClick={() => pick(c.index)}>Pick</button>
            )}
          </section>
        ))}
      </div>
    </div>
  );
}

export function ArenaPane(props: { project: string; arena?: string; onStarted: (id: string) => void; onDeleted: () => void }) {
  return props.arena ? (
    <ArenaView id={props.arena} onDeleted={props.onDeleted} />
  ) : (
    <ArenaForm project={props.project} onStarted={props.onStarted} />
  );
}
