import { describe, expect, it } from "vitest";
import type { Message, PermissionRequest, Task } from "../api/generated/types";
import { taskPhase } from "./taskPhase";

const task = (over: Partial<Task>): Task => ({ id: "t1", state: "running", model: "qwen", error: null, ...over }) as Task;
const reply = (over: Partial<Message>): Message => ({ id: "m1", content: "", reasoning: "", tool_calls: [], ...over }) as Message;

describe("task phases", () => {
  it("names every state in words", () => {
    expect(taskPhase(task({ state: "pending", error: "its repository is not reachable" }), undefined, []).detail).toBe(
      "its repository is not reachable",
    );
    expect(taskPhase(task({ state: "waiting_for_model" }), undefined, []).label).toBe("waiting for qwen to load");
    expect(taskPhase(task({ state: "failed", error: "agent crashed" }), undefined, [])).toMatchObject({ label: "failed", detail: "agent crashed" });
    expect(taskPhase(task({ state: "completed" }), undefined, []).label).toBe("done");
  });

  it("follows a running turn: starting, thinking, a tool, writing, waiting for you", () => {
    expect(taskPhase(task({}), undefined, []).label).toBe("agent starting");
    expect(taskPhase(task({}), reply({ reasoning: "hmm" }), []).label).toBe("thinking");
    const tool = { call_id: "c", title: "Write a.txt", kind: "edit", status: "in_progress", raw_input: null, raw_output: null };
    expect(taskPhase(task({}), reply({ reasoning: "hmm", tool_calls: [tool] as Message["tool_calls"] }), []).label).toBe(
      "running a tool: Write a.txt",
    );
    expect(taskPhase(task({}), reply({ content: "Done" }), []).label).toBe("writing");
    const ask = { id: "p", task_id: "t1", decision: null } as PermissionRequest;
    expect(taskPhase(task({}), reply({ content: "Done" }), [ask]).label).toBe("waiting for you");
    expect(taskPhase(task({}), undefined, [], "loading model qwen").label).toBe("loading model qwen");
  });
});
