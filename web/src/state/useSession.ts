// Loads a session over REST, then follows its frames. Messages that were still streaming when loaded are
// fetched again once they complete: their stored text lags the stream by up to one checkpoint, and the
// final text is the truth.

import { useCallback, useEffect, useRef, useState } from "react";
import { get } from "../api/client";
import { openFrames, type FrameSocket, type Link } from "../api/frames";
import type { Chat, Frame, Message, PendingChange, PermissionRequest, Session, Task } from "../api/generated/types";
import { applyFrame, emptySession, withMessages, type SessionState } from "./session";

export interface LiveSession {
  session: Session | null;
  state: SessionState;
  link: Link;
  error: string | null;
  loadChat: (chat: string) => Promise<void>;
  socket: React.MutableRefObject<FrameSocket | null>;
}

export function useSession(id: string): LiveSession {
  const [session, setSession] = useState<Session | null>(null);
  const [state, setState] = useState<SessionState>(() => emptySession());
  const [link, setLink] = useState<Link>("connecting");
  const [error, setError] = useState<string | null>(null);
  const stateRef = useRef(state);
  stateRef.current = state;
  const socket = useRef<FrameSocket | null>(null);
  const lagging = useRef(new Set<string>());

  const loaded = useRef(new Set<string>());

  const loadChat = useCallback(async (chat: string) => {
    const messages = await get<Message[]>(`/api/chats/${chat}/messages?tree=1`);
    loaded.current.add(chat);
    for (const m of messages) if (m.status === "streaming") lagging.current.add(m.id);
    setState((s) => withMessages(s, chat, messages));
  }, []);

  useEffect(() => {
    let cancelled = false;
    // Frames arrive one WebSocket message each, hundreds a second while a model streams; they are
    // applied together once per animation frame, so the UI renders at most once per screen refresh.
    let pending: Frame[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const batch = pending;
      pending = [];
      if (batch.length) setState((s) => batch.reduce(applyFrame, s));
    };
    const onFrame = (frame: Frame) => {
      pending.push(frame);
      if (!scheduled) {
        scheduled = true;
        // A hidden tab gets no animation frames: fall back to a timer there.
        if (document.hidden) setTimeout(flush, 50);
        else requestAnimationFrame(flush);
      }
      if (frame.type === "message_complete" && lagging.current.delete(frame.message_id)) {
        void loadChat(frame.chat_id);
      }
    };
    /** Everything over REST, at the session's current position; open chats' messages too. */
    const snapshot = async () => {
      const s = await get<Session>(`/api/sessions/${id}`);
      const [chats, tasks, changes, asks] = await Promise.all([
        get<Chat[]>(`/api/sessions/${id}/chats`),
        get<Task[]>(`/api/tasks?session_id=${id}`),
        get<PendingChange[]>(`/api/sessions/${id}/changes`),
        // Requests still waiting for an answer: only live frames would show them otherwise.
        get<PermissionRequest[]>(`/api/sessions/${id}/permissions?state=pending`),
      ]);
      const open = [...loaded.current];
      const histories = await Promise.all(open.map((c) => get<Message[]>(`/api/chats/${c}/messages?tree=1`).catch(() => [])));
      let base = emptySession(s.last_seq);
      for (const c of chats) base.chats[c.id] = c;
      for (const t of tasks) base.tasks[t.id] = t;
      for (const c of changes) base.changes[c.id] = c;
      for (const p of asks) base.permissions[p.id] = p;
      open.forEach((c, i) => {
        base = withMessages(base, c, histories[i]);
        for (const m of histories[i]) if (m.status === "streaming") lagging.current.add(m.id);
      });
      return { s, base };
    };
    const load = async () => {
      try {
        const { s, base } = await snapshot();
        if (cancelled) return;
        setSession(s);
        setState(() => base);
        stateRef.current = base;
        socket.current = openFrames(
          id,
          () => stateRef.current.lastSeq,
          onFrame,
          // The gap can't be replayed: reload, then the socket resumes from the reloaded position.
          async () => {
            try {
              const { base: fresh } = await snapshot();
              if (cancelled) return;
              stateRef.current = fresh;
              setState(() => fresh);
            } catch {
              setState((st) => ({ ...st, stale: true }));
            }
          },
          setLink,
        );
        // Lets the end-to-end tests cut the connection as a network failure would.
        (window as unknown as { __boocodeFrames?: FrameSocket }).__boocodeFrames = socket.current;
      } catch (e) {
        setError(String((e as Error).message ?? e));
      }
    };
    void load();
    return () => {
      cancelled = true;
      socket.current?.close();
    };
  }, [id, loadChat]);

  return { session, state, link, error, loadChat, socket };
}
