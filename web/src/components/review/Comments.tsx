// Review comments in the diff: a thread under the line it refers to (sent ones marked, unsent ones
// deletable) and the form that writes one. Which line a click means is worked out here from
// react-diff-view's change and side.

import { useState } from "react";
import { MessageSquare, Trash2 } from "lucide-react";
import { getChangeKey, type ChangeData } from "react-diff-view";
import type { CommentSide, ReviewComment } from "../../api/generated/types";

/** The line a click on `change` (on `side` in split view) comments on. */
export function lineOf(change: ChangeData, side?: "old" | "new"): { line: number; side: CommentSide } {
  if (change.type === "insert") return { line: change.lineNumber, side: "new" };
  if (change.type === "delete") return { line: change.lineNumber, side: "old" };
  return side === "old" ? { line: change.oldLineNumber, side: "old" } : { line: change.newLineNumber, side: "new" };
}

/** The change (row) showing `line` on `side`, for placing a widget under it. */
export function changeAt(changes: ChangeData[], line: number, side: CommentSide): ChangeData | undefined {
  return changes.find((c) =>
    side === "new"
      ? (c.type === "insert" && c.lineNumber === line) || (c.type === "normal" && c.newLineNumber === line)
      : (c.type === "delete" && c.lineNumber === line) || (c.type === "normal" && c.oldLineNumber === line),
  );
}

export { getChangeKey };

export function CommentThread({ comments, onDelete }: { comments: ReviewComment[]; onDelete?: (id: string) => void }) {
  return (
    <div className="comment-thread">
      {comments.map((c) => (
        <div key={c.id} className="comment" data-comment={c.id}>
          <MessageSquare size={12} />
          <span className="comment-text">{c.text}</span>
          {c.sent_at ? (
            <span className="badge" title={`Sent to the agent ${new Date(c.sent_at).toLocaleString()}`}>
              sent
            </span>
          ) : (
            onDelete && (
              <button className="icon" aria-label="Delete comment" onClick={() => onDelete(c.id)}>
                <Trash2 size={12} />
              </button>
            )
          )}
        </div>
      ))}
    </div>
  );
}

export function CommentForm({
  where,
  onSave,
  onCancel,
}: {
  where: string;
  onSave: (text: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    try {
      await onSave(text);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div className="comment-form">
      <textarea
        aria-label={`Comment on ${where}`}
        placeholder="What should change here? (Ctrl+Enter saves)"
        autoFocus
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void save();
          if (e.key === "Escape") onCancel();
        }}
      />
      <div className="row">
        <button className="primary" disabled={!text.trim()} onClick={() => void save()}>
          Comment
        </button>
        <button onClick={onCancel}>Cancel</button>
        {error && (
          <span className="error" role="alert">
            {error}
          </span>
        )}
      </div>
    </div>
  );
}
