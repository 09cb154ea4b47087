// A change read-only in the review's viewer (an arena lane's diff): files and hunks, no decisions.

import "react-diff-view/style/index.css";
import { useEffect, useState } from "react";
import { get } from "../../api/client";
import type { ChangeDetail } from "../../api/generated/types";
import { FileDiffView } from "./FileDiffView";

export default function LaneDiff({ changeId }: { changeId: string }) {
  const [detail, setDetail] = useState<ChangeDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<ChangeDetail>(`/api/changes/${changeId}`)
      .then(setDetail)
      .catch((e: Error) => setError(e.message));
  }, [changeId]);
  if (error) return <p className="error">{error}</p>;
  if (!detail) return <p className="note">Loading the diff…</p>;
  return (
    <div className="lane-diff">
      {detail.files.map((f) => (
        <FileDiffView key={f.path} changeId={changeId} file={f} view="unified" actions={null} comments={[]} />
      ))}
    </div>
  );
}
