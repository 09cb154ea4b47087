// One file of a change in react-diff-view: unified or split, line numbers, syntax colours and word-level
// edits, each hunk under a bar with its own accept and reject, and the unchanged lines between hunks
// collapsed behind "expand" (the old text is fetched once, on the first expand).

import { useMemo, useState } from "react";
import { ChevronDown, ChevronRight, UnfoldVertical } from "lucide-react";
import { Decoration, Diff, Hunk, type ChangeData, type HunkData } from "react-diff-view";
import { getText } from "../../api/client";
import type { ChangeFile, CommentSide, ReviewComment } from "../../api/generated/types";
import { changeAt, CommentForm, CommentThread, getChangeKey, lineOf } from "./Comments";
import { describe, diffType, toHunkData, tokensOf } from "./diffData";

/** What the file's bars can ask for; `null` when the change is history and only readable. */
export interface FileActions {
  decide: (what: "accept" | "reject", selection: { files?: string[]; hunks?: string[] }) => void;
  busy: boolean;
  comment: (path: string, line: number, side: CommentSide, text: string) => Promise<void>;
  deleteComment: (id: string) => void;
}

const STEP = 20;

const LETTER: Record<ChangeFile["status"], string> = {
  added: "A",
  modified: "M",
  deleted: "D",
  renamed: "R",
  copied: "C",
};

export function statusLetter(f: ChangeFile) {
  return LETTER[f.status];
}

/** Context lines revealed above hunk `i` (or below the last one, at index `hunks.length`). */
type Revealed = Record<number, number>;

function withContext(base: HunkData[], revealed: Revealed, source: string[] | null): HunkData[] {
  if (!source) return base;
  return base.map((h, i) => {
    const prevEnd = i === 0 ? 1 : base[i - 1].oldStart + base[i - 1].oldLines;
    const gap = h.oldStart - prevEnd;
    const above = Math.min(revealed[i] ?? 0, gap);
    const below = i === base.length - 1 ? Math.min(revealed[base.length] ?? 0, source.length - (h.oldStart + h.oldLines - 1)) : 0;
    if (above <= 0 && below <= 0) return h;
    const shift = h.newStart - h.oldStart;
    const line = (old: number) => ({
      type: "normal" as const,
      isNormal: true as const,
      content: source[old - 1] ?? "",
      oldLineNumber: old,
      newLineNumber: old + shift,
    });
    const before = Array.from({ length: Math.max(above, 0) }, (_, k) => line(h.oldStart - above + k));
    const endOld = h.oldStart + h.oldLines;
    const endShift = h.newStart + h.newLines - endOld;
    const after = Array.from({ length: Math.max(below, 0) }, (_, k) => ({
      ...line(endOld + k),
      newLineNumber: endOld + k + endShift,
    }));
    return {
      ...h,
      oldStart: h.oldStart - above,
      newStart: h.newStart - above,
      oldLines: h.oldLines + above + below,
      newLines: h.newLines + above + below,
      changes: [...before, ...h.changes, ...after],
    };
  });
}

/** The `@@` line for a hunk as shown (its range grows when context is expanded), with git's context. */
function headerOf(h: HunkData, original: string): string {
  const context = /^@@ [^@]* @@ ?(.*)$/.exec(original)?.[1] ?? "";
  return `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@${context ? " " + context : ""}`;
}

