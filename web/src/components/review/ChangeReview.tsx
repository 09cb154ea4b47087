// The review of one change: its files in a tree with +/- counts, each file's diff (unified or split,
// remembered), and decisions for the whole change, a file or a hunk — accept into the working tree, as a
// commit, or onto a new branch; reject. The server's answer (a conflict naming the file, say) is shown
// as it is. Loaded lazily: the diff viewer and its highlighter are only fetched when a review opens.

import "react-diff-view/style/index.css";
import { useCallback, useEffect, useMemo, useState } from "react";
import { Check, Columns2, FileDiff, MessageSquareReply, Rows3, Sparkles, X } from "lucide-react";
import { del, get, post } from "../../api/client";
import type {
  AddCommentRequest,
  AcceptChangeRequest,
  AcceptMode,
  ChangeDecision,
  ChangeDetail,
  ChangeFile,
  CommitMessageDraft,
  PendingChange,
  RejectChangeRequest,
  RequestChangesRequest,
  ReviewComment,
  Task,
} from "../../api/generated/types";
import { FileDiffView, statusLetter, type FileActions } from "./FileDiffView";

const VIEW_KEY = "boocode.diffView";

function storedView(): "unified" | "split" {
  try {
    return localStorage.getItem(VIEW_KEY) === "split" ? "split" : "unified";
  } catch {
    return "unified";
  }
}

