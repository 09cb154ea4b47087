// A session's workspace: panes side by side, tabs in each, a split menu, close variants, reopen of closed
// panes, drag to reorder, inline rename; the layout persists per session in the browser.

import { Fragment, useCallback, useEffect, useMemo, useReducer, useRef, useState, type ReactElement } from "react";
import { Columns2, MessageSquare, MoreHorizontal, PanelLeft, Plus, RotateCcw, Settings, SquareTerminal, Code2, Swords, ListTodo, X } from "lucide-react";
import { del, patch, post } from "../api/client";
import type { Chat, ChatKind } from "../api/generated/types";
import { layoutReducer, parseLayout, type Pane, type Tab, type TabKind } from "../state/layout";
import { useSession, type LiveSession } from "../state/useSession";
import { ArenaPane } from "./ArenaPane";
import { BoardPane } from "./BoardPane";
import { ChatList } from "./ChatList";
import { ChatPane } from "./ChatPane";
import { ThemeToggle } from "./ThemeToggle";
import { CoderPane } from "./CoderPane";
import { SettingsPane } from "./SettingsPane";
import { TerminalPane } from "./TerminalPane";

const KINDS: { kind: TabKind; label: string; icon: ReactElement }[] = [
  { kind: "chat", label: "Chat", icon: <MessageSquare size={14} /> },
  { kind: "coder", label: "Coder", icon: <Code2 size={14} /> },
  { kind: "terminal", label: "Terminal", icon: <SquareTerminal size={14} /> },
  { kind: "arena", label: "Arena", icon: <Swords size={14} /> },
  { kind: "board", label: "Task board", icon: <ListTodo size={14} /> },
  { kind: "settings", label: "Settings", icon: <Settings size={14} /> },
];

type Dispatch = (a: Parameters<typeof layoutReducer>[1]) => void;

/** Ends what a tab owns on the server when it closes (a terminal's process). */
function release(session: string, tabs: Tab[]) {
  for (const t of tabs) {
    if (t.kind === "terminal" && t.ref) void del(`/api/sessions/${session}/terminals/${t.ref}`).catch(() => {});
  }
}

function ChatTab({ live, pane, tab, dispatch, claimed }: { live: LiveSession; pane: Pane; tab: Tab; dispatch: Dispatch; claimed: Set<string> }) {
  const creating = useRef(false);
  const [error, setError] = useState<string | null>(null);
  const kind = tab.kind as ChatKind;
  useEffect(() => {
    if (tab.ref || !live.session || creating.current) return;
    // "+ → Chat" is always a new chat: only an untouched one (no message yet) is reused.
    const free = Object.values(live.state.chats).find((c) => c.kind === kind && !claimed.has(c.id) && c.status === "open" && !c.archived && c.active_leaf_id === null);
    if (free) {
      dispatch({ type: "set_ref", pane: pane.id, tab: tab.id, ref: free.id });
      return;
    }
    creating.current = true;
    post<Chat>(`/api/sessions/${live.session.id}/chats`, { kind })
      .then((c) => dispatch({ type: "set_ref", pane: pane.id, tab: tab.id, ref: c.id }))
      .catch((e: Error) => setError(e.message));
  }, [tab.ref, live.session, live.state.chats, kind, claimed, dispatch, pane.id, tab.id]);
  if (error) return <p className="error">{error}</p>;
  if (!tab.ref) return <p className="note">Opening…</p>;
  return kind === "coder" ? (
    <CoderPane live={live} chat={tab.ref} />
  ) : (
    <ChatPane live={live} chat={tab.ref} onForked={(c) => dispatch({ type: "open_ref", kind: "chat", ref: c.id })} />
  );
}

