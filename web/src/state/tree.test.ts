import { describe, expect, it } from "vitest";
import type { Message } from "../api/generated/types";
import { activePath, childIndex, newestLeaf, siblingInfo } from "./tree";

function m(id: string, parent: string | null): Message {
  return {
    id,
    session_id: "s",
    chat_id: "c",
    parent_id: parent,
    role: "user",
    content: id,
    reasoning: "",
    status: "complete",
    error: null,
    model: null,
    agent: null,
    tokens_prompt: null,
    tokens_completion: null,
    ttft_ms: null,
    duration_ms: null,
    compared: false,
    attachments: [],
    created_at: "",
    finished_at: null,
    tool_calls: [],
  };
}

// u1 → a1 ; u1 → a2 → u2 → a3
const all = [m("u1", null), m("a1", "u1"), m("a2", "u1"), m("u2", "a2"), m("a3", "u2")];
const byId = Object.fromEntries(all.map((x) => [x.id, x]));
const ids = all.map((x) => x.id);

describe("chat tree", () => {
  it("walks the active path and defaults to the newest branch", () => {
    expect(activePath(byId, ids, "a1").map((x) => x.id)).toEqual(["u1", "a1"]);
    expect(activePath(byId, ids, null).map((x) => x.id)).toEqual(["u1", "a2", "u2", "a3"]);
    expect(activePath(byId, ids, "gone").map((x) => x.id)).toEqual(["u1", "a2", "u2", "a3"]);
  });

  it("knows siblings and where a switch lands", () => {
    const index = childIndex(byId, ids);
    expect(siblingInfo(index, byId.a1)).toEqual({ index: 1, count: 2, prev: null, next: "a2" });
    expect(siblingInfo(index, byId.a2)).toEqual({ index: 2, count: 2, prev: "a1", next: null });
    expect(siblingInfo(index, byId.u2).count).toBe(1);
    expect(newestLeaf(index, "a2")).toBe("a3");
    expect(newestLeaf(index, "a1")).toBe("a1");
  });

  it("survives a parent cycle", () => {
    const cyc = { x: m("x", "y"), y: m("y", "x") };
    expect(activePath(cyc, ["x", "y"], "x").length).toBe(2);
  });
});
