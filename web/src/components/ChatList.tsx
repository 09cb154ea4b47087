// The chat list: this session's chats or every session's, pinned first then newest, searchable over
// titles and message text (the server's full-text index) with the matching words marked. Rename, pin,
// archive and delete are stored on the server, so every browser sees the same list.

import { forwardRef, useEffect, useRef, useState } from "react";
import { Archive, ArchiveRestore, MoreHorizontal, Pin, PinOff, Plus, Search, Trash2, Upload } from "lucide-react";
import { del, get, patch, post } from "../api/client";
import type { Chat, ChatListItem, ImportResponse } from "../api/generated/types";

function ago(iso: string): string {
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (!Number.isFinite(s)) return "";
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 7) return `${Math.floor(s / 86400)} d ago`;
  return new Date(iso).toLocaleDateString();
}

interface Props {
  session: string;
  /** Changes whenever this session's chats may have changed (a frame), so the list refreshes. */
  version: string;
  current: string | null;
  onOpen: (chat: Chat) => void;
  onNew: () => void;
  onDeleted: (chat: Chat) => void;
}

function Row({ item, all, current, onOpen, onChanged, onDeleted }: { item: ChatListItem; all: boolean; current: string | null; onOpen: Props["onOpen"]; onChanged: () => void; onDeleted: Props["onDeleted"] }) {
  const { chat } = item;
  const [menu, setMenu] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(chat.name);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const change = (body: Record<string, unknown>) => {
    setMenu(false);
    void patch(`/api/chats/${chat.id}`, body)
      .then(onChanged)
      .catch((e: Error) => setError(e.message));
  };
  return (
    <li className={`chat-item ${chat.id === current ? "current" : ""}`} data-chat={chat.id}>
      {renaming ? (
        <input
          aria-label="Chat name"
          autoFocus
          value={name}
          onChange={(e) => setName(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && name.trim()) {
              setRenaming(false);
              change({ name: name.trim() });
            } else if (e.key === "Escape") {
              setRenaming(false);
            }
          }}
          onBlur={() => setRenaming(false)}
        />
      ) : (
        <button className="chat-open" onClick={() => onOpen(chat)} onDoubleClick={() => setRenaming(true)}>
          <span className="chat-name">
            {chat.pinned && <Pin size={11} className="pinned" aria-label="pinned" />} {chat.name}
          </span>
          <span className="chat-meta">
            {all ? `${item.project_name} / ${item.session_name} · ` : ""}
            {chat.kind === "coder" ? "coder · " : ""}
            {ago(chat.updated_at)}
          </span>
          {item.snippet.length > 0 && (
            <span className="snippet">
              {item.snippet.map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
            </span>
          )}
        </button>
      )}
      <button className="icon" aria-label={`Actions for ${chat.name}`} onClick={() => setMenu(!menu)}>
        <MoreHorizontal size={14} />
      </button>
      {menu && (
        <div className="menu chat-menu" role="menu">
          <button role="menuitem" onClick={() => (setMenu(false), setRenaming(true))}>
            Rename
          </button>
          <button role="menuitem" onClick={() => change({ pinned: !chat.pinned })}>
            {chat.pinned ? <PinOff size={13} /> : <Pin size={13} />} {chat.pinned ? "Unpin" : "Pin"}
          </button>
          <button role="menuitem" onClick={() => change({ archived: !chat.archived })}>
            {chat.archived ? <ArchiveRestore size={13} /> : <Archive size={13} />} {chat.archived ? "Unarchive" : "Archive"}
          </button>
          <button role="menuitem" className="danger" onClick={() => (setMenu(false), setConfirming(true))}>
            <Trash2 size={13} /> Delete
          </button>
        </div>
      )}
      {confirming && (
        <div className="confirm" role="alertdialog" aria-label="Confirm delete">
          Delete “{chat.name}” and its messages?
          <button
            className="danger"
            onClick={() => {
              setConfirming(false);
              void del(`/api/chats/${chat.id}`)
                .then(() => {
                  onDeleted(chat);
                  onChanged();
                })
                .catch((e: Error) => setError(e.message));
            }}
          >
            Delete
          </button>
          <button onClick={() => setConfirming(false)}>Cancel</button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

export const ChatList = forwardRef<HTMLInputElement, Props>(function ChatList({ session, version, current, onOpen, onNew, onDeleted }, searchRef) {
  const [q, setQ] = useState("");
  const [all, setAll] = useState(false);
  const [archived, setArchived] = useState(false);
  const [items, setItems] = useState<ChatListItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const file = useRef<HTMLInputElement>(null);

  /** Imports a boocode or Open WebUI export into this session and opens the first chat. */
  const importFile = async (f: File) => {
    try {
      let body: unknown;
      try {
        body = JSON.parse(await f.text());
      } catch {
        throw new Error(`${f.name} is not JSON: export a chat from boocode or Open WebUI as JSON`);
      }
      const r = await post<ImportResponse>(`/api/chats/import?session_id=${session}`, body);
      setError(null);
      setTick((t) => t + 1);
      if (r.chats[0]) onOpen(r.chats[0]);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  useEffect(() => {
    const params = new URLSearchParams();
    if (q.trim()) params.set("q", q.trim());
    if (!all) params.set("session_id", session);
    if (archived) params.set("archived", "true");
    const timer = setTimeout(
      () => {
        get<ChatListItem[]>(`/api/chats?${params}`)
          .then((list) => {
            setItems(list.filter((i) => i.chat.kind !== "terminal"));
            setError(null);
          })
          .catch((e: Error) => setError(e.message));
      },
      q ? 200 : 50,
    );
    return () => clearTimeout(timer);
  }, [q, all, archived, session, version, tick]);

  return (
    <aside className="chat-list" aria-label="Chats">
      <div className="chat-list-head">
        <label className="search">
          <Search size={14} />
          <input ref={searchRef} aria-label="Search chats" placeholder="Search chats" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        <button onClick={onNew} aria-label="New chat" title="New chat (Ctrl/⌘ Shift O)">
          <Plus size={14} />
        </button>
        <button onClick={() => file.current?.click()} aria-label="Import chats" title="Import chats (boocode or Open WebUI JSON export)">
          <Upload size={14} />
        </button>
        <input
          ref={file}
          type="file"
          accept="application/json,.json"
          hidden
          aria-label="Chat export file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = "";
            if (f) void importFile(f);
          }}
        />
      </div>
      <div className="chat-list-scope" role="group" aria-label="Which chats">
        <button className={!all ? "on" : ""} aria-pressed={!all} onClick={() => setAll(false)} title="Chats of this session">
          This session
        </button>
        <button className={all ? "on" : ""} aria-pressed={all} onClick={() => setAll(true)} title="Chats of every session and project">
          All
        </button>
        <span className="spacer" />
        <button className={archived ? "on" : ""} aria-pressed={archived} aria-label="Archived" onClick={() => setArchived(!archived)} title="Show archived chats">
          <Archive size={13} /> Archived
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {items && items.length === 0 && <p className="note empty">{q ? `No chat matches “${q}”.` : archived ? "No archived chats." : "No chats yet."}</p>}
      <ul>
        {items?.map((item) => (
          <Row key={item.chat.id} item={item} all={all} current={current} onOpen={onOpen} onChanged={() => setTick((t) => t + 1)} onDeleted={onDeleted} />
        ))}
      </ul>
    </aside>
  );
});
