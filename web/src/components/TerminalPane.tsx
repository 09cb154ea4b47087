// A terminal: xterm.js over the terminal's WebSocket (bytes both ways, resize messages). A new terminal
// first asks where to start: the session's worktree or the project directory. The terminal id is kept in
// the tab, so a reload reattaches and the server replays the scrollback; a terminal that ended with a
// server restart offers "restart here": a new shell in the same directory under its old output. Closing
// the tab ends the process (the workspace deletes it).

import { useCallback, useEffect, useRef, useState } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { FolderGit2, FolderOpen, RotateCcw } from "lucide-react";
import "@xterm/xterm/css/xterm.css";
import { get, post } from "../api/client";
import type { CreateTerminalRequest, CreateTerminalResponse, TerminalCwd, TerminalInfo } from "../api/generated/types";

export function TerminalPane(props: { session: string; terminal?: string; onCreated: (id: string) => void }) {
  const { session, terminal, onCreated } = props;
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const socket = useRef<WebSocket | null>(null);
  const disposed = useRef(false);
  const [current, setCurrent] = useState<string | undefined>(terminal);
  const [gone, setGone] = useState<TerminalInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  const connect = useCallback(
    (id: string) => {
      const t = term.current;
      if (!t) return;
      const proto = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${proto}://${location.host}/api/sessions/${session}/terminals/${id}/ws`);
      socket.current = ws;
      ws.binaryType = "arraybuffer";
      ws.onopen = () => ws.send(JSON.stringify({ type: "resize", cols: t.cols, rows: t.rows }));
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") {
          // Control messages (exit, error) are JSON; say them in words.
          try {
            const msg = JSON.parse(ev.data) as { type?: string; message?: string };
            if (msg.type === "exit") t.write("\r\n[the shell exited]\r\n");
            else if (msg.type === "error") t.write(`\r\n[${msg.message ?? "error"}]\r\n`);
          } catch {
            t.write(ev.data);
          }
        } else t.write(new Uint8Array(ev.data as ArrayBuffer));
      };
      ws.onclose = () => {
        if (disposed.current || socket.current !== ws) return;
        // Gone with a restart, or just closed? Ask the server.
        get<TerminalInfo>(`/api/sessions/${session}/terminals/${id}`)
          .then((info) => {
            if (info.state === "gone") setGone(info);
            else if (info.state === "running") window.setTimeout(() => !disposed.current && connect(id), 1000);
          })
          .catch(() => t.write("\r\n[terminal closed]\r\n"));
      };
    },
    [session],
  );

  useEffect(() => {
    if (!host.current) return;
    disposed.current = false;
    const t = new Terminal({ fontSize: 13, convertEol: false, cursorBlink: true });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(host.current);
    fit.fit();
    term.current = t;
    const encoder = new TextEncoder();
    const input = t.onData((d) => {
      if (socket.current?.readyState === WebSocket.OPEN) socket.current.send(encoder.encode(d));
    });
    const resize = t.onResize(({ cols, rows }) => {
      if (socket.current?.readyState === WebSocket.OPEN && cols > 0 && rows > 0) {
        socket.current.send(JSON.stringify({ type: "resize", cols, rows }));
      }
    });
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        // Hidden tabs have no size.
      }
    });
    observer.observe(host.current);
    if (terminal) connect(terminal);
    return () => {
      disposed.current = true;
      observer.disconnect();
      input.dispose();
      resize.dispose();
      socket.current?.close();
      t.dispose();
      term.current = null;
    };
    // Reattaching is decided once per mounted tab.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session]);

  const create = async (body: CreateTerminalRequest) => {
    try {
      const t = await post<CreateTerminalResponse>(`/api/sessions/${session}/terminals`, body);
      if (disposed.current) return;
      setGone(null);
      setError(null);
      setCurrent(t.id);
      onCreated(t.id);
      term.current?.reset();
      connect(t.id);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const size = () => ({ cols: Math.max(term.current?.cols ?? 80, 20), rows: Math.max(term.current?.rows ?? 24, 5) });
  const start = (cwd: TerminalCwd) => void create({ cwd, ...size() });

  return (
    <div className="terminal-pane">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!current && (
        <div className="terminal-start" role="group" aria-label="Start a terminal">
          <span>Open a shell in</span>
          <button className="primary" onClick={() => start("worktree")}>
            <FolderGit2 size={14} /> the session's worktree
          </button>
          <button onClick={() => start("project")}>
            <FolderOpen size={14} /> the project directory
          </button>
        </div>
      )}
      {gone && (
        <div className="terminal-gone" role="status">
          This terminal ended when boocode restarted.
          <button className="primary" onClick={() => void create({ cwd: "worktree", ...size(), restore: gone.id })}>
            <RotateCcw size={14} /> Restart here
          </button>
          <span className="note">a new shell in {gone.cwd}, under the old output</span>
        </div>
      )}
      <div className="xterm-host" ref={host} data-terminal={current ?? ""} />
    </div>
  );
}
