import { describe, expect, it } from "vitest";
import { initialLayout, layoutReducer, parseLayout, REOPEN_LIMIT, type Layout, type LayoutAction } from "./layout";

const run = (actions: LayoutAction[], from: Layout = initialLayout()) => actions.reduce(layoutReducer, from);
const kinds = (l: Layout) => l.panes.map((p) => p.tabs.map((t) => t.kind).join(","));

describe("layout reducer", () => {
  it("adds a tab at once and focuses it", () => {
    const l = run([{ type: "add_tab", pane: "p1", kind: "terminal" }]);
    expect(kinds(l)).toEqual(["chat,terminal"]);
    expect(l.panes[0].active).toBe(l.panes[0].tabs[1].id);
  });

  it("splits next to the focused pane", () => {
    const l = run([
      { type: "split", kind: "coder" },
      { type: "focus", pane: "p1" },
      { type: "split", kind: "terminal" },
    ]);
    expect(kinds(l)).toEqual(["chat", "terminal", "coder"]);
    expect(l.focused).toBe(l.panes[1].id);
  });

  it("closes others and to the right", () => {
    let l = run([
      { type: "add_tab", pane: "p1", kind: "terminal" },
      { type: "add_tab", pane: "p1", kind: "coder" },
      { type: "add_tab", pane: "p1", kind: "settings" },
    ]);
    const second = l.panes[0].tabs[1].id;
    const right = layoutReducer(l, { type: "close_right", pane: "p1", tab: second });
    expect(kinds(right)).toEqual(["chat,terminal"]);
    l = layoutReducer(l, { type: "close_others", pane: "p1", tab: second });
    expect(kinds(l)).toEqual(["terminal"]);
    expect(l.panes[0].active).toBe(second);
  });

  it("removes a pane whose last tab closes when others exist, and reopens it with its tabs", () => {
    let l = run([{ type: "split", kind: "terminal" }]);
    const split = l.panes[1];
    l = run([{ type: "add_tab", pane: split.id, kind: "coder" }], l);
    l = run([{ type: "close_all", pane: split.id }], l);
    expect(kinds(l)).toEqual(["chat"]);
    expect(l.closed).toHaveLength(1);
    l = layoutReducer(l, { type: "reopen" });
    expect(kinds(l)).toEqual(["chat", "terminal,coder"]);
    expect(l.closed).toHaveLength(0);
    expect(l.focused).toBe(l.panes[1].id);
    // Ids stay unique after a reopen.
    const ids = l.panes.flatMap((p) => [p.id, ...p.tabs.map((t) => t.id)]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps the last pane, with an empty tab, when its last tab closes", () => {
    const l = run([{ type: "close_tab", pane: "p1", tab: "t2" }]);
    expect(kinds(l)).toEqual(["empty"]);
    expect(l.closed).toHaveLength(0);
  });

  it("remembers at most ten closed panes", () => {
    let l = initialLayout();
    for (let i = 0; i < REOPEN_LIMIT + 3; i++) {
      l = layoutReducer(l, { type: "split", kind: "terminal", title: `T${i}` });
      l = layoutReducer(l, { type: "close_pane", pane: l.focused });
    }
    expect(l.closed).toHaveLength(REOPEN_LIMIT);
    l = layoutReducer(l, { type: "reopen" });
    expect(l.panes[1].tabs[0].title).toBe(`T${REOPEN_LIMIT + 2}`);
  });

  it("moves panes and renames tabs, ignoring blank names", () => {
    let l = run([
      { type: "split", kind: "coder" },
      { type: "split", kind: "terminal" },
    ]);
    const last = l.panes[2].id;
    l = layoutReducer(l, { type: "move_pane", pane: last, to: 0 });
    expect(kinds(l)).toEqual(["terminal", "chat", "coder"]);
    const tab = l.panes[0].tabs[0].id;
    l = layoutReducer(l, { type: "rename_tab", pane: last, tab, title: "  build  " });
    expect(l.panes[0].tabs[0].title).toBe("build");
    expect(layoutReducer(l, { type: "rename_tab", pane: last, tab, title: " " })).toBe(l);
  });

  it("survives a round trip through storage and rejects malformed stored layouts", () => {
    const l = run([{ type: "split", kind: "terminal" }]);
    expect(parseLayout(JSON.stringify(l))).toEqual(l);
    expect(parseLayout("{not json")).toEqual(initialLayout());
    expect(parseLayout(JSON.stringify({ panes: [] }))).toEqual(initialLayout());
    expect(parseLayout(null)).toEqual(initialLayout());
  });

  it("opens a chat from the list where it already is, or as a new tab", () => {
    let l = initialLayout();
    l = layoutReducer(l, { type: "set_ref", pane: "p1", tab: "t2", ref: "c1" });
    l = layoutReducer(l, { type: "split", kind: "terminal" });
    const again = layoutReducer(l, { type: "open_ref", kind: "chat", ref: "c1" });
    expect(again.focused).toBe("p1");
    expect(again.panes[0].tabs).toHaveLength(1);
    const other = layoutReducer(l, { type: "open_ref", kind: "chat", ref: "c2" });
    const focused = other.panes.find((p) => p.id === other.focused)!;
    expect(focused.tabs.find((t) => t.id === focused.active)?.ref).toBe("c2");
    const closed = layoutReducer(again, { type: "close_ref", ref: "c1" });
    expect(closed.panes.some((p) => p.tabs.some((t) => t.ref === "c1"))).toBe(false);
  });

  it("keeps pane sizes from a drag, refusing nonsense, and they survive a reload", () => {
    let l = layoutReducer(initialLayout(), { type: "split", kind: "coder" });
    const [a, b] = l.panes.map((p) => p.id);
    l = layoutReducer(l, { type: "resize", sizes: { [a]: 1.5, [b]: 0.5 } });
    expect(l.panes.map((p) => p.size)).toEqual([1.5, 0.5]);
    l = layoutReducer(l, { type: "resize", sizes: { [a]: -1, [b]: Number.NaN } });
    expect(l.panes.map((p) => p.size)).toEqual([1.5, 0.5]);
    expect(parseLayout(JSON.stringify(l)).panes.map((p) => p.size)).toEqual([1.5, 0.5]);
  });
});