function TabTitle({ pane, tab, dispatch, name, rename }: { pane: Pane; tab: Tab; dispatch: Dispatch; name: string; rename?: (title: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(name);
  if (editing) {
    return (
      <input
        className="tab-rename"
        aria-label="Tab name"
        autoFocus
        value={value}
        onChange={(e) => setValue(e.target.value)}
        onBlur={() => {
          setEditing(false);
          if (!value.trim() || value === name) return;
          if (rename) rename(value.trim());
          else dispatch({ type: "rename_tab", pane: pane.id, tab: tab.id, title: value });
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") (e.target as HTMLInputElement).blur();
          if (e.key === "Escape") setEditing(false);
        }}
      />
    );
  }
  return (
    <span
      onDoubleClick={() => {
        setValue(name);
        setEditing(true);
      }}
    >
      {name}
    </span>
  );
}

/** The divider between two panes: drag it (or use the arrow keys) to share the width differently. */
function PaneDivider({ left, right, index, dispatch }: { left: Pane; right: Pane; index: number; dispatch: Dispatch }) {
  const MIN = 160;
  const share = (leftPx: number, totalPx: number) => {
    const weight = (left.size ?? 1) + (right.size ?? 1);
    const l = Math.min(Math.max(leftPx, MIN), totalPx - MIN) / totalPx;
    dispatch({ type: "resize", sizes: { [left.id]: weight * l, [right.id]: weight * (1 - l) } });
  };
  const widths = (el: HTMLElement) => {
    const a = el.previousElementSibling?.getBoundingClientRect().width ?? 0;
    const b = el.nextElementSibling?.getBoundingClientRect().width ?? 0;
    return [a, a + b] as const;
  };
  return (
    <div
      className="pane-divider"
      role="separator"
      aria-orientation="vertical"
      aria-label={`Resize panes ${index} and ${index + 1}`}
      tabIndex={0}
      onPointerDown={(e) => {
        const el = e.currentTarget;
        const [start, total] = widths(el);
        const x0 = e.clientX;
        el.setPointerCapture(e.pointerId);
        const move = (ev: PointerEvent) => share(start + ev.clientX - x0, total);
        const up = () => {
          el.removeEventListener("pointermove", move);
          el.removeEventListener("pointerup", up);
        };
        el.addEventListener("pointermove", move);
        el.addEventListener("pointerup", up);
      }}
      onKeyDown={(e) => {
        if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
        const [start, total] = widths(e.currentTarget);
        share(start + (e.key === "ArrowLeft" ? -40 : 40), total);
      }}
    />
  );
}

function PaneView(props: { live: LiveSession; pane: Pane; index: number; focused: boolean; dispatch: Dispatch; claimed: Set<string> }) {
  const { live, pane, index, focused, dispatch, claimed } = props;
  const [menu, setMenu] = useState(false);
  const active = pane.tabs.find((t) => t.id === pane.active) ?? pane.tabs[0];
  const session = live.session!.id;
  const closing = (tabs: Tab[], action: Parameters<Dispatch>[0]) => {
    release(session, tabs);
    dispatch(action);
  };
  // A chat's tab shows the chat's name, stored on the server; renaming the tab renames the chat.
  const chatOf = (t: Tab) => ((t.kind === "chat" || t.kind === "coder") && t.ref ? live.state.chats[t.ref] : undefined);
  const nameOf = (t: Tab) => chatOf(t)?.name ?? t.title;
  const renameChat = (t: Tab) => {
    const c = chatOf(t);
    return c ? (title: string) => void patch(`/api/chats/${c.id}`, { name: title }).catch(() => {}) : undefined;
  };
  return (
    <section
      className={`pane ${focused ? "focused" : ""}`}
      data-pane={pane.id}
      style={{ flexGrow: pane.size ?? 1, flexBasis: 0 }}
      onMouseDown={() => !focused && dispatch({ type: "focus", pane: pane.id })}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        const id = e.dataTransfer.getData("text/x-boocode-pane");
        if (id && id !== pane.id) dispatch({ type: "move_pane", pane: id, to: index });
      }}
    >
      <header className="tabs" draggable onDragStart={(e) => e.dataTransfer.setData("text/x-boocode-pane", pane.id)}>
        {pane.tabs.map((t) => (
          <div key={t.id} className={`tab ${t.id === active.id ? "active" : ""}`} data-kind={t.kind} onClick={() => dispatch({ type: "select_tab", pane: pane.id, tab: t.id })}>
            <TabTitle pane={pane} tab={t} dispatch={dispatch} name={nameOf(t)} rename={renameChat(t)} />
            <button
              className="icon close"
              aria-label="Close tab"
              onClick={(e) => {
                e.stopPropagation();
                closing([t], { type: "close_tab", pane: pane.id, tab: t.id });
              }}
            >
              <X size={12} />
            </button>
          </div>
        ))}
        <button className="icon" aria-label="New tab" title="New tab" onClick={() => dispatch({ type: "add_tab", pane: pane.id, kind: "empty" })}>
          <Plus size={14} />
        </button>
        <button className="icon" aria-label="Tab menu" title="More" onClick={() => setMenu(!menu)}>
          <MoreHorizontal size={14} />
        </button>
        {menu && (
          <div className="menu" role="menu" onClick={() => setMenu(false)}>
            <button role="menuitem" onClick={() => closing(pane.tabs.filter((t) => t.id !== active.id), { type: "close_others", pane: pane.id, tab: active.id })}>
              Close others
            </button>
            <button
              role="menuitem"
              onClick={() => closing(pane.tabs.slice(pane.tabs.findIndex((t) => t.id === active.id) + 1), { type: "close_right", pane: pane.id, tab: active.id })}
            >
              Close to the right
            </button>
            <button role="menuitem" onClick={() => closing(pane.tabs, { type: "close_all", pane: pane.id })}>
              Close all
            </button>
          </div>
        )}
      </header>
      <div className="pane-body">
        {pane.tabs.map((t) => (
          <div key={t.id} className="tab-body" hidden={t.id !== active.id}>
            {t.kind === "empty" && (
              <div className="empty-tab">
                {KINDS.map((k) => (
                  <button
                    key={k.kind}
                    onClick={() => {
                      dispatch({ type: "close_tab", pane: pane.id, tab: t.id });
                      dispatch({ type: "add_tab", pane: pane.id, kind: k.kind });
                    }}
                  >
                    {k.icon} {k.label}
                  </button>
                ))}
              </div>
            )}
            {(t.kind === "chat" || t.kind === "coder") && <ChatTab live={live} pane={pane} tab={t} dispatch={dispatch} claimed={claimed} />}
            {t.kind === "terminal" && (
              <TerminalPane session={session} terminal={t.ref} onCreated={(id) => dispatch({ type: "set_ref", pane: pane.id, tab: t.id, ref: id })} />
            )}
            {t.kind === "settings" && <SettingsPane />}
            {t.kind === "board" && <BoardPane live={live} />}
            {t.kind === "arena" && (
              <ArenaPane
                project={live.session!.project_id}
                arena={t.ref}
                onStarted={(id) => dispatch({ type: "set_ref", pane: pane.id, tab: t.id, ref: id })}
                onDeleted={() => dispatch({ type: "close_tab", pane: pane.id, tab: t.id })}
              />
            )}
          </div>
        ))}
      </div>
    </section>
  );
}

