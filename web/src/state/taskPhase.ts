// What a task is doing, in words a person understands: queued (and why it waits), waiting for its model,
// agent starting, model loading, thinking, running a tool, writing, waiting for you, done, failed with
// the reason. Worked out from the task and, for the session on screen, its live reply message.

import type { Message, PermissionRequest, Task } from "../api/generated/types";

export type PhaseTone = "idle" | "busy" | "ask" | "ok" | "error";

export interface Phase {
  label: string;
  tone: PhaseTone;
  /** Why, when there is something to say (the queue's note, the failure's reason). */
  detail?: string;
}

export function taskPhase(
  task: Task,
  reply: Message | undefined,
  asks: PermissionRequest[],
  turnStatus?: string,
): Phase {
  switch (task.state) {
    case "pending":
      return { label: "queued", tone: "idle", detail: task.error ?? undefined };
    case "waiting_for_model":
      return { label: `waiting for ${task.model ?? "its model"} to load`, tone: "busy", detail: task.error ?? undefined };
    case "completed":
      return { label: "done", tone: "ok" };
    case "cancelled":
      return { label: "cancelled", tone: "idle", detail: task.error ?? undefined };
    case "failed":
      return { label: "failed", tone: "error", detail: task.error ?? "no reason was given" };
    case "running":
      break;
  }
  if (asks.some((p) => p.task_id === task.id && p.decision === null)) return { label: "waiting for you", tone: "ask" };
  if (turnStatus) return { label: turnStatus, tone: "busy" };
  if (!reply) return { label: "agent starting", tone: "busy" };
  const running = (reply.tool_calls ?? []).filter((t) => t.status === "pending" || t.status === "in_progress");
  if (running.length > 0) return { label: `running a tool: ${running[running.length - 1].title}`, tone: "busy" };
  if (reply.content) return { label: "writing", tone: "busy" };
  if (reply.reasoning) return { label: "thinking", tone: "busy" };
  return { label: "agent starting", tone: "busy" };
}
