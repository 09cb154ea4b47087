// The workspace layout of one session: panes side by side, tabs in each pane, and a stack of closed panes
// that can be reopened. Pure: the reducer returns a new layout and never mutates its input, so it is
// tested without a browser and persisted as JSON per session.

export type TabKind = "chat" | "coder" | "terminal" | "settings" | "arena" | "board" | "empty";

export interface Tab {
  id: string;
  kind: TabKind;
  title: string;
  /** What the tab shows: a chat id, a terminal id… (absent until created). */
  ref?: string;
}

export interface Pane {
  id: string;
  tabs: Tab[];
  active: string;
  /** Its share of the width (flex weight; 1 when never resized). */
  size?: number;
}

export interface Layout {
  panes: Pane[];
  focused: string;
  /** Closed panes, newest last, at most `REOPEN_LIMIT`. */
  closed: Pane[];
  /** Counter for ids, so ids stay unique after reloads. */
  next: number;
}

export const REOPEN_LIMIT = 10;

export type LayoutAction =
  | { type: "add_tab"; pane: string; kind: TabKind; title?: string; ref?: string }
  | { type: "split"; kind: TabKind; title?: string; ref?: string }
  | { type: "select_tab"; pane: string; tab: string }
  | { type: "focus"; pane: string }
  | { type: "close_tab"; pane: string; tab: string }
  | { type: "close_others"; pane: string; tab: string }
  | { type: "close_right"; pane: string; tab: string }
  | { type: "close_all"; pane: string }
  | { type: "close_pane"; pane: string }
  | { type: "reopen" }
  | { type: "move_pane"; pane: string; to: number }
  | { type: "rename_tab"; pane: string; tab: string; title: string }
  | { type: "set_ref"; pane: string; tab: string; ref: string }
  /** Shows the tab holding `ref` (a chat from the chat list), or opens one in the focused pane. */
  | { type: "open_ref"; kind: TabKind; ref: string }
  /** Closes every tab showing `ref` (a deleted chat). */
  | { type: "close_ref"; ref: string }
  /** Sets panes' shares of the width (dragging the divider between two panes). */
  | { type: "resize"; sizes: Record<string, number> };

const DEFAULT_TITLES: Record<TabKind, string> = {
  chat: "Chat",
  coder: "Coder",
  terminal: "Terminal",
  settings: "Settings",
  arena: "Arena",
  board: "Tasks",
  empty: "New tab",
};

/** A fresh layout: one pane with one chat tab. */
export function initialLayout(): Layout {
  return {
    panes: [{ id: "p1", tabs: [{ id: "t2", kind: "chat", title: "Chat" }], active: "t2" }],
    focused: "p1",
    closed: [],
    next: 3,
  };
}

function newTab(layout: Layout, kind: TabKind, title?: string, ref?: string): [Tab, number] {
  const tab: Tab = { id: `t${layout.next}`, kind, title: title ?? DEFAULT_TITLES[kind] };
  if (ref !== undefined) tab.ref = ref;
  return [tab, layout.next + 1];
}

function replacePane(layout: Layout, pane: Pane): Layout {
  return { ...layout, panes: layout.panes.map((p) => (p.id === pane.id ? pane : p)) };
}

/** Keeps `pane` with `tabs`; an emptied pane is removed when others exist (and can be reopened). */
function withTabs(layout: Layout, pane: Pane, tabs: Tab[], removedTabs: Tab[]): Layout {
  if (tabs.length === 0) {
    if (layout.panes.length > 1) {
      return removePane(layout, pane.id, { ...pane, tabs: removedTabs });
    }
    // The last pane stays, with an empty tab to start from.
    const [tab, next] = newTab(layout, "empty");
    return replacePane({ ...layout, next }, { ...pane, tabs: [tab], active: tab.id });
  }
  const active = tabs.some((t) => t.id === pane.active)
    ? pane.active
    : nearestActive(pane, tabs);
  return replacePane(layout, { ...pane, tabs, active });
}

function nearestActive(pane: Pane, tabs: Tab[]): string {
  const index = pane.tabs.findIndex((t) => t.id === pane.active);
  const keep = tabs[Math.min(Math.max(index, 0), tabs.length - 1)];
  return keep.id;
}

function removePane(layout: Layout, id: string, remembered: Pane): Layout {
  const index = layout.panes.findIndex((p) => p.id === id);
  const panes = layout.panes.filter((p) => p.id !== id);
  const closed = [...layout.closed, remembered].slice(-REOPEN_LIMIT);
  const focused =
    layout.focused === id ? panes[Math.max(0, Math.min(index, panes.length - 1))].id : layout.focused;
  return { ...layout, panes, closed, focused };
}