export function Workspace({ id, openChat }: { id: string; openChat?: string | null }) {
  const live = useSession(id);
  const key = `boocode.layout.${id}`;
  const [layout, dispatch] = useReducer(layoutReducer, null, () => {
    const l = parseLayout(localStorage.getItem(key));
    return openChat ? layoutReducer(l, { type: "open_ref", kind: "chat", ref: openChat }) : l;
  });
  const [split, setSplit] = useState(false);
  const [list, setList] = useState(() => localStorage.getItem("boocode.chatList") !== "hidden" && window.innerWidth > 700);
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    localStorage.setItem(key, JSON.stringify(layout));
  }, [key, layout]);
  const toggleList = useCallback((show: boolean) => {
    setList(show);
    localStorage.setItem("boocode.chatList", show ? "shown" : "hidden");
  }, []);

  const focusedPane = layout.panes.find((p) => p.id === layout.focused) ?? layout.panes[0];
  const currentRef = focusedPane.tabs.find((t) => t.id === focusedPane.active)?.ref ?? null;
  const newChat = useCallback(() => dispatch({ type: "add_tab", pane: layout.focused, kind: "chat" }), [layout.focused]);
  const chats = live.state.chats;
  const version = useMemo(
    () =>
      Object.values(chats)
        .map((c) => `${c.id}:${c.name}:${c.pinned}:${c.archived}:${c.active_leaf_id}`)
        .join(","),
    [chats],
  );

  // Workspace shortcuts: new chat, search chats.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.shiftKey && (e.key === "o" || e.key === "O")) {
        e.preventDefault();
        newChat();
      } else if (mod && !e.shiftKey && (e.key === "k" || e.key === "K")) {
        e.preventDefault();
        toggleList(true);
        setTimeout(() => search.current?.focus(), 0);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [newChat, toggleList]);

  if (live.error) return <p className="error banner">{live.error}</p>;
  if (!live.session) return <p className="note">Loading…</p>;
  const claimed = new Set(layout.panes.flatMap((p) => p.tabs.map((t) => t.ref).filter((r): r is string => !!r)));
  return (
    <div className="workspace">
      <nav className="toolbar">
        <button className={`icon ${list ? "on" : ""}`} aria-label="Chat list" aria-pressed={list} title="Chats (Ctrl/⌘ K to search)" onClick={() => toggleList(!list)}>
          <PanelLeft size={15} />
        </button>
        <a href="#/" className="home">
          boocode /
        </a>{" "}
        <b>{live.session.name}</b>
        <span className={`link link-${live.link}`} data-link={live.link}>
          {live.link === "live" ? "" : live.link === "reconnecting" ? "Reconnecting…" : "Connecting…"}
        </span>
        {live.state.stale && <span className="error">The server asked for a reload.</span>}
        <span className="spacer" />
        <select
          className="pane-switcher"
          aria-label="Pane"
          value={layout.focused}
          onChange={(e) => dispatch({ type: "focus", pane: e.target.value })}
        >
          {layout.panes.map((p, i) => (
            <option key={p.id} value={p.id}>
              {i + 1}. {p.tabs.find((t) => t.id === p.active)?.title ?? "pane"}
            </option>
          ))}
        </select>
        <button onClick={() => setSplit(!split)} aria-label="Split pane">
          <Columns2 size={14} /> <span className="label">Split</span>
        </button>
        {split && (
          <div className="menu" role="menu" onClick={() => setSplit(false)}>
            {KINDS.filter((k) => k.kind !== "arena" && k.kind !== "settings").map((k) => (
              <button key={k.kind} role="menuitem" onClick={() => dispatch({ type: "split", kind: k.kind })}>
                {k.icon} New {k.label.toLowerCase()} pane
              </button>
            ))}
          </div>
        )}
        <button onClick={() => dispatch({ type: "reopen" })} disabled={layout.closed.length === 0} aria-label="Reopen closed pane">
          <RotateCcw size={14} /> <span className="label">Reopen</span>
        </button>
        <ThemeToggle />
      </nav>
      <div className="workspace-body">
        {list && (
          <ChatList
            ref={search}
            session={id}
            version={version}
            current={currentRef}
            onNew={newChat}
            onOpen={(c) => {
              if (c.session_id !== id) {
                location.hash = `#/s/${c.session_id}?chat=${c.id}`;
                return;
              }
              dispatch({ type: "open_ref", kind: c.kind === "coder" ? "coder" : "chat", ref: c.id });
              if (window.innerWidth <= 700) toggleList(false);
            }}
            onDeleted={(c) => dispatch({ type: "close_ref", ref: c.id })}
          />
        )}
        <div className="panes">
          {layout.panes.map((p, i) => (
            <Fragment key={p.id}>
              {i > 0 && <PaneDivider left={layout.panes[i - 1]} right={p} index={i} dispatch={dispatch} />}
              <PaneView live={live} pane={p} index={i} focused={p.id === layout.focused} dispatch={dispatch} claimed={claimed} />
            </Fragment>
          ))}
        </div>
      </div>
    </div>
  );
}
