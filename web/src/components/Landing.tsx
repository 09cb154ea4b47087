// The landing page: projects (added by path, validated by the server), their sessions (create, rename,
// delete after a confirmation) and the most recent sessions across projects.

import { ThemeToggle } from "./ThemeToggle";
import { useCallback, useEffect, useState } from "react";
import { FolderPlus, Pencil, Plus, Trash2 } from "lucide-react";
import { del, get, patch, post } from "../api/client";
import type { Project, Session } from "../api/generated/types";

export function Landing({ open }: { open: (session: string) => void }) {
  const [projects, setProjects] = useState<Project[]>([]);
  const [sessions, setSessions] = useState<Record<string, Session[]>>({});
  const [path, setPath] = useState("");
  const [error, setError] = useState<string | null>(null);
  // Kept apart from `error`: a slow list load finishing must not wipe the message of a failed action.
  const [loadError, setLoadError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const ps = await get<Project[]>("/api/projects");
      setProjects(ps);
      const all: Record<string, Session[]> = {};
      await Promise.all(
        ps.map(async (p) => {
          all[p.id] = await get<Session[]>(`/api/projects/${p.id}/sessions`);
        }),
      );
      setSessions(all);
      setLoadError(null);
    } catch (e) {
      setLoadError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  const addProject = async () => {
    try {
      await post<Project>("/api/projects", { path: path.trim() });
      setPath("");
      setError(null);
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const recent = Object.values(sessions)
    .flat()
    .sort((a, b) => b.created_at.localeCompare(a.created_at))
    .slice(0, 5);

  return (
    <div className="landing">
      <h1>
        boocode <ThemeToggle />
      </h1>
      <form
        className="add-project"
        onSubmit={(e) => {
          e.preventDefault();
          void addProject();
        }}
      >
        <input
          aria-label="Project path"
          placeholder="/path/to/a/git/repository"
          value={path}
          onChange={(e) => setPath(e.target.value)}
        />
        <button type="submit" disabled={!path.trim()}>
          <FolderPlus size={16} /> Add project
        </button>
      </form>
      {(error ?? loadError) && (
        <p className="error" role="alert">
          {error ?? loadError}
        </p>
      )}
      {recent.length > 0 && (
        <section>
          <h2>Recent sessions</h2>
          <ul className="recent">
            {recent.map((s) => (
              <li key={s.id}>
                <a href={`#/s/${s.id}`} onClick={() => open(s.id)}>
                  {s.name}
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
      {projects.map((p) => (
        <ProjectCard key={p.id} project={p} sessions={sessions[p.id] ?? []} open={open} reload={reload} onError={setError} />
      ))}
    </div>
  );
}

function ProjectCard(props: {
  project: Project;
  sessions: Session[];
  open: (id: string) => void;
  reload: () => Promise<void>;
  onError: (e: string) => void;
}) {
  const { project, sessions, open, reload, onError } = props;
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      await reload();
    } catch (e) {
      onError((e as Error).message);
    }
  };
  return (
    <section className="project" data-project={project.name}>
      <header>
        <h2>{project.name}</h2>
        <code>{project.path}</code>
        <button
          onClick={() =>
            act(async () => {
              const s = await post<Session>(`/api/projects/${project.id}/sessions`, {});
              open(s.id);
            })
          }
        >
          <Plus size={16} /> New session
        </button>
      </header>
      <ul className="sessions">
        {sessions.map((s) => (
          <SessionRow key={s.id} session={s} open={open} act={act} />
        ))}
      </ul>
    </section>
  );
}

function SessionRow(props: { session: Session; open: (id: string) => void; act: (f: () => Promise<unknown>) => Promise<void> }) {
  const { session, open, act } = props;
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(session.name);
  const [confirming, setConfirming] = useState(false);
  return (
    <li className="session-row">
      {renaming ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setRenaming(false);
            void act(() => patch(`/api/sessions/${session.id}`, { name }));
          }}
        >
          <input aria-label="Session name" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
        </form>
      ) : (
        <a href={`#/s/${session.id}`} onClick={() => open(session.id)}>
          {session.name}
        </a>
      )}
      <button className="icon" title="Rename" aria-label="Rename session" onClick={() => setRenaming(true)}>
        <Pencil size={14} />
      </button>
      {confirming ? (
        <span className="confirm">
          Delete this session and its worktree?
          <button onClick={() => act(() => del(`/api/sessions/${session.id}`))}>Delete</button>
          <button onClick={() => setConfirming(false)}>Keep</button>
        </span>
      ) : (
        <button className="icon" title="Delete" aria-label="Delete session" onClick={() => setConfirming(true)}>
          <Trash2 size={14} />
        </button>
      )}
    </li>
  );
}