export function layoutReducer(layout: Layout, action: LayoutAction): Layout {
  const pane = "pane" in action ? layout.panes.find((p) => p.id === action.pane) : undefined;
  switch (action.type) {
    case "open_ref": {
      const holder = layout.panes.find((p) => p.tabs.some((t) => t.ref === action.ref));
      if (holder) {
        const tab = holder.tabs.find((t) => t.ref === action.ref)!;
        return replacePane({ ...layout, focused: holder.id }, { ...holder, active: tab.id });
      }
      const target = layout.panes.find((p) => p.id === layout.focused) ?? layout.panes[0];
      return layoutReducer(layout, { type: "add_tab", pane: target.id, kind: action.kind, ref: action.ref });
    }
    case "close_ref": {
      let next = layout;
      for (const p of layout.panes) {
        for (const t of p.tabs) {
          if (t.ref === action.ref) {
            const current = next.panes.find((x) => x.id === p.id);
            if (current) next = layoutReducer(next, { type: "close_tab", pane: p.id, tab: t.id });
          }
        }
      }
      return next;
    }
    case "add_tab": {
      if (!pane) return layout;
      const [tab, next] = newTab(layout, action.kind, action.title, action.ref);
      return replacePane(
        { ...layout, next, focused: pane.id },
        { ...pane, tabs: [...pane.tabs, tab], active: tab.id },
      );
    }
    case "split": {
      const [tab, next] = newTab(layout, action.kind, action.title, action.ref);
      const created: Pane = { id: `p${next}`, tabs: [tab], active: tab.id };
      const at = layout.panes.findIndex((p) => p.id === layout.focused);
      const panes = [...layout.panes];
      panes.splice(at + 1, 0, created);
      return { ...layout, panes, focused: created.id, next: next + 1 };
    }
    case "select_tab":
      if (!pane || !pane.tabs.some((t) => t.id === action.tab)) return layout;
      return replacePane({ ...layout, focused: pane.id }, { ...pane, active: action.tab });
    case "focus":
      return pane ? { ...layout, focused: pane.id } : layout;
    case "close_tab": {
      if (!pane) return layout;
      const removed = pane.tabs.filter((t) => t.id === action.tab);
      return withTabs(layout, pane, pane.tabs.filter((t) => t.id !== action.tab), removed);
    }
    case "close_others": {
      if (!pane) return layout;
      const keep = pane.tabs.filter((t) => t.id === action.tab);
      return keep.length ? withTabs(layout, { ...pane, active: action.tab }, keep, []) : layout;
    }
    case "close_right": {
      if (!pane) return layout;
      const index = pane.tabs.findIndex((t) => t.id === action.tab);
      if (index < 0) return layout;
      return withTabs(layout, pane, pane.tabs.slice(0, index + 1), pane.tabs.slice(index + 1));
    }
    case "close_all":
      return pane ? withTabs(layout, pane, [], pane.tabs) : layout;
    case "close_pane": {
      if (!pane) return layout;
      if (layout.panes.length === 1) return withTabs(layout, pane, [], pane.tabs);
      return removePane(layout, pane.id, pane);
    }
    case "reopen": {
      const last = layout.closed[layout.closed.length - 1];
      if (!last) return layout;
      const closed = layout.closed.slice(0, -1);
      // A reopened pane gets fresh ids: its old ones may have been reused meanwhile.
      let next = layout.next;
      const tabs = last.tabs.map((t) => ({ ...t, id: `t${next++}` }));
      const active = tabs[Math.max(0, last.tabs.findIndex((t) => t.id === last.active))].id;
      const restored: Pane = { id: `p${next++}`, tabs, active };
      return { ...layout, panes: [...layout.panes, restored], closed, focused: restored.id, next };
    }
    case "move_pane": {
      if (!pane) return layout;
      const panes = layout.panes.filter((p) => p.id !== pane.id);
      const to = Math.max(0, Math.min(action.to, panes.length));
      panes.splice(to, 0, pane);
      return { ...layout, panes };
    }
    case "rename_tab": {
      const title = action.title.trim();
      if (!pane || !title) return layout;
      return replacePane(layout, {
        ...pane,
        tabs: pane.tabs.map((t) => (t.id === action.tab ? { ...t, title } : t)),
      });
    }
    case "resize":
      return {
        ...layout,
        panes: layout.panes.map((p) => {
          const size = action.sizes[p.id];
          return size !== undefined && Number.isFinite(size) && size > 0 ? { ...p, size } : p;
        }),
      };
    case "set_ref":
      if (!pane) return layout;
      return replacePane(layout, {
        ...pane,
        tabs: pane.tabs.map((t) => (t.id === action.tab ? { ...t, ref: action.ref } : t)),
      });
  }
}

/** Reads a stored layout, falling back to a fresh one when it is missing or malformed. */
export function parseLayout(text: string | null): Layout {
  if (!text) return initialLayout();
  try {
    const v = JSON.parse(text) as Layout;
    const ok =
      Array.isArray(v.panes) &&
      v.panes.length > 0 &&
      v.panes.every((p) => Array.isArray(p.tabs) && p.tabs.length > 0) &&
      Array.isArray(v.closed) &&
      typeof v.next === "number";
    return ok ? v : initialLayout();
  } catch {
    return initialLayout();
  }
}
