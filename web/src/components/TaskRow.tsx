// One task as a row: its agent and model, what it is doing in words (see `taskPhase`), why it waits or
// failed, and cancel or retry. The coder shows it beside its turn; the task board in its column.

import { useState } from "react";
import { RotateCw, Square } from "lucide-react";
import { post } from "../api/client";
import type { Task } from "../api/generated/types";
import type { Phase } from "../state/taskPhase";

export function TaskRow({ task, phase, onError }: { task: Task; phase: Phase; onError?: (message: string) => void }) {
  const [busy, setBusy] = useState(false);
  const act = async (what: "cancel" | "retry") => {
    setBusy(true);
    try {
      await post(`/api/tasks/${task.id}/${what}`);
    } catch (e) {
      onError?.((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const active = task.state === "running" || task.state === "pending" || task.state === "waiting_for_model";
  return (
    <div className={`task task-${task.state} tone-${phase.tone}`} data-task-state={task.state} data-phase={phase.label}>
      <span className="badge">{task.agent}</span>
      {task.model && <span className="model">{task.model}</span>}
      <span className="phase">{phase.label}</span>
      {phase.detail && <span className={phase.tone === "error" ? "error" : "note"}> — {phase.detail}</span>}
      {active && (
        <button disabled={busy} onClick={() => void act("cancel")} aria-label={`Cancel task ${task.id}`}>
          <Square size={12} /> Cancel
        </button>
      )}
      {(task.state === "failed" || task.state === "cancelled") && (
        <button disabled={busy} onClick={() => void act("retry")} aria-label={`Retry task ${task.id}`}>
          <RotateCw size={12} /> Retry
        </button>
      )}
    </div>
  );
}