/** Files grouped by directory, directories in path order, for the tree beside the diffs. */
function tree(files: ChangeFile[]): [string, ChangeFile[]][] {
  const dirs = new Map<string, ChangeFile[]>();
  for (const f of files) {
    const cut = f.path.lastIndexOf("/");
    const dir = cut < 0 ? "" : f.path.slice(0, cut);
    dirs.set(dir, [...(dirs.get(dir) ?? []), f]);
  }
  return [...dirs.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export default function ChangeReview({
  change,
  onDecided,
  onClose,
}: {
  change: PendingChange;
  onDecided: (decision: ChangeDecision) => void;
  onClose?: () => void;
}) {
  const [detail, setDetail] = useState<ChangeDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [view, setView] = useState(storedView);
  const [mode, setMode] = useState<AcceptMode>("worktree");
  const [message, setMessage] = useState("");
  const [branch, setBranch] = useState("");
  const [comments, setComments] = useState<ReviewComment[]>([]);
  const [note, setNote] = useState("");
  const [sentNote, setSentNote] = useState<string | null>(null);
  const pending = change.status === "pending";

  const reloadComments = useCallback(() => {
    get<ReviewComment[]>(`/api/changes/${change.id}/comments`)
      .then(setComments)
      .catch((e: Error) => setError(e.message));
  }, [change.id]);
  useEffect(reloadComments, [reloadComments]);
  const unsent = comments.filter((c) => !c.sent_at).length;
  const [drafting, setDrafting] = useState(false);

  const draft = async () => {
    setDrafting(true);
    try {
      const d = await post<CommitMessageDraft>(`/api/changes/${change.id}/commit-message`);
      setMessage(d.message);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setDrafting(false);
    }
  };

  const requestChanges = async () => {
    setBusy(true);
    try {
      const body: RequestChangesRequest = note.trim() ? { message: note.trim() } : {};
      const task = await post<Task>(`/api/changes/${change.id}/request-changes`, body);
      setNote("");
      setSentNote(`Sent ${unsent} comment${unsent === 1 ? "" : "s"} to ${task.agent} as its next turn.`);
      setError(null);
      reloadComments();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    setDetail(null);
    get<ChangeDetail>(`/api/changes/${change.id}`)
      .then((d) => {
        setDetail(d);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [change.id, change.status]);

  const chooseView = (v: "unified" | "split") => {
    setView(v);
    try {
      localStorage.setItem(VIEW_KEY, v);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
  };

  const decide = async (what: "accept" | "reject", selection: { files?: string[]; hunks?: string[] } = {}) => {
    setBusy(true);
    try {
      const body: AcceptChangeRequest | RejectChangeRequest =
        what === "accept"
          ? {
              ...selection,
              mode,
              ...(mode !== "worktree" && message.trim() ? { message: message.trim() } : {}),
              ...(mode === "branch" ? { branch: branch.trim() } : {}),
            }
          : selection;
      const decision = await post<ChangeDecision>(`/api/changes/${change.id}/${what}`, body);
      setError(null);
      onDecided(decision);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const actions: FileActions | null = useMemo(
    () =>
      pending
        ? {
            decide: (w, s) => void decide(w, s),
            busy,
            comment: async (path, line, side, text) => {
              const body: AddCommentRequest = { path, line, side, text };
              await post<ReviewComment>(`/api/changes/${change.id}/comments`, body);
              reloadComments();
            },
            deleteComment: (id) =>
              void del(`/api/comments/${id}`)
                .then(reloadComments)
                .catch((e: Error) => setError(e.message)),
          }
        : null,
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [pending, busy, mode, message, branch, change.id, reloadComments],
  );
  const files = detail?.files ?? [];

  return (
    <section className="review" aria-label="Review change">
      <header className="review-bar">
        <FileDiff size={14} />
        <span>
          {change.files_changed} file{change.files_changed === 1 ? "" : "s"} <span className="plus">+{change.insertions}</span>{" "}
          <span className="minus">−{change.deletions}</span>
        </span>
        {change.agent && <span className="badge">{change.agent}</span>}
        <span className={`status status-${change.status}`}>{change.status}</span>
        <span className="seg" role="group" aria-label="Diff layout">
          <button className={view === "unified" ? "on" : ""} aria-pressed={view === "unified"} onClick={() => chooseView("unified")} title="Unified">
            <Rows3 size={14} /> Unified
          </button>
          <button className={view === "split" ? "on" : ""} aria-pressed={view === "split"} onClick={() => chooseView("split")} title="Side by side">
            <Columns2 size={14} /> Split
          </button>
        </span>
        {onClose && (
          <button className="icon close" aria-label="Close review" onClick={onClose}>
            <X size={16} />
          </button>
        )}
      </header>
      {pending && (
        <div className="accept-bar">
          <label>
            Accept into
            <select aria-label="Accept into" value={mode} onChange={(e) => setMode(e.target.value as AcceptMode)}>
              <option value="worktree">the working tree</option>
              <option value="commit">a commit on the current branch</option>
              <option value="branch">a new branch</option>
            </select>
          </label>
          {mode === "branch" && (
            <input aria-label="Branch name" placeholder="branch name, e.g. review/fix-parser" value={branch} onChange={(e) => setBranch(e.target.value)} />
          )}
          {mode !== "worktree" && (
            <>
              <textarea
                className="message"
                aria-label="Commit message"
                rows={message.includes("\n") ? 3 : 1}
                placeholder="Commit message (default: the task's request)"
                value={message}
                onChange={(e) => setMessage(e.target.value)}
              />
              <button disabled={drafting} onClick={() => void draft()} title="Let the model write a message from the request and the diff">
                <Sparkles size={14} /> {drafting ? "Drafting…" : "Draft"}
              </button>
            </>
          )}
          <button className="primary" disabled={busy} onClick={() => void decide("accept")}>
            <Check size={14} /> Accept all
          </button>
          <button disabled={busy} onClick={() => void decide("reject")}>
            <X size={14} /> Reject all
          </button>
        </div>
      )}
      {pending && (
        <div className="accept-bar request-bar">
          <input
            className="message"
            aria-label="Note to the agent"
            placeholder={unsent ? "A note to send with your comments (optional)" : "What should change? (or click a line number)"}
            value={note}
            onChange={(e) => setNote(e.target.value)}
          />
          <button disabled={busy || (unsent === 0 && !note.trim())} onClick={() => void requestChanges()}>
            <MessageSquareReply size={14} /> Request changes{unsent ? ` (${unsent})` : ""}
          </button>
        </div>
      )}
      {sentNote && (
        <p className="notice" role="status">
          {sentNote}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!detail && !error && <p className="note">Loading the diff…</p>}
      {detail && (
        <div className="review-body">
          <nav className="file-tree" aria-label="Changed files">
            {tree(files).map(([dir, list]) => (
              <div key={dir} className="dir">
                {dir && <div className="dir-name">{dir}/</div>}
                {list.map((f) => (
                  <a
                    key={f.path}
                    href={`#file-${encodeURIComponent(f.path)}`}
                    className={dir ? "nested" : ""}
                    onClick={(e) => {
                      e.preventDefault();
                      document.getElementById(`file-${encodeURIComponent(f.path)}`)?.scrollIntoView({ block: "start" });
                    }}
                  >
                    <span className={`file-status status-${f.status}`}>{statusLetter(f)}</span>
                    <span className="name">{f.path.slice(dir ? dir.length + 1 : 0)}</span>
                    <span className="plus">+{f.insertions}</span>
                    <span className="minus">−{f.deletions}</span>
                  </a>
                ))}
              </div>
            ))}
          </nav>
          <div className="review-files">
            {files.map((f) => (
              <FileDiffView
                key={`${change.id}:${f.path}`}
                changeId={change.id}
                file={f}
                view={view}
                actions={actions}
                comments={comments.filter((c) => c.path === f.path)}
              />
            ))}
          </div>
        </div>
      )}
    </section>
  );
}