export function FileDiffView({
  changeId,
  file,
  view,
  actions,
  comments,
}: {
  changeId: string;
  file: ChangeFile;
  view: "unified" | "split";
  actions: FileActions | null;
  comments: ReviewComment[];
}) {
  const [draft, setDraft] = useState<{ line: number; side: CommentSide } | null>(null);
  const [open, setOpen] = useState(true);
  const [source, setSource] = useState<string[] | null>(null);
  const [revealed, setRevealed] = useState<Revealed>({});
  const [error, setError] = useState<string | null>(null);
  const base = useMemo(() => file.hunks.map(toHunkData), [file]);
  const hunks = useMemo(() => withContext(base, revealed, source), [base, revealed, source]);
  const tokens = useMemo(() => (open ? tokensOf(file.path, hunks) : undefined), [open, file.path, hunks]);
  const words = describe(file);

  // Comments under their lines; the draft form under the line being commented on.
  const changes = useMemo(() => hunks.flatMap((h) => h.changes), [hunks]);
  const widgets: Record<string, React.ReactNode> = {};
  const placed = new Set<string>();
  const byKey = new Map<string, ReviewComment[]>();
  for (const c of comments) {
    if (c.anchor_line === null) continue;
    const at = changeAt(changes, c.anchor_line, c.side);
    if (!at) continue;
    const key = getChangeKey(at);
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
    placed.add(c.id);
  }
  for (const [key, list] of byKey) widgets[key] = <CommentThread comments={list} onDelete={actions?.deleteComment} />;
  if (draft && actions) {
    const at = changeAt(changes, draft.line, draft.side);
    if (at) {
      const key = getChangeKey(at);
      widgets[key] = (
        <>
          {byKey.has(key) && <CommentThread comments={byKey.get(key)!} onDelete={actions.deleteComment} />}
          <CommentForm
            where={`line ${draft.line} of ${file.path}`}
            onCancel={() => setDraft(null)}
            onSave={async (text) => {
              await actions.comment(file.path, draft.line, draft.side, text);
              setDraft(null);
            }}
          />
        </>
      );
    }
  }
  const unplaced = comments.filter((c) => !placed.has(c.id));
  const gutterEvents = actions
    ? { onClick: ({ change, side }: { change: ChangeData | null; side?: "old" | "new" }) => change && setDraft(lineOf(change, side)) }
    : undefined;

  const expand = async (at: number) => {
    let lines = source;
    if (!lines) {
      try {
        const text = await getText(`/api/changes/${changeId}/source?path=${encodeURIComponent(file.path)}`);
        lines = text.replace(/\n$/, "").split("\n");
        setSource(lines);
      } catch (e) {
        setError((e as Error).message);
        return;
      }
    }
    setRevealed((r) => ({ ...r, [at]: (r[at] ?? 0) + STEP }));
  };

  /** Unchanged lines still hidden above hunk `i` (or after the last one). */
  const hidden = (i: number): number | null => {
    if (i === hunks.length) {
      if (!source || hunks.length === 0) return null;
      const last = hunks[hunks.length - 1];
      return source.length - (last.oldStart + last.oldLines - 1);
    }
    const prevEnd = i === 0 ? 1 : hunks[i - 1].oldStart + hunks[i - 1].oldLines;
    return hunks[i].oldStart - prevEnd;
  };

  const expander = (i: number) => {
    const n = hidden(i);
    const canRead = file.status !== "added" && !file.binary;
    if (!canRead || (n !== null && n <= 0)) return null;
    return (
      <button className="expand" onClick={() => void expand(i)} aria-label={`Expand lines ${i === hunks.length ? "below" : "above"} hunk ${i + 1} of ${file.path}`}>
        <UnfoldVertical size={12} />
        {n === null ? "Show more" : `${n} unchanged line${n === 1 ? "" : "s"} — expand`}
      </button>
    );
  };

  return (
    <article className="review-file" id={`file-${encodeURIComponent(file.path)}`} aria-label={`Diff of ${file.path}`}>
      <header>
        <button className="icon" aria-expanded={open} aria-label={open ? `Collapse ${file.path}` : `Expand ${file.path}`} onClick={() => setOpen(!open)}>
          {open ? <ChevronDown size={14} /> : <ChevronRight size={14} />}
        </button>
        <span className={`file-status status-${file.status}`} title={file.status}>
          {statusLetter(file)}
        </span>
        <b className="path">{file.path}</b>
        {words.length > 0 && <span className="note">{words.join(" · ")}</span>}
        <span className="counts">
          <span className="plus">+{file.insertions}</span> <span className="minus">−{file.deletions}</span>
        </span>
        {actions && (
          <span className="decide">
            <button disabled={actions.busy} onClick={() => actions.decide("accept", { files: [file.path] })} aria-label={`Accept ${file.path}`}>
              Accept file
            </button>
            <button disabled={actions.busy} onClick={() => actions.decide("reject", { files: [file.path] })} aria-label={`Reject ${file.path}`}>
              Reject file
            </button>
          </span>
        )}
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {open && unplaced.length > 0 && (
        <div className="unplaced">
          <span className="note">On lines no longer in this diff:</span>
          <CommentThread comments={unplaced} onDelete={actions?.deleteComment} />
        </div>
      )}
      {open && hunks.length > 0 && (
        <Diff
          viewType={view}
          diffType={diffType(file)}
          hunks={hunks}
          tokens={tokens}
          className={actions ? "review-diff commentable" : "review-diff"}
          widgets={widgets}
          gutterEvents={gutterEvents}
        >
          {(hs) => [
            ...hs.flatMap((h, i) => [
              <Decoration key={`bar-${file.hunks[i].id}`} className="hunk-bar-row">
                <div className="hunk-bar" data-hunk={file.hunks[i].id}>
                  {expander(i)}
                  <code>{headerOf(h, file.hunks[i].header)}</code>
                  {actions && (
                    <span className="decide">
                      <button disabled={actions.busy} onClick={() => actions.decide("accept", { hunks: [file.hunks[i].id] })} aria-label={`Accept hunk ${i + 1} of ${file.path}`}>
                        Accept
                      </button>
                      <button disabled={actions.busy} onClick={() => actions.decide("reject", { hunks: [file.hunks[i].id] })} aria-label={`Reject hunk ${i + 1} of ${file.path}`}>
                        Reject
                      </button>
                    </span>
                  )}
                </div>
              </Decoration>,
              <Hunk key={`hunk-${file.hunks[i].id}`} hunk={h} />,
            ]),
            ...[expander(hs.length)]
              .filter((tail) => tail !== null)
              .map((tail) => (
                <Decoration key="tail" className="hunk-bar-row">
                  <div className="hunk-bar">{tail}</div>
                </Decoration>
              )),
          ]}
        </Diff>
      )}
    </article>
  );
}
