// What an agent asks to write, as a diff: the old and new text of an ACP `diff` content block turned into
// hunks by jsdiff and shown in the review's viewer (syntax colours, word-level edits). A file that does not
// exist yet shows as all added. Lazy, like the review.

import "react-diff-view/style/index.css";
import { structuredPatch } from "diff";
import { useMemo } from "react";
import { Diff, Hunk, type ChangeData, type HunkData } from "react-diff-view";
import { tokensOf } from "./diffData";

/** Hunks between two texts (3 lines of context), for react-diff-view. */
export function textHunks(oldText: string, newText: string): HunkData[] {
  const patch = structuredPatch("a", "b", oldText, newText, undefined, undefined, { context: 3 });
  return patch.hunks.map((h) => {
    let oldLine = h.oldStart;
    let newLine = h.newStart;
    const changes: ChangeData[] = [];
    for (const line of h.lines) {
      const text = line.slice(1);
      if (line.startsWith("+")) changes.push({ type: "insert", isInsert: true, content: text, lineNumber: newLine++ });
      else if (line.startsWith("-")) changes.push({ type: "delete", isDelete: true, content: text, lineNumber: oldLine++ });
      else if (line.startsWith(" "))
        changes.push({ type: "normal", isNormal: true, content: text, oldLineNumber: oldLine++, newLineNumber: newLine++ });
    }
    return {
      content: `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`,
      oldStart: h.oldStart,
      oldLines: h.oldLines,
      newStart: h.newStart,
      newLines: h.newLines,
      changes,
    };
  });
}

export default function TextDiff({ path, oldText, newText }: { path: string; oldText: string | null; newText: string }) {
  const hunks = useMemo(() => textHunks(oldText ?? "", newText), [oldText, newText]);
  const tokens = useMemo(() => tokensOf(path, hunks), [path, hunks]);
  if (hunks.length === 0) return <p className="note">No change to {path}.</p>;
  return (
    <div className="text-diff" aria-label={`Proposed change to ${path}`}>
      <Diff viewType="unified" diffType={oldText === null ? "add" : "modify"} hunks={hunks} tokens={tokens} className="review-diff">
        {(hs) => hs.map((h) => <Hunk key={h.content} hunk={h} />)}
      </Diff>
    </div>
  );
}
